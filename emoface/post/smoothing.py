"""Smoothing for the phonetic engine: Savitzky-Golay keeps peaks such as lip closures. (The network smooths
its own output: emoface.model.infer.)"""

from __future__ import annotations

import numpy as np

from emoface.animation import Animation


def savgol(anim: Animation, window_s: float = 0.1, order: int = 3) -> Animation:
    """Offline smoothing; the window is in seconds so it means the same at any fps (EmoFace: 15 @ 60 fps)."""
    from scipy.signal import savgol_filter  # here: scipy.signal costs a network bake ~70 MB it does not use

    window = int(round(window_s * anim.fps)) | 1
    if window <= order or anim.n_frames < window:
        return anim
    return anim.copy(savgol_filter(anim.values, window, order, axis=0, mode="interp").astype(np.float32))
