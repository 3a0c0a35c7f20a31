"""A network's shape (NetConfig), without torch: a bake reads it and runs the network in numpy
(emoface.model.numpy_net); training builds the torch FaceNet from it (emoface.model.net)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from emoface.features import MEL_FLOOR

N_EMOTIONS = 7
SEALED = "LipsSealed"  # an extra output, not a rig curve: probability that the lips are pressed together


@dataclass
class NetConfig:
    n_mels: int = 80
    channels: int = 160
    emotion_dim: int = 64
    stem_kernel: int = 5
    stem_lookahead: int = 2
    # (dilation, look-ahead frames) per residual block, kernel 3; look-ahead 0 to twice the dilation. The last block
    # hears 160 ms further ahead (taps at t, t+8, t+16): a bake can wait, and lips round and close before the
    # sound that needs them (a live network cuts it: with_lookahead)
    blocks: list = field(default_factory=lambda: [[1, 1], [2, 2], [4, 0], [8, 0], [1, 1], [2, 0], [4, 0], [1, 0],
                                                  [8, 16]])
    out_names: list = field(default_factory=list)
    speech_encoder: str = ""  # local Hugging Face model directory; "" = log-mel
    n_phones: int = 0  # > 0: a training-only head that names the phone, so the encoder learns to tell them apart
    row_half: int = 3  # inference smooths the 100 Hz rows with a triangle this many rows each side (live waits for it)
    mel_floor: float = MEL_FLOOR  # added to mel power before the log (checkpoints without one used MEL_FLOOR)

    @property
    def lookahead(self) -> int:
        return self.stem_lookahead + sum(la for _, la in self.blocks)

    def with_lookahead(self, rows: int) -> "NetConfig":
        """The same layers seeing `rows` future frames in all. Fewer (a low-latency live network): the stem keeps
        its look-ahead first, then the blocks in order; the weights still fit, and fine-tuning re-aligns them.
        More (an offline bake network): one block is added whose taps lie at t, t+d, t+2d, so it hears the rest
        (training starts it as the identity, so the network it extends is where fine-tuning begins)."""
        left = max(0, int(rows))
        if left > self.lookahead:
            extra = left - self.lookahead
            return replace(self, blocks=[list(b) for b in self.blocks] + [[(extra + 1) // 2, extra]])
        stem = min(self.stem_lookahead, left)
        left -= stem
        blocks = []
        for d, la in self.blocks:
            blocks.append([d, min(la, left)])
            left -= blocks[-1][1]
        return replace(self, stem_lookahead=stem, blocks=blocks)

    @property
    def receptive_past(self) -> int:
        return (self.stem_kernel - 1 - self.stem_lookahead) + sum(2 * d - la for d, la in self.blocks)
