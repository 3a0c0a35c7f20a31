"""Smoothing: Savitzky-Golay for whole files (keeps peaks such as lip closures), a causal filter for live."""

from __future__ import annotations

import numpy as np
from scipy.signal import savgol_filter

from emoface.animation import Animation


SAVGOL_S, SAVGOL_ORDER = 0.08, 3


def savgol_window(fps: float, window_s: float = SAVGOL_S) -> int:
    """Odd window length in frames; the window is in seconds so it means the same at any fps. Live streams
    wait for half of it (40 ms), so it stays short (EmoFace used 15 frames at 60 fps)."""
    return int(round(window_s * fps)) | 1


def savgol(anim: Animation, window_s: float = SAVGOL_S, order: int = SAVGOL_ORDER) -> Animation:
    """Offline smoothing that keeps peaks such as lip closures."""
    window = savgol_window(anim.fps, window_s)
    if window <= order or anim.n_frames < window:
        return anim
    return anim.copy(savgol_filter(anim.values, window, order, axis=0, mode="interp").astype(np.float32))


class OneEuro:
    """Causal adaptive low-pass (Casiez et al. 2012): smooth when still, responsive when moving fast.

    step() takes one frame and keeps state, so a live stream and a whole file give the same output.
    """

    def __init__(self, fps: float, min_cutoff: float = 4.0, beta: float = 2.0, d_cutoff: float = 2.0):
        self.fps, self.min_cutoff, self.beta, self.d_cutoff = fps, min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        self._x = self._dx = None

    def _alpha(self, cutoff):
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau * self.fps)

    def step(self, frame: np.ndarray) -> np.ndarray:
        frame = np.asarray(frame, np.float64)
        if self._x is None:
            self._x, self._dx = frame.copy(), np.zeros_like(frame)
            return frame.astype(np.float32)
        dx = (frame - self._x) * self.fps
        a_d = self._alpha(self.d_cutoff)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        a = self._alpha(self.min_cutoff + self.beta * np.abs(self._dx))
        self._x = a * frame + (1 - a) * self._x
        return self._x.astype(np.float32)

    def apply(self, anim: Animation) -> Animation:
        self.reset()
        return anim.copy(np.stack([self.step(f) for f in anim.values]) if anim.n_frames else anim.values)
