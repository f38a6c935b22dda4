"""Process plumbing for benchmarks: CPU pinning, RSS, free ports, and stopping what we started.

Every subprocess a benchmark spawns is registered here, so an atexit hook (and SIGTERM turned into
SystemExit) kills whatever a crash or Ctrl-C left running.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

_LIVE: set[subprocess.Popen[bytes]] = set()


@dataclass(frozen=True, slots=True)
class CpuPlan:
    """Which core the server and the load client get; None when there are too few to split."""

    server: int | None
    client: int | None

    @property
    def pinned(self) -> bool:
        return self.server is not None

    def describe(self) -> str:
        if not self.pinned:
            return "not pinned (fewer than 2 usable cores): numbers mix server and client CPU"
        return f"server pinned to core {self.server}, load client (and harness) to core {self.client}"


def plan_cpus() -> CpuPlan:
    if not hasattr(os, "sched_getaffinity"):
        return CpuPlan(None, None)
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return CpuPlan(None, None)
    return CpuPlan(cores[0], cores[1])


def pin_self(core: int | None) -> None:
    if core is not None:
        os.sched_setaffinity(0, {core})


def pin_process(pid: int, core: int | None) -> None:
    """Pin every thread of ``pid`` to ``core``; threads it starts later inherit the mask."""
    if core is None:
        return
    try:
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        tids = [pid]
    for tid in tids:
        with contextlib.suppress(OSError):  # the thread (or process) already exited
            os.sched_setaffinity(tid, {core})


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        with contextlib.suppress(OSError):
            found += [int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
    return found


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_memory_mib(pid: int, field: str = "VmRSS") -> float:
    """Sum of ``field`` (VmRSS or VmHWM) over ``pid`` and its descendants, in MiB."""
    total, todo, seen = 0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        total += _status_kib(current, field)
        todo += _children(current)
    return total / 1024


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its live descendants."""
    ticks, todo, seen = 0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rpartition(")")[2].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
        todo += _children(current)
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy (steal included) since boot, from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have been waited for."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def spawn(
    argv: list[str],
    *,
    stdout: int | IO[bytes] | None,
    stderr: int | IO[bytes] | None,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
) -> subprocess.Popen[bytes]:
    # start_new_session: a Ctrl-C in the terminal reaches only the harness, which then stops the
    # servers in order instead of racing them.
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env, cwd=cwd, start_new_session=True
    )
    _LIVE.add(proc)
    return proc


def stop(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> int | None:
    """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
    try:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
    finally:
        _LIVE.discard(proc)
    return proc.returncode


def _kill_all() -> None:
    for proc in list(_LIVE):
        with contextlib.suppress(Exception):  # best effort at interpreter exit
            stop(proc, timeout=2.0)


def _sigterm_to_exit(signum: int, frame: object) -> None:
    sys.exit(128 + signum)


def install_cleanup() -> None:
    """Make SIGTERM run finally-blocks and atexit, and kill every registered subprocess at exit."""
    atexit.register(_kill_all)
    signal.signal(signal.SIGTERM, _sigterm_to_exit)
