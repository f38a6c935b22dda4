"""The servers a benchmark runs against: how to find, start, probe, measure and stop each one.

Startup time is spawn → first 2xx answer to the target's probe; idle RSS is read after a short settle.
"""

from __future__ import annotations

import compileall
import functools
import http.client
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from benchmarks import procs, workloads

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ENDPOINT_RE = re.compile(rb"AWS endpoint\s+(http://\S+)")
URL_LINE_TIMEOUT_S = 10.0
PROBE_TIMEOUT_S = 30.0
SETTLE_S = 0.5


class StartFailure(Exception):
    """The target did not come up; the message says why and ends with its last log line."""


class NotInstalled(StartFailure):
    """The target's software is not available to this interpreter; the message says how to get it."""


@dataclass(frozen=True, slots=True)
class Launch:
    argv: list[str]
    probe_path: str
    url: str | None = None  # None: read "AWS endpoint http://..." from the server's stdout
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    role: str  # "subject" (what we measure), "ceiling" or "reference"
    # Returns how to launch it in a scratch directory, or a reason string when it is not installed.
    resolve: Callable[[Path], Launch | str]


def _miniaws(ephemeral: bool) -> Callable[[Path], Launch | str]:
    def resolve(workdir: Path) -> Launch | str:
        storage = ["--ephemeral"] if ephemeral else ["--data-dir", str(workdir / "miniaws-data")]
        return Launch([sys.executable, "-m", "miniaws", "--port", "0", "--dns-port", "0", "--edge-port", "0", *storage], "/_miniaws/health")

    return resolve


def _baseline(workdir: Path) -> Launch | str:
    return Launch([sys.executable, "-m", "benchmarks.baseline_server", "--port", "0"], "/")


def _baseline_fsync(workdir: Path) -> Launch | str:
    return Launch([sys.executable, "-m", "benchmarks.baseline_server", "--port", "0", "--fsync",
                   str(workdir / "baseline-fsync")], "/")


def _python_tool(module: str, needs: tuple[str, ...], env_var: str, script: str) -> list[str] | None:
    """Command for a Python server: from $env_var's interpreter, this interpreter, or a script on PATH."""
    other_python = os.environ.get(env_var)
    if other_python:
        return [other_python, "-m", module]
    if all(importlib.util.find_spec(name) is not None for name in (module, *needs)):
        return [sys.executable, "-m", module]
    found = shutil.which(script)
    return [found] if found else None


def _moto(workdir: Path) -> Launch | str:
    base = _python_tool("moto.server", ("flask", "flask_cors"), "MOTO_PYTHON", "moto_server")
    if base is None:
        return "not installed (pip install 'moto[server]')"
    port = procs.free_port()
    return Launch([*base, "-H", "127.0.0.1", "-p", str(port)], "/", url=f"http://127.0.0.1:{port}")


def _ministack(workdir: Path) -> Launch | str:
    base = _python_tool("ministack", (), "MINISTACK_PYTHON", "ministack")
    if base is None:
        return "not installed (pip install ministack, or set MINISTACK_PYTHON to a venv's python)"
    port = procs.free_port()
    env = {"GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1"}
    # ministack verifies presigned URLs against its root key, which it reads from these (default "test").
    env |= {"AWS_ACCESS_KEY_ID": workloads.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": workloads.SECRET_KEY}
    return Launch(base, "/_ministack/health", url=f"http://127.0.0.1:{port}", env=env)


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("miniaws", "subject", _miniaws(ephemeral=False)),
        Target("miniaws-ephemeral", "subject", _miniaws(ephemeral=True)),
        Target("bare-aiohttp", "ceiling", _baseline),
        Target("bare-aiohttp-fsync", "reference", _baseline_fsync),
        Target("moto", "reference", _moto),
        Target("ministack", "reference", _ministack),
    )
}


class _StdoutWatcher(threading.Thread):
    """Copies the server's stdout to its log and reports the first endpoint line.

    It keeps draining after the URL is found so a chatty server never blocks on a full pipe.
    """

    def __init__(self, stream: IO[bytes], log_path: Path) -> None:
        super().__init__(daemon=True)
        self._stream, self._log_path = stream, log_path
        self.url: str | None = None
        self.found = threading.Event()

    def run(self) -> None:
        with open(self._log_path, "ab") as log:
            for line in iter(self._stream.readline, b""):
                log.write(line)
                log.flush()
                if self.url is None and (match := ENDPOINT_RE.search(line)):
                    self.url = match.group(1).decode().rstrip("/")
                    self.found.set()
        self.found.set()


