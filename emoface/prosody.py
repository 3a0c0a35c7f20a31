"""Loudness and pitch per animation frame: what jaw opening, emotion strength and head nods follow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emoface.audio import SAMPLE_RATE

HOP = 160  # 10 ms analysis frames
WIN = 400  # 25 ms
FMIN, FMAX = 65.0, 450.0
FLOOR_DB = -40.0  # loudness below the speech level by this much counts as silence


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
            out[self.voiced] = (semis - np.median(semis)) / max(np.std(semis), 1.0)
        return out


def _frame_rms_db(samples: np.ndarray) -> np.ndarray:
    pad = np.pad(samples, (WIN // 2, WIN // 2))
    n = 1 + max(0, (len(pad) - WIN) // HOP)
    idx = np.arange(WIN)[None, :] + HOP * np.arange(n)[:, None]
    frames = pad[np.minimum(idx, len(pad) - 1)]
    return 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-10)


def _pitch(samples: np.ndarray, n: int) -> np.ndarray:
    import librosa  # imported here: it is slow to import and only this needs it

    if len(samples) < 2048:
        return np.zeros(n)
    f0 = librosa.yin(samples.astype(np.float32), fmin=FMIN, fmax=FMAX, sr=SAMPLE_RATE,
                     frame_length=1024, hop_length=HOP, center=True)
    out = np.zeros(n)
    m = min(n, len(f0))
    out[:m] = f0[:m]
    return out


def analyse(samples: np.ndarray, n_frames: int, fps: float) -> Prosody:
    db = _frame_rms_db(samples)
    f0 = _pitch(samples, len(db))
    t_analysis = np.arange(len(db)) * HOP / SAMPLE_RATE
    t = np.arange(n_frames) / fps
    db_f = np.interp(t, t_analysis, db)
    f0_f = np.interp(t, t_analysis, f0)
    level = float(np.percentile(db, 95)) if len(db) else -100.0
    level = max(level, -60.0)
    loud = np.clip((db_f - (level + FLOOR_DB)) / -FLOOR_DB, 0.0, 1.0)
    speech = (db_f > level - 30.0) & (db_f > -60.0)
    # yin reports a period everywhere; trust it only where the frame is speech and the value is in range.
    voiced = speech & (f0_f > FMIN * 1.05) & (f0_f < FMAX * 0.95) & (loud > 0.35)
    return Prosody(loud.astype(np.float32), db_f.astype(np.float32), np.where(voiced, f0_f, 0.0), voiced, speech)
