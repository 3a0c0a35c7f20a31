"""Speech emotion recognition for `--emotion auto`: a small network over 1.5 s log-mel windows.

The track it predicts (probabilities every 0.5 s, smoothed over time) feeds the emotion encoder like any
keyframed track. Trained on acted speech (RAVDESS, CC BY-NC-SA): the checkpoint is optional, separately
loaded, and non-commercial (see checkpoints/ser-ravdess-nc.md).

Recording level is not emotion: every clip is scaled to the same active-speech level before the network sees it
(RAVDESS was recorded quietly, mastered voice-over is loud; without this, loud meant angry). A silent clip is
neutral. Static channel colour (microphone, EQ) is removed by per-window mean removal over time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import uniform_filter1d
from torch import nn

from emoface.audio import is_silent
from emoface.emotion.spec import EMOTIONS, EmotionTrack
from emoface.errors import InputError
from emoface.features import FRAME_RATE, SAMPLE_RATE, log_mel

WINDOW_S, STEP_S = 1.5, 0.5
SER_NAME = "ser-ravdess-nc.pt"
SPEECH_LEVEL_DB = -26.0  # active-speech level (dBFS) every clip is scaled to (the ITU-T P.56 reference level)
NEUTRAL = EMOTIONS.index("neutral")


@dataclass
class SERConfig:
    n_mels: int = 80
    channels: int = 96
    members: int = 1  # networks trained with different seeds; their probabilities are averaged
    # active-speech level clips are scaled to before the network; None: older checkpoints, trained on raw levels
    speech_level_db: float | None = None


def active_level_db(samples: np.ndarray) -> float:
    """Active-speech level of a clip in dBFS (-inf for digital silence).

    Mean power of the 20 ms frames within 30 dB of the clip's loud frames (95th percentile), so pauses and
    leading silence do not count; every threshold is relative, so the result moves exactly with gain.
    """
    x = np.asarray(samples, np.float64)
    n = SAMPLE_RATE // 50
    if len(x) < n:
        x = np.pad(x, (0, n - len(x)))
    power = np.mean(x[: len(x) // n * n].reshape(-1, n) ** 2, axis=1)
    if not np.any(power > 0):
        return float("-inf")
    db = 10 * np.log10(np.maximum(power, 1e-30))
    active = power[db > np.percentile(db, 95) - 30.0]
    return float(10 * np.log10(np.mean(active)))


def normalise_level(samples: np.ndarray, level_db: float = SPEECH_LEVEL_DB) -> np.ndarray:
    """The clip scaled so its active-speech level is `level_db` (float: peaks may pass 1.0, nothing clips)."""
    current = active_level_db(samples)
    if not np.isfinite(current):
        return np.asarray(samples, np.float32)
    return (np.asarray(samples, np.float32) * np.float32(10 ** ((level_db - current) / 20))).astype(np.float32)


class _Member(nn.Module):
    """One network: conv layers over normalised log-mel, then mean+max pooling over time -> 7 logits."""

    def __init__(self, config: SERConfig):
        super().__init__()
        c = config.channels
        self.convs = nn.Sequential(
            nn.Conv1d(config.n_mels, c, 5, padding=2), nn.BatchNorm1d(c), nn.GELU(),
            nn.Conv1d(c, c, 5, padding=2, stride=2), nn.BatchNorm1d(c), nn.GELU(),
            nn.Conv1d(c, c, 3, padding=1, stride=2), nn.BatchNorm1d(c), nn.GELU(),
            nn.Dropout(0.2),
            nn.Conv1d(c, c, 3, padding=1), nn.BatchNorm1d(c), nn.GELU(),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(2 * c + 2, len(EMOTIONS)))

    def forward(self, x, level, spread):  # x: [b, mels, t] normalised, per-window mean removed
        h = self.convs(x)
        return self.head(torch.cat([h.mean(-1), h.amax(-1), level[:, None], spread[:, None]], dim=1))


class EmotionRecognizer(nn.Module):
    """`members` small conv networks over log-mel windows -> 7 emotion log-probabilities (their mean)."""

    def __init__(self, config: SERConfig):
        super().__init__()
        self.config = config
        self.register_buffer("mel_mean", torch.zeros(config.n_mels))
        self.register_buffer("mel_std", torch.ones(config.n_mels))
        self.members = nn.ModuleList(_Member(config) for _ in range(config.members))

    def forward(self, mel):  # [b, t, mels] -> [b, 7] log-probabilities (softmax gives the mean probabilities)
        x = (mel - self.mel_mean) / self.mel_std
        level = x.mean(dim=(1, 2))  # how loud the window is, kept apart from its spectral shape
        spread = x.mean(dim=2).std(dim=1)  # how much the loudness moves
        x = (x - x.mean(dim=1, keepdim=True)).transpose(1, 2)  # per-window mean removal: voice, channel matter less
        logp = torch.stack([torch.log_softmax(m(x, level, spread), dim=-1) for m in self.members])
        return logp[0] if len(self.members) == 1 else torch.logsumexp(logp, dim=0) - np.log(len(self.members))


def _upgrade(state: dict) -> dict:
    """Checkpoints from before ensembles kept one network's layers at the top level."""
    return {(f"members.0.{k}" if k.startswith(("convs.", "head.")) else k): v for k, v in state.items()}


