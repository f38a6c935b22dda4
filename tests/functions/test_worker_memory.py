"""A real worker process's memory figures as the runtime reads them after every invocation: Max Memory Used is the
kernel's peak RSS (VmHWM), read from a descriptor opened once at spawn, and nothing is left open after the exit."""
from __future__ import annotations

import asyncio
import builtins
import os
import sys
from typing import Any, NoReturn

import pytest

from miniaws.functions.executor import Launch, ProcessExecutor

pytestmark = pytest.mark.subprocess

#: touches 96 MiB, frees it (returned to the OS: a large allocation is its own mapping), then idles
PROGRAM = ("import time\n"
           "block = bytearray(96 * 1024 * 1024)\n"
           "del block\n"
           "print('ready', flush=True)\n"
           "time.sleep(30)\n")


def _open_on(pid: int) -> list[str]:
    """This process's descriptors on /proc/<pid>/..."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(f"/proc/{pid}/"):
            found.append(target)
    return found


def _no_open(*args: Any, **kwargs: Any) -> NoReturn:
    raise AssertionError(f"a file was opened to read a memory figure: {args!r}")


async def test_peak_memory_is_the_high_water_mark_read_without_reopening(monkeypatch: pytest.MonkeyPatch) -> None:
    output = bytearray()
    ready = asyncio.Event()

    def on_output(data: bytes) -> None:
        output.extend(data)
        if b"ready" in output:
            ready.set()

    worker = await ProcessExecutor().start(Launch((sys.executable, "-c", PROGRAM), dict(os.environ), os.getcwd()),
                                           on_output, lambda status: None)
    try:
        await asyncio.wait_for(ready.wait(), 10)
        assert _open_on(worker.pid) == [f"/proc/{worker.pid}/status"]
        # per invocation: no path lookup, no open — the descriptor opened at spawn is read again
        monkeypatch.setattr(os, "open", _no_open)
        monkeypatch.setattr(builtins, "open", _no_open)
        peak, again = worker.peak_rss_mb(), worker.peak_rss_mb()
        monkeypatch.undo()
        now = worker.rss_mb()
        # honest: the peak, not what is resident now
        assert peak >= 96 and again == peak
        assert 0 < now < peak - 64
    finally:
        worker.kill()
        await worker.wait()
    await asyncio.sleep(0)  # the exit's callbacks close the descriptor
    assert worker.peak_rss_mb() == 0 and worker.rss_mb() == 0 and _open_on(worker.pid) == []
