"""Keep the memory numpy frees for its next arrays instead of handing it back to the system.

glibc gives each array over 128 KB its own fresh pages and returns them on free, and trims the heap's top
often; every new array then faults its pages in again. On virtual machines that report freed pages to their
host (cloud VMs, CI sandboxes) a fault costs microseconds, and a bake's temporaries (an STFT block, a network
layer's activations: 0.3-5 MB each) were spending more time faulting than computing: log-mel for a minute of
audio 26 ms, 7.5 ms with its pages kept. Allocations up to MMAP_MB come from the heap, and up to TRIM_MB of
freed heap stays in the process (a bake's peak memory grows by about 10 MB). A program that bakes through the
Python API rather than the emoface command can call keep_freed_memory() once itself.
"""

from __future__ import annotations

import sys

MMAP_MB, TRIM_MB = 32, 64
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def keep_freed_memory() -> bool:
    """Tune glibc's malloc for this process (True where it took); elsewhere (macOS, Windows, musl) nothing."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    mapped = mallopt(_M_MMAP_THRESHOLD, MMAP_MB << 20)
    trimmed = mallopt(_M_TRIM_THRESHOLD, TRIM_MB << 20)
    return bool(mapped and trimmed)
