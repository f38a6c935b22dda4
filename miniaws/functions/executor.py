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
        self._status_path = f"/proc/{self.pid}/status"

    def kill(self) -> None:
        if self._protocol.exited.done():
            return
        # the worker leads its own process group, so a custom runtime's children (curl, a shell) die with it
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self._transport.kill()

    def peak_rss_mb(self) -> int:
        return _status_mb(self._status_path, b"VmHWM:")

    def rss_mb(self) -> int:
        return _status_mb(self._status_path, b"VmRSS:")

    async def wait(self) -> int:
        return await asyncio.shield(self._protocol.exited)


def _status_mb(status_path: str, field: bytes) -> int:
    """A memory field of /proc/<pid>/status (VmHWM: the peak RSS the kernel tracks; VmRSS: now), in whole MB.
    0 where /proc is missing (macOS) or the process is gone."""
    try:
        with open(status_path, "rb") as fh:
            for line in fh:
                if line.startswith(field):
                    return max(1, (int(line.split()[1]) + 512) // 1024)
    except (OSError, ValueError, IndexError):
        pass
    return 0


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
