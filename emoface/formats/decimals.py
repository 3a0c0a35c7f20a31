"""Curve values to text in bulk: a block of frames becomes the exact characters Python prints for each value
(repr of round(v, 6) for JSON, f"{v:.6f}" for CSV and text, with no sign on a zero), built as one character
matrix in numpy. Python formatting one float at a time was most of a bake's writing time (issue 14); the bytes
are the same.

Exact because a float32 times 1e6 is exact in float64 (24 + 20 bits), so rint() rounds it as Python's
correctly rounded formatting does (ties to even); for JSON, numpy's round(v, 6) is that same rint / 1e6, and
the shortest text that reads back as k / 1e6 is k's own decimal digits with trailing zeros dropped. What falls
outside that (Python writes 2e-05, not 0.00002; values of 1e9 and more; NaN and infinities) goes through
Python's own formatting.
"""

from __future__ import annotations

import json

import numpy as np

INT_DIGITS = 9  # |value| < 1e9 in bulk; larger ones (no rig curve is near) are formatted by Python
# 0..999 as three characters (and a zero byte: one 4-byte word each, which numpy gathers fast)
_DIGITS = np.frombuffer(b"".join(f"{i:03d}".encode() + b"\0" for i in range(1000)), "<u4")
_TRAILING = np.array([3] + [len(f"{i:03d}") - len(f"{i:03d}".rstrip("0")) for i in range(1, 1000)])
_EXPONENT_TEXTS = [repr(k / 1e6).encode() for k in range(100)]  # what Python writes for k / 1e6, k < 100
_EXPONENT = np.array([list(t.ljust(7, b"\0")) for t in _EXPONENT_TEXTS], np.uint8)
_EXPONENT_LENGTH = np.array([len(t) for t in _EXPONENT_TEXTS])
_ZERO, _DOT, _MINUS = ord("0"), ord("."), ord("-")


def json_rows(block: np.ndarray) -> str:
    """json.dumps(np.round(block.astype(np.float64), 6).tolist(), separators=(",", ":"))[1:-1]: the rows
    '[a,b],[c,d]'. A NaN or infinity raises ValueError, as json.dumps(allow_nan=False) does."""
    block = np.asarray(block)
    k = np.rint(block.astype(np.float64) * 1e6)
    if not _bulk_ok(k):
        return json.dumps(np.round(block.astype(np.float64), 6).tolist(), separators=(",", ":"),
                          allow_nan=False)[1:-1]
    return _text(k, shortest=True, row_start="[", row_end="],", last_end="]")


def fixed_rows(block: np.ndarray, sep: str = ",", row_end: str = "\n") -> str:
    """The rows of f"{v:.6f}" values joined by sep, each row ended by row_end (CSV and text writers), except that
    a value that rounds to zero has no sign: -0.000000 read as a negative slider in a text diff."""
    block = np.asarray(block)
    k = np.rint(block.astype(np.float64) * 1e6) + 0.0  # + 0.0: -0.0 -> 0.0
    if block.dtype != np.float32 or not _bulk_ok(k):  # float64 times 1e6 is not exact: Python's own digits
        return "".join(sep.join(f"{round(float(v), 6) + 0.0:.6f}" for v in row) + row_end for row in block)
    return _text(k, shortest=False, sep=sep, row_end=row_end, last_end=row_end)


def _bulk_ok(k: np.ndarray) -> bool:
    finite = bool(np.isfinite(k).all())
    return k.ndim == 2 and finite and (k.size == 0 or float(np.abs(k).max()) < 10.0 ** (INT_DIGITS + 6))


def _text(k: np.ndarray, shortest: bool, sep: str = ",", row_start: str = "", row_end: str = "",
          last_end: str = "") -> str:
    """k = value x 1e6 as whole numbers (float64, sign kept, -0.0 included) -> the rows' text."""
    n, w = k.shape
    if n == 0 or w == 0:
        return ""
    neg = np.signbit(k).ravel()
    micro = np.abs(k).astype(np.int64).ravel()
    whole, frac = np.divmod(micro, 1_000_000)
    n_int = len(str(int(whole.max())))  # whole-number columns this block needs (curves: one)
    pre, suf = len(row_start), max(len(sep), len(row_end), len(last_end))
    s, d = pre, pre + 1  # columns: row start, sign, whole digits, point, six decimals, what follows
    p = d + n_int
    f, e = p + 1, p + 7
    chars = np.zeros((n * w, e + suf), np.uint8)
    keep = np.zeros((n * w, e + suf), bool)
    cols = np.arange(n * w) % w
    first, last = cols == 0, cols == w - 1

    if pre:
        chars[first, :pre] = np.frombuffer(row_start.encode(), np.uint8)
        keep[first, :pre] = True
    chars[:, s] = _MINUS
    keep[:, s] = neg
    powers = 10 ** np.arange(n_int - 1, -1, -1, dtype=np.int64)
    chars[:, d:p] = _ZERO + (whole[:, None] // powers) % 10
    keep[:, d:p] = np.arange(n_int) >= n_int - 1 - (whole[:, None] >= powers[:-1]).sum(1)[:, None]
    chars[:, p] = _DOT
    keep[:, p] = True
    high, low = np.divmod(frac, 1000)  # the decimals as two 3-digit halves, looked up in a table
    chars[:, f:f + 3] = _DIGITS[high].view(np.uint8).reshape(-1, 4)[:, :3]
    chars[:, f + 3:e] = _DIGITS[low].view(np.uint8).reshape(-1, 4)[:, :3]
    if shortest:  # up to the last non-zero decimal, at least one
        n_frac = np.maximum(1, 6 - np.where(low > 0, _TRAILING[low], 3 + _TRAILING[high]))
        keep[:, f:e] = np.arange(6) < n_frac[:, None]
        tiny = np.flatnonzero((micro > 0) & (micro < 100))
        if len(tiny):  # Python writes these with an exponent (2e-05, 1.2e-05): a table of the 99 texts
            keep[tiny, d:e] = False
            width = _EXPONENT.shape[1]  # fits: e - d is at least 8
            chars[tiny, d:d + width] = _EXPONENT[micro[tiny]]
            keep[tiny, d:d + width] = np.arange(width) < _EXPONENT_LENGTH[micro[tiny], None]
    else:
        keep[:, f:e] = True
    last_row = np.zeros(n * w, bool)
    last_row[-1] = True
    for text, where in ((sep, ~last), (row_end, last & ~last_row), (last_end, last_row)):
        if text:
            chars[where, e:e + len(text)] = np.frombuffer(text.encode(), np.uint8)
            keep[where, e:e + len(text)] = True
    return chars[keep].tobytes().decode("ascii")

