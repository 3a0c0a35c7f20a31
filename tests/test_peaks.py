"""emoface.post.peaks finds the peaks scipy.signal.find_peaks finds (it stands in for it to spare a bake the
import), with the same prominences: on smooth signals like a line's loudness, and on plateaus and ties."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks as scipy_find_peaks

from emoface.post.peaks import find_peaks


@pytest.mark.parametrize("seed", range(20))
def test_the_same_peaks_as_scipy(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 3000))
    x = gaussian_filter1d(rng.random(n) * (rng.random(n) > 0.3), sigma=float(rng.uniform(0.5, 6)))
    if seed % 4 == 0:
        x = np.round(x, 2)  # plateaus and ties
    for distance, prominence in ((1, 0.0), (21, 0.15), (7, 0.01), (3.5, 0.05)):
        ours, props = find_peaks(x, distance=distance, prominence=prominence)
        theirs, their_props = scipy_find_peaks(x, distance=distance, prominence=prominence)
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(props["prominences"], their_props["prominences"])


def test_edges_and_flat_signals():
    for x in ([], [1.0], [1.0, 2.0], [0, 1, 1, 1, 0], [0, 1, 1, 2], [3, 3, 3], [0, 2, 0, 2, 0, 2, 0]):
        x = np.asarray(x, float)
        np.testing.assert_array_equal(find_peaks(x, distance=2)[0], scipy_find_peaks(x, distance=2)[0])
