"""Audio in: any common file -> mono 16 kHz float32, validated before any work is done."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from emoface.errors import InputError

SAMPLE_RATE = 16000
MIN_RATE, MAX_RATE = 8000, 96000
DEFAULT_MAX_DURATION_S = 30 * 60.0
SILENCE_PEAK = 10 ** (-60 / 20)  # -60 dBFS: below this the line is treated as silent

log = logging.getLogger("emoface")


@dataclass
class Audio:
    samples: np.ndarray  # float32 mono at SAMPLE_RATE
    source: str
    original_rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    @property
    def is_silent(self) -> bool:
        return not len(self.samples) or float(np.max(np.abs(self.samples))) < SILENCE_PEAK


def _check_header(path: Path, max_duration_s: float) -> sf._SoundFileInfo:
    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_dir():
        raise InputError(path, "is a directory, not an audio file")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise InputError(path, f"not a readable audio file ({_reason(exc)})") from None
    if not MIN_RATE <= info.samplerate <= MAX_RATE:
        raise InputError(path, f"sample rate {info.samplerate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")
    if info.frames == 0:
        raise InputError(path, "audio is empty (zero length)")
    if info.frames > 0 and info.frames / info.samplerate > max_duration_s:
        raise InputError(
            path, f"audio is {info.frames / info.samplerate:.0f} s long, over the {max_duration_s:.0f} s limit"
        )
    return info


def _reason(exc: Exception) -> str:
    """libsndfile's message without the path it repeats ("Error opening 'x': Format not recognised.")."""
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return text.split("': ", 1)[-1].rstrip(".")


def load_audio(path, max_duration_s: float = DEFAULT_MAX_DURATION_S) -> Audio:
    """Decode, downmix and resample; raise InputError naming the file for anything unusable."""
    path = Path(path)
    info = _check_header(path, max_duration_s)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise InputError(path, f"corrupt or unreadable audio data ({_reason(exc)})") from None
    if data.shape[0] == 0:
        raise InputError(path, "audio is empty (zero length)")
    if data.shape[0] / rate > max_duration_s:
        raise InputError(path, f"audio is {data.shape[0] / rate:.0f} s long, over the {max_duration_s:.0f} s limit")
    if not np.all(np.isfinite(data)):
        raise InputError(path, "audio data contains NaN or infinite samples")
    return from_array(data, rate, str(path), info.samplerate)


def from_array(data: np.ndarray, rate: int, source: str = "<array>", original_rate: int | None = None) -> Audio:
    """Samples already in memory ([n] or [n, channels]) -> validated mono 16 kHz Audio."""
    data = np.asarray(data, dtype=np.float32)
    mono = data.mean(axis=1) if data.ndim == 2 else data
    if rate != SAMPLE_RATE:
        mono = soxr.resample(mono, rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    audio = Audio(np.ascontiguousarray(mono, dtype=np.float32), source, original_rate or rate)
    if len(audio.samples) == 0:
        raise InputError(source, "audio is empty (zero length)")
    return audio


def pcm16(samples: np.ndarray) -> bytes:
    """16-bit little-endian PCM, what pocketsphinx consumes."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
