"""Loudness and pitch per animation frame: what jaw opening, emotion strength and head nods follow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emoface.audio import SAMPLE_RATE
from emoface.order_stats import median, percentile

HOP = 160  # 10 ms analysis frames
PITCH_HOP = 2 * HOP  # pitch every 20 ms: what follows it (head nods, emotion strength) moves slower, and yin's
# frames were most of a bake's time outside the network
WIN = 400  # 25 ms
FMIN, FMAX = 65.0, 450.0
FLOOR_DB = -40.0  # loudness below the speech level by this much counts as silence
YIN_FRAME, YIN_THRESHOLD = 1024, 0.1
YIN_FFT = 1280  # a fast FFT length (2^8 x 5) at least YIN_FRAME + the longest period (247 samples)
BLOCK = 1000  # analysis frames (10 s) per block: bounds the frame matrices and yin's working memory


@dataclass
class Prosody:
    """All arrays are per animation frame."""

    loudness: np.ndarray  # 0 (silence) .. 1 (the line's loud speech level)
    rms_db: np.ndarray  # dBFS
    f0: np.ndarray  # Hz, 0 where unvoiced
    voiced: np.ndarray  # bool
    speech: np.ndarray  # bool: loud enough to be speech

    def pitch_z(self) -> np.ndarray:
        """Pitch as z-score over the line's voiced frames (0 elsewhere): 'higher than usual for this voice'."""
        out = np.zeros_like(self.f0)
        if self.voiced.sum() >= 3:
            semis = 12 * np.log2(np.maximum(self.f0[self.voiced], 1.0))
            out[self.voiced] = (semis - median(semis)) / max(np.std(semis), 1.0)
        return out


def frame_span(samples: np.ndarray, start: int, stop: int) -> np.ndarray:
    """samples[start:stop] with zeros where the range runs past either end: a block of a centred
    (zero-padded) framing, so a long signal can be framed a block at a time without padding a copy of it."""
    lo, hi = max(start, 0), min(stop, len(samples))
    if lo == start and hi == stop:
        return samples[start:stop]
    out = np.zeros(stop - start, samples.dtype)
    if hi > lo:
        out[lo - start: hi - start] = samples[lo:hi]
    return out


def _blocks(n: int):
    """(first, end) analysis frames of each block: working memory stays the same for any length of audio."""
    return ((k, min(n, k + BLOCK)) for k in range(0, n, BLOCK))


def _frame_rms_db(samples: np.ndarray) -> np.ndarray:
    """dBFS of WIN-sample frames centred every HOP samples (frame k on sample k x HOP)."""
    n = 1 + len(samples) // HOP
    out = np.empty(n)
    for k0, k1 in _blocks(n):
        seg = frame_span(samples, k0 * HOP - WIN // 2, (k1 - 1) * HOP + WIN // 2)
        frames = np.lib.stride_tricks.sliding_window_view(seg, WIN)[::HOP]
        out[k0:k1] = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-10)
    return out