def save(model: EmotionRecognizer, path, card: dict) -> None:
    torch.save({"format": "emoface.ser/1", "config": asdict(model.config),
                "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()}, "card": card}, path)


@lru_cache(maxsize=2)
def load(path=None) -> EmotionRecognizer:
    from emoface.model.checkpoints import build, read_checkpoint

    target = Path(str(path or resources.files("emoface._checkpoints") / SER_NAME))
    if not target.is_file():
        raise InputError(target, "no emotion recognition checkpoint (needed for --emotion auto)")
    data = read_checkpoint(target, "emoface.ser/1", "emoface emotion recognition checkpoint")

    def make() -> EmotionRecognizer:
        config = SERConfig(**data["config"])
        if not all(isinstance(v, int) and 0 < v <= 4096 for v in (config.n_mels, config.channels, config.members)):
            raise ValueError("network sizes out of range")  # a crafted config must not eat memory
        model = EmotionRecognizer(config)
        model.load_state_dict(_upgrade(data["state_dict"]))
        model.card = data.get("card", {})
        return model.eval()

    return build(target, "emoface emotion recognition checkpoint", make)


def windows(mel: torch.Tensor) -> tuple[torch.Tensor, np.ndarray]:
    """Overlapping 1.5 s windows every 0.5 s (one window, padded, for short lines) and their centre times."""
    win, step = int(WINDOW_S * FRAME_RATE), int(STEP_S * FRAME_RATE)
    if mel.shape[0] < win:
        mel = torch.cat([mel, mel.new_full((win - mel.shape[0], mel.shape[1]), float(mel.min()))])
    starts = list(range(0, mel.shape[0] - win + 1, step)) or [0]
    return torch.stack([mel[s:s + win] for s in starts]), (np.array(starts) + win / 2) / FRAME_RATE


@torch.inference_mode()
def probabilities(model: EmotionRecognizer, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(window centre times, [windows, 7] probabilities smoothed over ~1.5 s); a silent clip is neutral.

    Centre times lie within the clip (a clip shorter than a window reports its middle).
    """
    samples = np.asarray(samples, np.float32)
    silent = is_silent(samples)
    if model.config.speech_level_db is not None and not silent:
        samples = normalise_level(samples, model.config.speech_level_db)
    batch, times = windows(log_mel(samples))
    if len(samples) < WINDOW_S * SAMPLE_RATE:  # one padded window: report it at the clip's middle
        times = np.full_like(times, len(samples) / SAMPLE_RATE / 2)
    if silent:
        return times, np.eye(len(EMOTIONS), dtype=np.float32)[np.full(len(times), NEUTRAL)]
    probs = torch.softmax(model(batch), dim=-1).numpy()
    if len(probs) > 2:
        probs = uniform_filter1d(probs, size=3, axis=0, mode="nearest")
    return times, probs


def predict_track(samples: np.ndarray, path=None) -> EmotionTrack:
    """--emotion auto: keyframes of the recognised emotion mixture, eased between windows."""
    times, probs = probabilities(load(path), samples)
    return EmotionTrack(times, probs.astype(np.float32), transition=STEP_S)


def clip_label(samples: np.ndarray, model: EmotionRecognizer) -> int:
    """One emotion for a whole clip: the mean of its window probabilities."""
    return int(np.argmax(probabilities(model, samples)[1].mean(axis=0)))
