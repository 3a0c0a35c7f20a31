"""Audio augmentation for training: gain, noise, reverberation, speed and pitch.

Speed changes timing, so it returns the factor for the labels to follow; pitch shift keeps timing.
"""

from __future__ import annotations

import numpy as np
import soxr
from scipy.signal import fftconvolve

SR = 16000


def gain(x, rng, db=(-18.0, 6.0)):
    return x * 10 ** (rng.uniform(*db) / 20)


def noise(x, rng, snr_db=(8.0, 35.0)):
    n = rng.standard_normal(len(x)).astype(np.float32)
    if rng.random() < 0.5:  # pinkish: integrate white noise a little
        n = np.cumsum(n) * 0.02 + n * 0.5
        n -= np.convolve(n, np.ones(400) / 400, mode="same")
    p_sig = np.mean(x ** 2) + 1e-9
    p_noise = np.mean(n ** 2) + 1e-9
    return x + n * np.sqrt(p_sig / p_noise / 10 ** (rng.uniform(*snr_db) / 10))


def reverb(x, rng, rt60=(0.15, 0.8)):
    """Convolve with a synthetic room response: exponentially decaying noise after a direct path."""
    t60 = rng.uniform(*rt60)
    n = int(t60 * SR)
    t = np.arange(n) / SR
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / t60)
    ir[0] = 1.0 / max(rng.uniform(0.3, 1.0), 1e-3)
    ir /= np.sqrt(np.sum(ir ** 2))
    y = fftconvolve(x, ir)[: len(x)]
    return (y * np.sqrt((np.mean(x ** 2) + 1e-9) / (np.mean(y ** 2) + 1e-9))).astype(np.float32)


def speed(x, factor):
    """Play `factor` times faster (pitch moves with it): fewer samples, labels must be resampled alike."""
    return soxr.resample(x, SR * factor, SR, quality="QQ").astype(np.float32)


def pitch(x, semitones):
    """Shift pitch keeping duration: resample, then stretch back in time by overlap-add (WSOLA-free OLA)."""
    factor = 2 ** (semitones / 12)
    shifted = speed(x, factor)  # higher and shorter
    win, hop_out = 640, 320
    hop_in = hop_out / factor
    w = np.hanning(win).astype(np.float32)
    n_out = len(x)
    out = np.zeros(n_out + win, np.float32)
    norm = np.zeros(n_out + win, np.float32)
    pos_out, pos_in = 0, 0.0
    while pos_out < n_out:
        i = int(pos_in)
        seg = shifted[i:i + win]
        if len(seg) < win:
            seg = np.pad(seg, (0, win - len(seg)))
        out[pos_out:pos_out + win] += seg * w
        norm[pos_out:pos_out + win] += w
        pos_out += hop_out
        pos_in += hop_in
    return (out[:n_out] / np.maximum(norm[:n_out], 1e-3)).astype(np.float32)
