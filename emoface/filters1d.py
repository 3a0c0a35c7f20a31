"""1-D smoothing along one axis, the numbers scipy.ndimage gives (gaussian_filter1d, convolve1d) computed the
same way in numpy: importing scipy.ndimage (through scipy.special) took 0.17 s of a short line's 0.6 s bake.

Like scipy, each output is the kernel's centre tap times its sample plus, from the outermost tap inwards, the
pair of samples either side times their shared weight, in float64, then cast to the input's float type: the
same sums in the same order, so the same bits (tests/test_filters1d.py holds them to scipy)."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

PAD_MODES = {"nearest": "edge", "wrap": "wrap", "reflect": "symmetric", "mirror": "reflect"}
TERMS_BLOCK = 1 << 21  # float64 terms summed at once (16 MB)


def gaussian_kernel(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """scipy's normalised Gaussian taps, radius int(truncate * sigma + 0.5)."""
    radius = int(truncate * float(sigma) + 0.5)
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (float(sigma) * float(sigma)) * x ** 2)
    return phi / phi.sum()


def gaussian_filter1d(x: np.ndarray, sigma: float, axis: int = -1, mode: str = "reflect",
                      truncate: float = 4.0) -> np.ndarray:
    """scipy.ndimage.gaussian_filter1d (order 0)."""
    return symmetric_filter1d(x, gaussian_kernel(sigma, truncate), axis, mode)


def symmetric_filter1d(x: np.ndarray, weights: np.ndarray, axis: int = -1, mode: str = "reflect") -> np.ndarray:
    """scipy.ndimage.convolve1d / correlate1d with an odd-length, symmetric kernel (a smoothing one)."""
    x = np.asarray(x)
    weights = np.asarray(weights, np.float64)
    half = len(weights) // 2
    if len(weights) % 2 == 0 or not np.array_equal(weights, weights[::-1]):
        raise ValueError("symmetric_filter1d needs an odd-length symmetric kernel")
    out_type = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    moved = np.moveaxis(x, axis, 0)
    n = moved.shape[0]
    if n == 0:
        return np.asarray(x, out_type).copy()
    # which sample each row of the padded signal is (np.pad's rule for the mode), so that a block of outputs
    # reads its rows and context straight from x: a whole padded float64 copy of a 30-minute line's 100 Hz rows,
    # its output and the terms of all its taps at once took 350 MB
    source = np.pad(np.arange(n), half, mode=PAD_MODES[mode])
    out = np.empty(moved.shape, out_type)
    rows = max(1, TERMS_BLOCK // ((half + 1) * max(1, int(np.prod(moved.shape[1:])))))
    for a in range(0, n, rows):  # each output's sum is the same in any block
        b = min(n, a + rows)
        out[a:b] = _taps_summed(moved[source[a:b + 2 * half]].astype(np.float64, copy=False), weights, half)
    return np.moveaxis(out, 0, axis)


def _taps_summed(padded: np.ndarray, weights: np.ndarray, half: int) -> np.ndarray:
    """The filtered rows of a padded block (half rows of context at each end), in scipy's order."""
    n = len(padded) - 2 * half
    # terms[0] is the centre tap; terms[1:] the pairs, outermost first: rows j = half..1 of the samples j before
    # and j after each output, as strided views of the padded signal (no loop over the taps: a head drift's
    # 433-tap kernel took 1.3 ms a call that way, 0.3 ms so)
    strides = padded.strides
    shape = (half, n) + padded.shape[1:]
    before = as_strided(padded, shape, (strides[0],) + strides, writeable=False)
    after = as_strided(padded[2 * half:], shape, (-strides[0],) + strides, writeable=False)
    terms = np.empty((half + 1, n) + padded.shape[1:])
    np.multiply(padded[half:half + n], weights[half], out=terms[0])
    np.add(before, after, out=terms[1:])
    terms[1:] *= weights[:half].reshape((half,) + (1,) * padded.ndim)
    return np.add.reduce(terms, axis=0)  # row by row, in order: scipy's sums


def circular_gaussian(x: np.ndarray, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """gaussian_filter1d(x, sigma, mode="wrap") of a 1-D float64 signal as one circular convolution through the FFT:
    the same numbers to float rounding (1e-15, not to the bit), in three FFTs instead of a term per tap. For a
    head drift's 433 taps, where the taps took a quarter of a bake's post-processing."""
    x = np.asarray(x, np.float64)
    if len(x) == 0:
        return x.copy()
    kernel = gaussian_kernel(sigma, truncate)
    half = len(kernel) // 2
    # the kernel wrapped onto the signal's period (a kernel longer than the signal wraps round more than once)
    taps = np.bincount(np.arange(-half, half + 1) % len(x), weights=kernel, minlength=len(x))
    return np.fft.irfft(np.fft.rfft(x) * np.fft.rfft(taps), len(x))
