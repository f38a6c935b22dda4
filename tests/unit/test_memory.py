"""core/memory.py: the allocator keeps freed memory for the next streamed batch instead of handing it back to the
kernel (and faulting it in again, zeroed, for the next one)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from miniaws.core import memory

# glibc's own accounting (mallinfo2): mmapped blocks, and the heap's size after a streamed batch was freed
_PROBE = """
import ctypes, json, os, sys
if sys.argv[1] == "tuned":
    from miniaws.core.memory import tune_allocator
    assert tune_allocator()
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]
mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = Info
mapped = mallinfo2().hblks
big = bytearray(2 * 1024 * 1024)  # one 2 MiB buffer
mapped_for_big = mallinfo2().hblks - mapped
del big
pieces = [os.urandom(16) * 4096 for _ in range(128)]  # 8 MiB in 64 KiB pieces, as a streamed body arrives
grown = mallinfo2().arena
del pieces
print(json.dumps({"mapped_for_big": mapped_for_big, "kept": mallinfo2().arena / grown}))
"""


def _probe(mode: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin"}, cwd=str(Path(memory.__file__).parents[2]), timeout=60)
    result: dict[str, float] = json.loads(out.stdout)
    return result


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's mallopt and mallinfo2")
def test_large_blocks_come_from_the_heap_and_freed_batches_stay_there() -> None:
    plain, tuned = _probe("plain"), _probe("tuned")
    assert plain["mapped_for_big"] == 1 and tuned["mapped_for_big"] == 0  # 2 MiB < MMAP_THRESHOLD: not mmapped
    assert plain["kept"] < 0.5 < 0.9 < tuned["kept"]  # glibc's default trims the freed 8 MiB; tuned keeps it


def test_a_user_setting_in_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert memory.tune_allocator() is False