@dataclass(slots=True)
class RunningTarget:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    startup_s: float
    log_path: Path

    def rss_mib(self) -> float:
        return procs.tree_memory_mib(self.proc.pid, "VmRSS")

    def peak_rss_mib(self) -> float:
        return procs.tree_memory_mib(self.proc.pid, "VmHWM")

    def stop(self) -> int | None:
        return procs.stop(self.proc)


def _last_log_line(path: Path) -> str:
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1][:200] if lines else ""


def _wait_for_url(proc: subprocess.Popen[bytes], watcher: _StdoutWatcher, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while not watcher.found.wait(0.01):
        if proc.poll() is not None:
            break
        if time.monotonic() > deadline:
            raise StartFailure(f"no 'AWS endpoint http://…' line on stdout within {timeout:g} s")
    if watcher.url is None:
        watcher.join(1.0)  # let it copy the last lines into the log before we quote it
        raise StartFailure(f"exited with code {proc.wait()} before printing its endpoint")
    return watcher.url


def _probe_until_ok(proc: subprocess.Popen[bytes], url: str, path: str, timeout: float) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        if proc.poll() is not None:
            raise StartFailure(f"exited with code {proc.returncode} before answering {path}")
        conn = http.client.HTTPConnection(host, port, timeout=1.0)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if 200 <= response.status < 300:
                return
            last = f"HTTP {response.status}"
        except (OSError, http.client.HTTPException) as exc:
            last = f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()
        if time.monotonic() > deadline:
            raise StartFailure(f"no 2xx answer to GET {path} within {timeout:g} s (last: {last})")
        time.sleep(0.005)


@functools.cache
def _compile_project() -> None:
    """Write the project's bytecode once, as a non-editable pip install does, so no target pays for it."""
    compileall.compile_dir(str(PROJECT_ROOT / "miniaws"), quiet=1)


def start(target: Target, workdir: Path, core: int | None) -> RunningTarget:
    """Launch ``target`` pinned to ``core`` and wait for its first good answer; raises StartFailure."""
    launch = target.resolve(workdir)
    if isinstance(launch, str):
        raise NotInstalled(launch)
    log_path = workdir / f"{target.name}.log"
    env = {**os.environ, **launch.env}
    # startup is measured as a user sees it, with Python's bytecode cache in use; an environment that
    # disables it (PYTHONDONTWRITEBYTECODE) would time compiling every module on every start instead
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    _compile_project()
    with open(log_path, "ab") as log:
        began = time.perf_counter()
        reads_url = launch.url is None
        proc = procs.spawn(
            launch.argv,
            stdout=subprocess.PIPE if reads_url else log,
            stderr=log,
            env=env,
            cwd=str(PROJECT_ROOT),
        )
    # Popen returns after exec, before the interpreter could start threads, so this pins them all.
    procs.pin_process(proc.pid, core)
    try:
        if reads_url:
            assert proc.stdout is not None
            watcher = _StdoutWatcher(proc.stdout, log_path)
            watcher.start()
            url = _wait_for_url(proc, watcher, URL_LINE_TIMEOUT_S)
        else:
            assert launch.url is not None
            url = launch.url
        _probe_until_ok(proc, url, launch.probe_path, PROBE_TIMEOUT_S)
        startup_s = time.perf_counter() - began
    except BaseException as exc:
        procs.stop(proc)
        if isinstance(exc, StartFailure) and (tail := _last_log_line(log_path)):
            raise StartFailure(f"{exc} — log: {tail}") from None
        raise
    return RunningTarget(target.name, proc, url, startup_s, log_path)


#: spawn→first-answer is timed this many times per target: one start on a shared VM can be off by 2×
STARTUP_SAMPLES = 5


def startup_spread(target: Target, workdir: Path, core: int | None, first: float) -> tuple[float, float, float]:
    """(median, min, max) over `first` and STARTUP_SAMPLES - 1 more starts, each in an empty scratch directory."""
    times = [first]
    for index in range(STARTUP_SAMPLES - 1):
        scratch = workdir / f"startup-{index}"
        scratch.mkdir(exist_ok=True)
        running = start(target, scratch, core)
        times.append(running.startup_s)
        running.stop()
    return statistics.median(times), min(times), max(times)


def settle() -> None:
    time.sleep(SETTLE_S)
