"""A bake's freed arrays stay in the process for the next ones (emoface.allocator): on machines where every
page fault is costly, re-faulting each temporary was a tenth of a bake."""

import ctypes
import os
import subprocess
import sys

import pytest

PROBE = """
import ctypes, sys
import numpy as np
from emoface.allocator import keep_freed_memory

class Info(ctypes.Structure):  # glibc's struct mallinfo2
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]

info = ctypes.CDLL(None).mallinfo2
info.restype = Info
if sys.argv[1] == "tuned":
    assert keep_freed_memory()
elif sys.argv[1] == "cli":  # every emoface command tunes it first
    from emoface.cli import main
    try:
        main(["--version"])
    except SystemExit:
        pass
block = np.ones(1 << 20, np.float32)  # 4 MB, an STFT block's size
mapped = info().hblkhd
del block
print(mapped, info().fordblks)
"""


def _probe(mode: str) -> tuple[int, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}  # glibc's defaults
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True,
                         env=env).stdout
    mapped, free = map(int, out.split()[-2:])  # after what the command printed
    return mapped, free


@pytest.mark.skipif(not sys.platform.startswith("linux") or not hasattr(ctypes.CDLL(None), "mallinfo2"),
                    reason="glibc 2.33+ only")
def test_a_freed_block_stays_in_the_process_for_the_next():
    mapped, free = _probe("as-is")
    assert mapped >= 4 << 20 and free < 4 << 20  # glibc's default: its own mapping, handed back on free
    for mode in ("tuned", "cli"):
        mapped, free = _probe(mode)
        assert mapped < 4 << 20 and free >= 4 << 20, mode  # from the heap, and kept there once freed