def _pitch(samples: np.ndarray, n: int, wanted: np.ndarray | None = None, hop: int = HOP) -> np.ndarray:
    """yin f0 per frame of `hop` samples (centred, zero-padded), a block of frames at a time: yin treats each
    frame on its own, so the blocks give the whole-signal result. With `wanted` (a mask), only those frames are
    measured (the others stay 0): a line's pauses and quiet frames never need a pitch."""
    out = np.zeros(n)
    if len(samples) < 2048:
        return out
    samples = np.asarray(samples, np.float32)
    for k0, k1 in _blocks(min(n, 1 + len(samples) // hop)):
        pick = np.arange(k1 - k0) if wanted is None else np.flatnonzero(wanted[k0:k1])
        if len(pick):
            seg = frame_span(samples, k0 * hop - YIN_FRAME // 2, (k1 - 1) * hop + YIN_FRAME // 2)
            frames = np.lib.stride_tricks.sliding_window_view(seg, YIN_FRAME)[::hop]
            out[k0 + pick] = yin_frames(frames if wanted is None else frames[pick])
    return out


def yin(seg: np.ndarray) -> np.ndarray:
    """f0 (Hz) of each YIN_FRAME-sample frame every HOP samples of seg (no centring padding): the steps of
    librosa.yin(fmin=FMIN, fmax=FMAX, sr=SAMPLE_RATE, frame_length=YIN_FRAME, hop_length=HOP, center=False)
    and its numbers to float rounding, in numpy, with an FFT only as long as the periods read need. librosa's
    runs through numba, whose compiler stays resident (130 MB of a bake's peak)."""
    return yin_frames(np.lib.stride_tricks.sliding_window_view(seg, YIN_FRAME)[::HOP])


def yin_frames(frames: np.ndarray) -> np.ndarray:
    """yin's f0 (Hz) of each row of frames [m, YIN_FRAME]; every row on its own."""
    lo, hi = int(np.floor(SAMPLE_RATE / FMAX)), min(int(np.ceil(SAMPLE_RATE / FMIN)), YIN_FRAME - 1)
    # difference function d(k) = 2 (acf(0) - acf(k)) - sum_{m<k} y(m)^2, from the FFT autocorrelation; numpy's
    # FFT, not scipy's, whose import (0.3 s) was a third of a short line's bake
    assert YIN_FFT >= YIN_FRAME + hi  # no wrap-around up to lag hi, the last one read
    spec = np.fft.rfft(frames, n=YIN_FFT, axis=-1)
    # the power spectrum handed over as complex: given real float32, irfft casts it in its ufunc's buffered loop,
    # 3x slower than the transform (a 60 s line's pitch 54 -> 35 ms)
    acf = np.fft.irfft((spec.real ** 2 + spec.imag ** 2).astype(spec.dtype), n=YIN_FFT, axis=-1)[:, :hi + 1]
    del spec
    d = np.empty((len(frames), hi + 1), frames.dtype)
    np.cumsum(np.square(frames[:, :hi]), out=d[:, :hi], axis=-1)  # the energy is only read up to lag hi
    d[:, 0] = 0
    d[:, 1:hi + 1] = 2 * (acf[:, 0:1] - acf[:, 1:hi + 1]) - d[:, :hi]
    # cumulative mean normalised difference over the periods in range
    mean = np.cumsum(d[:, 1:hi + 1], axis=-1) / np.arange(1, hi + 1)
    den = mean[:, lo - 1:hi]
    cmnd = d[:, lo:hi + 1] / (den + np.finfo(den.dtype).tiny)
    # parabolic refinement of each lag (0 at the ends, or where the optimum is more than a lag away)
    left, mid, right = cmnd[:, :-2], cmnd[:, 1:-1], cmnd[:, 2:]
    a, b = right + left - 2 * mid, (right - left) / 2
    shift = np.zeros_like(cmnd)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift[:, 1:-1] = np.where(np.abs(b) >= np.abs(a), 0.0, -b / a)
    # the first trough below the threshold, else the global minimum
    trough = np.zeros(cmnd.shape, bool)
    trough[:, 1:-1] = (mid < left) & (mid <= right)
    trough[:, -1] = cmnd[:, -1] < cmnd[:, -2]
    trough[:, 0] = cmnd[:, 0] < cmnd[:, 1]
    trough &= cmnd < YIN_THRESHOLD
    lag = np.where(trough.any(axis=-1), np.argmax(trough, axis=-1), np.argmin(cmnd, axis=-1))
    period = lo + lag + np.take_along_axis(shift, lag[:, None], axis=-1)[:, 0]
    return SAMPLE_RATE / period


def analyse(samples: np.ndarray, n_frames: int, fps: float) -> Prosody:
    db = _frame_rms_db(samples)
    t_analysis = np.arange(len(db)) * HOP / SAMPLE_RATE
    t = np.arange(n_frames) / fps
    db_f = np.interp(t, t_analysis, db)
    level = percentile(db, 95) if len(db) else -100.0
    level = max(level, -60.0)
    loud = np.clip((db_f - (level + FLOOR_DB)) / -FLOOR_DB, 0.0, 1.0)
    speech = (db_f > level - 30.0) & (db_f > -60.0)
    # yin reports a period everywhere; trust it only where the frame is speech and the value is in range. So
    # only the pitch frames those frames interpolate from are measured (the same numbers, in less time).
    maybe = speech & (loud > 0.35)
    n_pitch = 1 + len(samples) // PITCH_HOP
    t_pitch = np.arange(n_pitch) * PITCH_HOP / SAMPLE_RATE
    wanted = np.zeros(n_pitch, bool)
    below = np.searchsorted(t_pitch, t[maybe], side="right") - 1
    wanted[np.clip(below, 0, n_pitch - 1)] = True
    wanted[np.clip(below + 1, 0, n_pitch - 1)] = True
    f0_f = np.interp(t, t_pitch, _pitch(samples, n_pitch, wanted, PITCH_HOP))
    voiced = maybe & (f0_f > FMIN * 1.05) & (f0_f < FMAX * 0.95)
    return Prosody(loud.astype(np.float32), db_f.astype(np.float32), np.where(voiced, f0_f, 0.0), voiced, speech)
