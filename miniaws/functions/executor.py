"""The executor seam: starting one worker process for an execution environment, without blocking the loop.

`ProcessExecutor` spawns the worker with asyncio's subprocess support, feeds its stdout/stderr to a callback
(the function's log) and reports its exit. Tests substitute a fake executor whose workers drive the
environment's Runtime API methods directly (no processes, no sockets).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("miniaws.functions")

OutputCallback = Callable[[bytes], None]
ExitCallback = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Launch:
    """How to start a worker: argv, its complete environment and working directory."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: str


class Worker(Protocol):
    pid: int

    def kill(self) -> None:
        """SIGKILL the worker (and anything it started); its exit is reported through the exit callback."""

    def peak_rss_mb(self) -> int:
        """Peak resident set size so far, in MB (what REPORT calls Max Memory Used); 0 if unknown."""

    def rss_mb(self) -> int:
        """Resident set size now, in MB (the memory watchdog compares it with MemorySize); 0 if unknown."""

    async def wait(self) -> int:
        """The exit status once the worker has exited."""


class Executor(Protocol):
    async def start(self, launch: Launch, on_output: OutputCallback, on_exit: ExitCallback) -> Worker: ...


class _OutputProtocol(asyncio.SubprocessProtocol):
    def __init__(self, on_output: OutputCallback, on_exit: ExitCallback) -> None:
        self._on_output = on_output
        self._on_exit = on_exit
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._transport: asyncio.SubprocessTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self._on_output(data)

    def process_exited(self) -> None:
        assert self._transport is not None
        code = self._transport.get_returncode()
        status = -1 if code is None else code
        if not self.exited.done():
            self.exited.set_result(status)
        try:
            self._on_exit(status)
        except Exception:  # a bookkeeping bug must not leave the transport open
            log.exception("exit callback failed")
        self._transport.close()


class ProcessWorker:
    def __init__(self, transport: asyncio.SubprocessTransport, protocol: _OutputProtocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self.pid = int(transport.get_pid())
        # Max Memory Used is read after every invocation: /proc/<pid>/status stays open and is read again from
        # offset 0, which more than halves the cost of a read (no path lookup, no open/close) and cannot read
        # another process's numbers once the pid is reused (the descriptor stays bound to this process)
        self._status = _open_proc(self.pid, "status")
        self._statm_path = f"/proc/{self.pid}/statm"
        protocol.exited.add_done_callback(self._close_status)

    def kill(self) -> None:
        if self._protocol.exited.done():
            return
        # the worker leads its own process group, so a custom runtime's children (curl, a shell) die with it
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self._transport.kill()

    def peak_rss_mb(self) -> int:
        """VmHWM of /proc/<pid>/status: the peak resident set size the kernel tracks for the process, the only
        procfs figure that is a true peak (statm has no peak; smaps_rollup costs milliseconds and takes the
        process's mmap lock). Read on the event loop: procfs renders it from in-memory counters without disk I/O
        or sleeping locks, in some 15 µs — less than handing it to a thread would cost."""
        data = _pread(self._status, 4096)
        start = data.find(b"VmHWM:")
        if start < 0:
            return 0  # no /proc, or the process is gone (a zombie has no memory figures)
        end = data.find(b"kB", start)
        try:
            return _to_mb(int(data[start + 6:end]))
        except ValueError:
            return 0

    def rss_mb(self) -> int:
        """Resident pages now, from /proc/<pid>/statm (its second field; cheaper than status): the memory
        watchdog's look, every WATCH_INTERVAL of a long invocation only, so the file is not kept open."""
        try:
            with open(self._statm_path, "rb") as fh:
                return _to_mb(int(fh.read(128).split()[1]) * _PAGE_KIB)
        except (OSError, IndexError, ValueError):
            return 0

    async def wait(self) -> int:
        return await asyncio.shield(self._protocol.exited)

    def _close_status(self, _: object) -> None:
        # after the exit there is nothing left to read (the descriptor then answers ESRCH)
        if self._status >= 0:
            os.close(self._status)
            self._status = -1


_PAGE_KIB = (os.sysconf("SC_PAGE_SIZE") // 1024) if hasattr(os, "sysconf") else 4


def _open_proc(pid: int, name: str) -> int:
    """An open descriptor on /proc/<pid>/<name>, or -1 where there is no procfs (macOS)."""
    try:
        return os.open(f"/proc/{pid}/{name}", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return -1


def _pread(fd: int, size: int) -> bytes:
    if fd < 0:
        return b""
    try:
        return os.pread(fd, size, 0)
    except OSError:  # ESRCH: the process has exited
        return b""


def _to_mb(kib: int) -> int:
    return max(1, (kib + 512) // 1024)


class ProcessExecutor:
    """Real worker processes: one per execution environment, in its own session and process group."""

    async def start(self, launch: Launch, on_output: OutputCallback, on_exit: ExitCallback) -> Worker:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.subprocess_exec(
            lambda: _OutputProtocol(on_output, on_exit), *launch.argv, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=dict(launch.env),
            cwd=launch.cwd, start_new_session=sys.platform != "win32")
        return ProcessWorker(transport, protocol)


def python_command(interpreter: str, script: str) -> Sequence[str]:
    # -u: unbuffered output, so a handler's prints reach the log before its response does
    return (interpreter, "-u", script)
