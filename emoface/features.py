"""Log-mel features: one definition for training, batch inference and streaming.

80 mel bands, 25 ms windows every 10 ms (100 frames/s) at 16 kHz; frame k is centred on k x 10 ms, so
feature frames and 100 fps label frames line up. Computed with torch.stft (no torchaudio).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

SAMPLE_RATE = 16000
HOP = 160
WIN = 400
N_FFT = 512
N_MELS = 80
FRAME_RATE = SAMPLE_RATE / HOP  # 100 feature frames per second


@lru_cache(maxsize=1)
def _mel_basis() -> torch.Tensor:
    import librosa

    return torch.from_numpy(librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=40, fmax=7600))


@lru_cache(maxsize=1)
def _window() -> torch.Tensor:
    return torch.hann_window(WIN)


def log_mel(samples) -> torch.Tensor:
    """[n] or [batch, n] float audio -> [batch?, frames, 80] natural-log mel power, frames = n // 160 + 1."""
    x = torch.as_tensor(np.asarray(samples, np.float32) if not torch.is_tensor(samples) else samples)
    squeeze = x.dim() == 1
    if squeeze:
        x = x[None]
    spec = torch.stft(x, N_FFT, HOP, WIN, _window(), center=True, pad_mode="constant", return_complex=True)
    mel = torch.matmul(_mel_basis(), spec.abs() ** 2)  # [b, mels, frames]
    out = torch.log(mel + 1e-6).transpose(1, 2)
    return out[0] if squeeze else out


def n_frames(n_samples: int) -> int:
    return n_samples // HOP + 1
