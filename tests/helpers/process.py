"""Start `python -m miniaws` as a real subprocess on a free port and stop it (tests that need a process)."""
from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

_ENDPOINT = re.compile(rb"AWS endpoint\s+(http://\S+)")


@dataclass
class ServerProcess:
    proc: subprocess.Popen[bytes]
    endpoint_url: str
    output: bytes

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


def start_server(*args: str, timeout: float = 15.0, env: dict[str, str] | None = None) -> ServerProcess:
    """Run miniaws with `args` (plus --port 0) and wait for its banner; raises with its output if it dies."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.pop("MINIAWS_CONFIG", None)
    proc = subprocess.Popen([sys.executable, "-m", "miniaws", "--port", "0", "--dns-port", "0", "--edge-port", "0", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=full_env)
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        seen += chunk
        match = _ENDPOINT.search(seen)
        if match:
            return ServerProcess(proc, match.group(1).decode(), seen)
    proc.kill()
    proc.wait(5)
    raise RuntimeError(f"miniaws did not start: {seen.decode(errors='replace')}")
