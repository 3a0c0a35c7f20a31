"""order_stats gives numpy's median and percentile bit for bit (a bake's imports: tests/test_filters1d.py)."""

import numpy as np
import pytest

from emoface import order_stats


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_median_and_percentile_are_numpys_bits(dtype):
    rng = np.random.default_rng(0)
    for n in [1, 2, 3, 4, 7, 10, 101, 1000]:
        for _ in range(20):
            x = (rng.standard_normal(n) * 30 - 40).astype(dtype)
            x[rng.random(n) < 0.1] = x[0]  # ties
            assert order_stats.median(x) == np.median(x)
            for q in [0, 0.5, 5, 25, 50, 90, 95, 99.9, 100, 37.3]:
                assert order_stats.percentile(x, q) == np.percentile(x, q), (n, q)


def test_nan_gives_nan_and_bad_input_is_refused():
    x = np.array([1.0, np.nan, 3.0])
    assert np.isnan(order_stats.median(x)) and np.isnan(order_stats.percentile(x, 95))
    with pytest.raises(ValueError, match="empty"):
        order_stats.median(np.array([]))
    with pytest.raises(ValueError, match="outside 0-100"):
        order_stats.percentile(np.arange(3.0), 101)

