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
    # mel frames per trunk frame: 2 runs the stem every other frame and the blocks at 50 Hz (dilations and
    # look-aheads in those frames), half the arithmetic; the outputs come back to 100 Hz by linear interpolation
    stride: int = 1

    @property
    def lookahead(self) -> int:
        """Future 100 Hz frames an output row hears (an odd row between two trunk frames waits for the later)."""
        return self.stem_lookahead + self.stride * sum(la for _, la in self.blocks) + self.stride - 1

    def with_lookahead(self, rows: int) -> "NetConfig":
        """The same layers seeing `rows` future frames in all. Fewer (a low-latency live network): the stem keeps
        its look-ahead first, then the blocks in order; the weights still fit, and fine-tuning re-aligns them.
        More (an offline bake network): one block is added whose taps lie at t, t+d, t+2d, so it hears the rest
        (training starts it as the identity, so the network it extends is where fine-tuning begins). A strided
        trunk's blocks look ahead in whole trunk frames, and a row between two waits for the later: it gets
        the most that fits in `rows`, and at least stride - 1."""
        s = self.stride
        left = max(s - 1, int(rows))
        if left > self.lookahead:
            extra = (left - self.lookahead) // s
            if not extra:
                return replace(self, blocks=[list(b) for b in self.blocks])
            return replace(self, blocks=[list(b) for b in self.blocks] + [[(extra + 1) // 2, extra]])
        left -= s - 1
        stem = min(self.stem_lookahead, left)
        left -= stem
        blocks = []
        for d, la in self.blocks:
            blocks.append([d, min(la, left // s)])
            left -= s * blocks[-1][1]
        return replace(self, stem_lookahead=stem, blocks=blocks)

    def with_stride(self, stride: int) -> "NetConfig":
        """The same layers with the trunk at 100/stride Hz, each block's taps as near their times in ms as whole
        trunk frames allow (dilation and look-ahead divided, at least 1 and 0): a network's weights start the
        strided one, and fine-tuning re-aligns them. From a strided trunk, only to a multiple of its stride."""
        if stride < 1 or stride % self.stride:
            raise ValueError(f"stride {stride} of a network with stride {self.stride}: only to a multiple of it")
        factor = stride // self.stride
        blocks = []
        for d, la in self.blocks:
            d_trunk = max(1, d // factor)
            blocks.append([d_trunk, min(2 * d_trunk, -(-la // factor))])  # look-ahead rounded up, at most 2 taps
        return replace(self, blocks=blocks, stride=stride)

    @property
    def receptive_past(self) -> int:
        """Past 100 Hz frames an output row hears, and the stride's alignment (blocks start on a trunk frame)."""
        return (self.stem_kernel - 1 - self.stem_lookahead) + self.stride * sum(2 * d - la for d, la in self.blocks) \
            + self.stride - 1
