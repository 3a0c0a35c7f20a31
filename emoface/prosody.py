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
FMIN, FMAX = 65.0, 1000.0  # a shout or a scream: RAVDESS's women at 430-700 Hz, a child's up to 600; capped at
# 450 Hz, yin read them an octave down, still voiced (docs/EMOTIONAL_SPEECH.md, "Pitch")
FLOOR_DB = -40.0  # loudness below the speech level by this much counts as silence
MEASURED_LOUDNESS = 0.35  # pitch is read only on speech at least this loud: a phrase's quiet end has none to give
YIN_FRAME, YIN_THRESHOLD = 1024, 0.1
YIN_FFT = 1280  # a fast FFT length (2^8 x 5) at least YIN_FRAME + the longest period (247 samples)
OCTAVE_REACH = 12  # pitch frames either side (0.24 s) whose median pitch says which octave a frame is in
OCTAVE_TROUGH = 0.5  # ... among the troughs whose cmnd is under this
OCTAVE_JUMP = 0.5  # octaves off the frames around it that make a frame's pitch doubtful
STRAY = 0.75  # octaves off the frames around it past which a frame that no trough brings back is not voiced:
# breath, a fricative's noise, a creak, read at a garbage pitch (they had made the spread of a line's pitch 1.5x pYIN's)
OTHER_TROUGHS = 4  # troughs kept per frame beside yin's choice: where the other octaves are
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


def _pitch_candidates(samples: np.ndarray, n: int, wanted: np.ndarray | None = None, hop: int = HOP):
    """yin_candidates per frame of `hop` samples (centred, zero-padded): (f0 [n, 1 + OTHER_TROUGHS], cmnd [same]),
    a block of frames at a time (yin treats each frame on its own, so the blocks give the whole-signal result). With
    `wanted` (a mask), only those frames are measured, the others stay 0: a line's pauses and quiet frames never need
    a pitch."""
    f0, cm = np.zeros((n, 1 + OTHER_TROUGHS)), np.zeros((n, 1 + OTHER_TROUGHS))
    if len(samples) < 2048:
        return f0, cm
    samples = np.asarray(samples, np.float32)
    for k0, k1 in _blocks(min(n, 1 + len(samples) // hop)):
        pick = np.arange(k1 - k0) if wanted is None else np.flatnonzero(wanted[k0:k1])
        if len(pick):
            seg = frame_span(samples, k0 * hop - YIN_FRAME // 2, (k1 - 1) * hop + YIN_FRAME // 2)
            frames = np.lib.stride_tricks.sliding_window_view(seg, YIN_FRAME)[::hop]
            f0[k0 + pick], cm[k0 + pick] = yin_candidates(frames if wanted is None else frames[pick])
    return f0, cm


def yin_candidates(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """yin's f0 of each row of frames [m, YIN_FRAME] and of its other troughs: (f0 [m, 1 + OTHER_TROUGHS],
    cmnd [m, 1 + OTHER_TROUGHS]), column 0 yin's choice, then the deepest other troughs (cmnd inf where a frame
    has fewer). Column 0 is librosa.yin(fmin=FMIN, fmax=FMAX, sr=SAMPLE_RATE, frame_length=YIN_FRAME) to float
    rounding, in numpy, with an FFT only as long as the periods read need (librosa's runs through numba, whose
    compiler stays resident: 130 MB of a bake's peak). yin takes the first trough under its threshold, which a
    strong harmonic can give at a half or a third of the period, or none at all and its deepest; which is right is
    for the frames around it to say (_octave_choice)."""
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
    first = trough & (cmnd < YIN_THRESHOLD)
    lag = np.where(first.any(axis=-1), np.argmax(first, axis=-1), np.argmin(cmnd, axis=-1))
    # and the deepest OTHER_TROUGHS of the others
    depth = np.where(trough, cmnd, np.inf)
    depth[np.arange(len(lag)), lag] = np.inf
    k = min(OTHER_TROUGHS, cmnd.shape[1] - 1)
    lags = np.concatenate([lag[:, None], np.argpartition(depth, k, axis=-1)[:, :k]], axis=1)
    period = lo + lags + np.take_along_axis(shift, lags, axis=-1)
    values = np.take_along_axis(depth, lags, axis=-1)
    values[:, 0] = np.take_along_axis(cmnd, lag[:, None], axis=-1)[:, 0]
    return SAMPLE_RATE / period, values


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
    maybe = speech & (loud > MEASURED_LOUDNESS)
    n_pitch = 1 + len(samples) // PITCH_HOP
    t_pitch = np.arange(n_pitch) * PITCH_HOP / SAMPLE_RATE
    wanted = np.zeros(n_pitch, bool)
    below = np.searchsorted(t_pitch, t[maybe], side="right") - 1
    wanted[np.clip(below, 0, n_pitch - 1)] = True
    wanted[np.clip(below + 1, 0, n_pitch - 1)] = True
    f0_p, settled = _octave_choice(*_pitch_candidates(samples, n_pitch, wanted, PITCH_HOP), wanted)
    f0_f = np.interp(t, t_pitch, f0_p)
    settled = np.interp(t, t_pitch, settled.astype(np.float64)) == 1.0  # both pitch frames either side
    voiced = maybe & settled & (f0_f > FMIN * 1.05) & (f0_f < FMAX * 0.95)
    return Prosody(loud.astype(np.float32), db_f.astype(np.float32), np.where(voiced, f0_f, 0.0), voiced, speech)


def _octave_choice(f0s: np.ndarray, cmnd: np.ndarray, measured: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(f0, settled) per frame from yin_candidates' troughs. f0: yin's own, unless it lies over OCTAVE_JUMP from
    the median pitch of the frames around it (OCTAVE_REACH) and a clear trough (OCTAVE_TROUGH) lies nearer by as
    much: a deep voice's strong second harmonic reads an octave high on a frame here and there, a scream's whole
    phrase does not (continuity, as pYIN's, without its per-frame matrices). settled: the f0 lies within STRAY of
    the frames around it (or too few are measured to say)."""
    yin_f0, rows = f0s[:, 0], np.arange(len(f0s))
    ok = measured & (yin_f0 > FMIN * 1.05) & (yin_f0 < FMAX * 0.95)
    if ok.sum() < 3:
        return yin_f0, np.ones(len(yin_f0), bool)
    octave = np.log2(np.maximum(f0s, 1.0))
    line = np.pad(np.where(ok, octave[:, 0], np.nan), OCTAVE_REACH, constant_values=np.nan)
    window = np.sort(np.lib.stride_tricks.sliding_window_view(line, 2 * OCTAVE_REACH + 1), axis=1)  # nan last
    count = (~np.isnan(window)).sum(axis=1)
    off = np.abs(octave - window[rows, np.maximum(count - 1, 0) // 2][:, None])  # from the median below the middle
    off[:, 1:][cmnd[:, 1:] > OCTAVE_TROUGH] = np.inf
    best = np.argmin(off, axis=1)
    move = ok & (count >= 5) & (off[:, 0] > OCTAVE_JUMP) & (off[rows, best] < off[:, 0] - OCTAVE_JUMP)
    pick = np.where(move, best, 0)
    return f0s[rows, pick], (count < 5) | (off[rows, pick] <= STRAY)
