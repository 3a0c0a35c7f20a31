"""FaceNet: a dilated convolutional speech encoder whose every layer is modulated (FiLM) by the emotion.

- Speech encoder: log-mel (100 frames/s) -> 1D convolutions with asymmetric padding, so each layer sees a
  fixed number of future frames; the whole stack looks ahead LOOKAHEAD frames (60 ms + the STFT's 12.5 ms),
  and the same weights serve batch and live streaming.
- Emotion encoder: a learned embedding per EmoFace emotion, blended by weight x intensity per frame (a
  time-varying track gives one embedding per frame) -> MLP -> per-layer scale and shift of the speech
  features, so emotion changes articulation, not only an overlay.
- Decoder: per-frame linear layer + sigmoid to the canonical face curves (eyes and head are left to the
  post-processors).
Optionally the speech encoder's input is a pretrained Hugging Face backbone (wav2vec 2.0 / HuBERT / WavLM)
loaded from a local directory instead of log-mel; such a backbone sees the whole line (batch only, no
bounded look-ahead), stays frozen, and is not stored in the checkpoint (only its path).
"""

from __future__ import annotations

from dataclasses import asdict

import torch
from torch import nn

from emoface.model.config import N_EMOTIONS, SEALED, NetConfig  # noqa: F401 - SEALED, as ever, from here too

class _Conv(nn.Module):
    """Conv1d over time padded so the output at t sees inputs t - past ... t + lookahead (with a stride, output j
    is the one at input stride x j)."""

    def __init__(self, cin, cout, kernel, dilation, lookahead, stride=1):
        super().__init__()
        span = (kernel - 1) * dilation
        assert 0 <= lookahead <= span
        self.pad = (span - lookahead, lookahead)
        self.conv = nn.Conv1d(cin, cout, kernel, dilation=dilation, stride=stride)

    def forward(self, x):  # [b, c, t]
        return self.conv(nn.functional.pad(x, self.pad))


class _Block(nn.Module):
    def __init__(self, channels, emotion_dim, dilation, lookahead):
        super().__init__()
        self.conv = _Conv(channels, channels, 3, dilation, lookahead)
        self.norm = nn.LayerNorm(channels)
        self.film = nn.Linear(emotion_dim, 2 * channels)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)
        self.mix = nn.Conv1d(channels, channels, 1)

    def forward(self, x, emo):  # x [b, c, t], emo [b, t, e]
        return self.finish(x, self.conv(x), emo)

    def finish(self, x, y, emo):
        """Everything after the convolution (y = conv(x)): streaming runs the convolution itself."""
        h = self.norm(y.transpose(1, 2))
        scale, shift = self.film(emo).chunk(2, dim=-1)
        h = nn.functional.gelu(h * (1 + scale) + shift)
        return x + self.mix(h.transpose(1, 2))


