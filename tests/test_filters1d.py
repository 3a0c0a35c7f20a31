"""emoface.filters1d gives the bits scipy.ndimage gives (it stands in for it to spare a bake the import): a bake's
curves, and so its files, must not change with the smoothing's implementation. The head drift's FFT filter
(circular_gaussian) gives scipy's numbers to float rounding, far below the 6 decimals files are written with."""

import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
import scipy.ndimage as ndimage

from emoface import filters1d
from emoface.filters1d import circular_gaussian, gaussian_filter1d, symmetric_filter1d


@pytest.mark.parametrize("seed", range(40))
def test_the_same_bits_as_scipy(seed):
    rng = np.random.default_rng(seed)
    n, channels = int(rng.integers(1, 400)), int(rng.integers(1, 5))
    x = (rng.standard_normal((n, channels)) * rng.uniform(0.01, 100)).astype([np.float32, np.float64][seed % 2])
    sigma = float(rng.uniform(0.3, 40))  # kernels wider than the signal too
    for mode in ("nearest", "wrap", "reflect"):
        ours = gaussian_filter1d(x, sigma, axis=0, mode=mode)
        theirs = ndimage.gaussian_filter1d(x, sigma, axis=0, mode=mode)
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(gaussian_filter1d(x[:, 0], sigma, mode=mode),
                                      ndimage.gaussian_filter1d(x[:, 0], sigma, mode=mode))
    half = int(rng.integers(1, 6))  # the network's triangle (emoface.model.infer.smooth_rows)
    kernel = np.concatenate([np.arange(1, half + 2), np.arange(half, 0, -1)]).astype(np.float32) / (half + 1) ** 2
    np.testing.assert_array_equal(symmetric_filter1d(x, kernel, axis=0, mode="nearest"),
                                  ndimage.convolve1d(x, kernel, axis=0, mode="nearest"))


@pytest.mark.parametrize("seed", range(6))
def test_a_long_signal_in_blocks_gives_the_same_bits(seed, monkeypatch):
    """A long line is smoothed a block of outputs at a time; each block's edges read their context from the
    signal (or its padding), so the bits do not depend on where the blocks fall."""
    monkeypatch.setattr(filters1d, "TERMS_BLOCK", 257)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((int(rng.integers(300, 900)), int(rng.integers(1, 4)))).astype(np.float32)
    for sigma in (0.7, 3.0, 60.0):  # blocks of a row or two, and a kernel wider than the signal
        for mode in ("nearest", "wrap", "reflect", "mirror"):
            np.testing.assert_array_equal(gaussian_filter1d(x, sigma, axis=0, mode=mode),
                                          ndimage.gaussian_filter1d(x, sigma, axis=0, mode=mode))


def test_smoothing_a_long_lines_rows_holds_little_more_than_its_output():
    """A 30-minute line's 100 Hz network rows (31 MB) smoothed with the network's triangle: the whole signal in
    float64, padded, and every tap's terms at once had taken 350 MB (a 30-minute bake 646 MB, over its 600)."""
    rows = np.random.default_rng(0).random((180_000, 43), dtype=np.float32)
    kernel = np.array([1, 2, 3, 4, 3, 2, 1], np.float32) / 16
    tracemalloc.start()
    try:
        out = symmetric_filter1d(rows, kernel, axis=0, mode="nearest")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.dtype == np.float32 and out.shape == rows.shape
    assert peak < 2.5 * rows.nbytes, f"{peak / 2 ** 20:.0f} MB"


@pytest.mark.parametrize("seed", range(20))
def test_the_head_drift_filter_is_scipys_wrapped_gaussian(seed):
    """circular_gaussian (a head drift's slow noise, through the FFT) is scipy's mode="wrap" Gaussian to float
    rounding, for signals longer and shorter than its kernel: 1e-15 on curves written with 6 decimals."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(rng.integers(1, 2000)))
    sigma = float(rng.uniform(0.3, 80))
    np.testing.assert_allclose(circular_gaussian(x, sigma), ndimage.gaussian_filter1d(x, sigma, mode="wrap"),
                               rtol=0, atol=1e-13)


def test_an_asymmetric_kernel_is_refused():
    with pytest.raises(ValueError):
        symmetric_filter1d(np.zeros(5), np.array([1.0, 2.0, 3.0]))


def test_a_bake_imports_no_scipy(bob, tmp_path):
    """scipy (through scipy.special) was a third of a one-second line's bake; nothing a bake runs needs it (nor
    numpy.ma, which numpy's own median and percentile import: emoface.order_stats stands in)."""
    out = tmp_path / "bob.json"
    code = ("import sys; from emoface.cli import main; main(sys.argv[1:]) and sys.exit(1); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'torch', 'tqdm', 'asyncio') or m == 'numpy.ma'))")
    done = subprocess.run([sys.executable, "-c", code, "bake", str(bob), "-o", str(out), "--emotion", "happy", "-q"],
                          capture_output=True, text=True, check=True)
    assert out.is_file() and done.stdout.strip() == "[]"
