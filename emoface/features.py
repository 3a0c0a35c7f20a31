"""Log-mel features: one definition for training, batch inference and streaming.

80 mel bands, 25 ms windows every 10 ms (100 frames/s) at 16 kHz; frame k is centred on k x 10 ms, so
feature frames and 100 fps label frames line up. Computed with torch.stft (no torchaudio) for training and
in numpy for inference (log_mel_frames_np, mel_of_windows: the same numbers to float rounding), so a bake
never imports torch.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SAMPLE_RATE = 16000
HOP = 160
WIN = 400
N_FFT = 512
N_MELS = 80
FRAME_RATE = SAMPLE_RATE / HOP  # 100 feature frames per second
BLOCK = 3000  # feature frames (30 s) per STFT block for long audio
MEL_FLOOR = 1e-6  # added to mel power before the log (a network may carry its own: NetConfig.mel_floor)
# what networks are trained with now: at 1e-6 a line 24 dB below GRID's level had 82% of its mel bins at the
# floor (the upper bands of a quiet microphone gone), and GRID jaw r fell 0.874 -> 0.813
TRAIN_MEL_FLOOR = 1e-9


@lru_cache(maxsize=1)
def _mel_basis():
    import torch

    return torch.from_numpy(mel_filters())


def mel_filters(fmin: float = 40.0, fmax: float = 7600.0) -> np.ndarray:
    """[80, 257] Slaney-style mel filter bank: librosa.filters.mel(sr=16000, n_fft=512, n_mels=80, fmin=40,
    fmax=7600) to the bit, in numpy (librosa's module loads numba, ~70 MB that would stay resident)."""
    fft_freqs = np.fft.rfftfreq(n=N_FFT, d=1.0 / SAMPLE_RATE)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    weights = np.zeros((N_MELS, N_FFT // 2 + 1), np.float32)
    for i in range(N_MELS):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    weights *= (2.0 / (mel_f[2:N_MELS + 2] - mel_f[:N_MELS]))[:, np.newaxis]  # constant energy per band
    return weights


_F_SP, _MIN_LOG_HZ, _LOGSTEP = 200.0 / 3, 1000.0, np.log(6.4) / 27.0  # Slaney mel: linear below 1 kHz


def _hz_to_mel(hz: float) -> float:
    return _MIN_LOG_HZ / _F_SP + np.log(hz / _MIN_LOG_HZ) / _LOGSTEP if hz >= _MIN_LOG_HZ else hz / _F_SP


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    hz = _F_SP * mels
    log_t = mels >= _MIN_LOG_HZ / _F_SP
    hz[log_t] = _MIN_LOG_HZ * np.exp(_LOGSTEP * (mels[log_t] - _MIN_LOG_HZ / _F_SP))
    return hz


@lru_cache(maxsize=1)
def _window():
    import torch

    return torch.hann_window(WIN)


@lru_cache(maxsize=1)
def _fft_window() -> np.ndarray:
    """torch.stft's periodic Hann window of WIN samples, centred in the N_FFT-sample frame (zeros outside)."""
    window = np.zeros(N_FFT, np.float32)
    left = (N_FFT - WIN) // 2
    window[left:left + WIN] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WIN) / WIN)
    return window


@lru_cache(maxsize=1)
def _mel_basis_t() -> np.ndarray:
    return mel_filters().T.copy()  # [257, 80]


def mel_of_windows(frames: np.ndarray, floor: float = MEL_FLOOR) -> np.ndarray:
    """[m, N_FFT] raw sample frames (frame k = samples k*HOP - 256 .. k*HOP + 256) -> [m, 80] log-mel, float32."""
    spec = np.fft.rfft(np.asarray(frames, np.float32) * _fft_window(), axis=1)
    power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)
    return np.log(power @ _mel_basis_t() + np.float32(floor))


def log_mel_frames_np(samples: np.ndarray, first: int, end: int, floor: float = MEL_FLOOR) -> np.ndarray:
    """log_mel_frames in numpy: frames first .. end-1 of [n] audio, zero outside the signal."""
    from emoface.prosody import frame_span

    seg = frame_span(np.asarray(samples, np.float32), first * HOP - N_FFT // 2, (end - 1) * HOP + N_FFT // 2)
    return mel_of_windows(np.lib.stride_tricks.sliding_window_view(seg, N_FFT)[::HOP], floor)


def log_mel(samples, floor: float = MEL_FLOOR):
    """[n] or [batch, n] float audio -> [batch?, frames, 80] natural-log mel power, frames = n // 160 + 1.

    Long audio goes through the STFT BLOCK frames at a time: the same numbers, while the complex
    spectrogram of a whole 30-minute line would take 370 MB."""
    import torch

    x, squeeze = _as_batch(samples), np.ndim(samples) == 1
    total = n_frames(x.shape[-1])
    if total <= BLOCK:
        spec = torch.stft(x, N_FFT, HOP, WIN, _window(), center=True, pad_mode="constant", return_complex=True)
        out = _log_mel_power(spec, floor)
    else:
        out = torch.empty(x.shape[0], total, N_MELS)
        for k0 in range(0, total, BLOCK):
            out[:, k0:k0 + BLOCK] = _frames(x, k0, min(total, k0 + BLOCK), floor)
    return out[0] if squeeze else out


def log_mel_frames(samples, first: int, end: int, floor: float = MEL_FLOOR):
    """Frames first .. end-1 of log_mel(samples) for [n] audio ([end - first, 80]), from only the samples
    they span: frame k covers samples k*160 - 256 .. k*160 + 256, zero outside the signal (the centred
    STFT's padding). Lets a long line be analysed a block at a time."""
    return _frames(_as_batch(samples), first, end, floor)[0]


def _as_batch(samples):
    import torch

    x = samples if torch.is_tensor(samples) else torch.as_tensor(np.asarray(samples, np.float32))
    return x[None] if x.dim() == 1 else x


def _frames(x, first: int, end: int, floor: float):
    import torch

    lo, hi = first * HOP - N_FFT // 2, (end - 1) * HOP + N_FFT // 2
    a, b = max(lo, 0), min(hi, x.shape[-1])
    seg = torch.nn.functional.pad(x[:, a:b], (a - lo, hi - b))  # zeros where the span runs off either end
    return _log_mel_power(torch.stft(seg, N_FFT, HOP, WIN, _window(), center=False, return_complex=True), floor)


def _log_mel_power(spec, floor: float):
    import torch

    mel = torch.matmul(_mel_basis(), spec.abs() ** 2)  # [b, mels, frames]
    return torch.log(mel + floor).transpose(1, 2)


def n_frames(n_samples: int) -> int:
    return n_samples // HOP + 1