class FaceNet(nn.Module):
    def __init__(self, config: NetConfig):
        super().__init__()
        self.config = config
        c = config
        self.register_buffer("mel_mean", torch.zeros(c.n_mels))
        self.register_buffer("mel_std", torch.ones(c.n_mels))
        self.emotions = nn.Embedding(N_EMOTIONS, c.emotion_dim)
        self.emotion_mlp = nn.Sequential(nn.Linear(c.emotion_dim, c.emotion_dim), nn.LeakyReLU(0.2),
                                         nn.Linear(c.emotion_dim, c.emotion_dim))
        self.backbone = _load_backbone(c.speech_encoder) if c.speech_encoder else None
        n_in = self.backbone.config.hidden_size if self.backbone is not None else c.n_mels
        self.stem = _Conv(n_in, c.channels, c.stem_kernel, 1, c.stem_lookahead, c.stride)
        self.blocks = nn.ModuleList(_Block(c.channels, c.emotion_dim, d, la) for d, la in c.blocks)
        self.head = nn.Linear(c.channels, len(c.out_names))
        self.phone_head = nn.Linear(c.channels, c.n_phones) if c.n_phones else None

    def embed_emotion(self, weights):
        """[b, t, 7] weight x intensity -> [b, t, emotion_dim]."""
        return self.emotion_mlp(weights @ self.emotions.weight)

    def forward(self, mel, emotion_weights, audio=None, with_phones: bool = False):
        """mel [b, t, n_mels] (log-mel), emotion_weights [b, t, 7] -> curves [b, t, n_out] in 0..1
        (and phone logits [b, t, n_phones] when with_phones).
        With a backbone, audio [b, samples] is what it hears; mel only sets the frame count."""
        if self.backbone is not None:
            if audio is None:
                raise ValueError("this network's speech encoder needs the audio samples")
            with torch.no_grad():
                h = self.backbone(audio).last_hidden_state.transpose(1, 2)
            x = nn.functional.interpolate(h, size=mel.shape[1], mode="linear", align_corners=False)
        else:
            x = self.normalize(mel).transpose(1, 2)
        if emotion_weights.shape[1] > 1 and bool((emotion_weights == emotion_weights[:, :1]).all()):
            emotion_weights = emotion_weights[:, :1]  # one emotion all line long: its FiLM once, not per frame
        else:
            emotion_weights = emotion_weights[:, ::self.config.stride]  # the emotion at each trunk frame
        emo = self.embed_emotion(emotion_weights)
        x = self.stem(x)
        for block in self.blocks:
            x = block(x, emo)
        h = x.transpose(1, 2)
        n, stride = mel.shape[1], self.config.stride
        curves = torch.sigmoid(upsample(self.head(h), stride, n))
        return (curves, upsample(self.phone_head(h), stride, n)) if with_phones else curves

    def normalize(self, mel):
        return (mel - self.mel_mean) / self.mel_std


def upsample(z, stride: int, n: int):
    """Trunk rows [b, j, k] -> n rows at 100 Hz: row stride x j + r lies r / stride of the way from trunk row j to
    j + 1 (the last trunk row held past the end). Linear, so interpolating the head's output is interpolating
    the features."""
    if stride == 1:
        return z
    nxt = torch.cat([z[:, 1:], z[:, -1:]], dim=1)
    frac = torch.arange(stride, dtype=z.dtype, device=z.device) / stride  # [stride]
    rows = z[:, :, None] + frac[None, None, :, None] * (nxt - z)[:, :, None]  # [b, j, stride, k]
    return rows.flatten(1, 2)[:, :n]


def _load_backbone(path: str):
    from transformers import AutoModel

    backbone = AutoModel.from_pretrained(path, local_files_only=True)
    backbone.requires_grad_(False)
    return backbone.eval()


def save(model: FaceNet, path, card: dict | None = None) -> None:
    state = {k: v.detach().clone() for k, v in model.state_dict().items() if not k.startswith("backbone.")}
    torch.save({"format": "emoface.facenet/1", "config": asdict(model.config), "state_dict": state,
                "card": card or {}}, path)


def load(path, speech_encoder: str | None = None) -> FaceNet:
    """speech_encoder: where the backbone lives on this machine, if not where it was trained."""
    from emoface.model.checkpoints import build, checked_config, read_checkpoint

    data = read_checkpoint(path, "emoface.facenet/1", "emoface checkpoint")

    def make() -> FaceNet:
        config = checked_config(NetConfig(**data["config"]))
        if config.speech_encoder and speech_encoder:
            config.speech_encoder = str(speech_encoder)
        model = FaceNet(config)
        missing, unexpected = model.load_state_dict(data["state_dict"], strict=False)
        if unexpected or [k for k in missing if not k.startswith("backbone.")]:
            raise ValueError(f"weights do not match the network ({(unexpected or missing)[:3]})")
        model.card = data.get("card", {})
        return model.eval()

    return build(path, "emoface checkpoint", make)
