"""Function logs: the platform lines in AWS's exact format, and where a function's output goes — the CloudWatch Logs
store (services/logs), so the Logs API and the runtime read the same events.

START/END/REPORT follow https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html: fields of the REPORT
line are tab-separated, each followed by a tab; `Init Duration` appears on cold starts only, `Status` on
failures (timeout, error). LogType=Tail returns the last 4 KB of the invocation's log, base64-encoded.

Each execution environment writes to log group `/aws/lambda/<function>` in the function's account and region,
stream `YYYY/MM/DD/[<version>]<32 hex>` (the date the environment started), one event per line; Lambda creates
the group and the stream on first use. These lines are kept in memory only (see services/logs/store.py, which also
bounds them per group).
"""
from __future__ import annotations

import base64
import math
import time
from typing import Any

from miniaws.core.clock import RealClock
from miniaws.core.ids import hex_id
from miniaws.functions.invocation import FunctionSpec
from miniaws.services.logs.models import MESSAGE, SEQ, TS
from miniaws.services.logs.store import LogsStore
from miniaws.state.journal import MemoryJournal

TAIL_BYTES = 4096
DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"


def start_line(request_id: str, version: str) -> bytes:
    return f"START RequestId: {request_id} Version: {version}\n".encode()


def end_line(request_id: str) -> bytes:
    return f"END RequestId: {request_id}\n".encode()


def report_line(request_id: str, duration_ms: float, memory_mb: int, max_used_mb: int,
                init_ms: float | None = None, status: str | None = None, error_type: str | None = None) -> bytes:
    billed = max(1, math.ceil(duration_ms))
    parts = [f"REPORT RequestId: {request_id}", f"Duration: {duration_ms:.2f} ms", f"Billed Duration: {billed} ms",
             f"Memory Size: {memory_mb} MB", f"Max Memory Used: {max_used_mb} MB"]
    if init_ms is not None:
        parts.append(f"Init Duration: {init_ms:.2f} ms")
    if status is not None:
        parts.append(f"Status: {status}")
        if error_type:
            parts.append(f"Error Type: {error_type}")
    return ("\t".join(parts) + "\t\n").encode()


def tail(log: bytes) -> str:
    return base64.b64encode(log[-TAIL_BYTES:]).decode("ascii")


def iso_now() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


def stream_name(version: str, epoch_seconds: float) -> str:
    """An environment's log stream as Lambda names it: `2024/05/01/[$LATEST]` and 32 lowercase hex digits."""
    return f"{time.strftime('%Y/%m/%d', time.gmtime(epoch_seconds))}/[{version}]{hex_id(16)}"


def _lines(message: bytes | str) -> list[str]:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    # CloudWatch Logs has no empty events (a message is at least one character)
    return [line for line in text.splitlines() if line]


class LogStore:
    """The function runtime's view of CloudWatch Logs: which stream each execution environment writes to.

    Standalone (unit tests of the runtime) it keeps its own in-memory store; the server attaches the Logs service's
    store (`attach`), which is then the one source of truth. `account`/`region` apply to lines written without a
    function (the legacy `append`) and to reads that name only a group."""

    def __init__(self, store: LogsStore | None = None) -> None:
        self._store = store or LogsStore(MemoryJournal(), RealClock())
        self._owned = store is None
        self.account = DEFAULT_ACCOUNT
        self.region = DEFAULT_REGION
        #: execution environment id -> (account, region, group, stream)
        self._streams: dict[str, tuple[str, str, str, str]] = {}

    @property
    def store(self) -> LogsStore:
        return self._store

    def attach(self, store: LogsStore, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> None:
        self._store, self._owned = store, False
        self.account, self.region = account, region

    # -- execution environments -----------------------------------------------------------------
    def open(self, spec: FunctionSpec, env_id: str) -> str:
        """The stream of a new environment (its AWS_LAMBDA_LOG_STREAM_NAME); created with its first line."""
        name = stream_name(spec.version, self._store.clock.now())
        self._streams[env_id] = (spec.account_id, spec.region, spec.log_group, name)
        return name

    def write(self, spec: FunctionSpec, env_id: str, message: bytes | str) -> None:
        """Output of environment `env_id`, one event per line."""
        lines = _lines(message)
        if not lines:
            return
        target = self._streams.get(env_id)
        if target is None:
            self.open(spec, env_id)
            target = self._streams[env_id]
        self._store.append_lines(*target, lines)

    def close(self, env_id: str) -> None:
        """The environment is gone; its stream and events stay."""
        self._streams.pop(env_id, None)

    # -- by group name (internal endpoint, asynchronous invocation failures) --------------------
    def append(self, group: str, stream: str, message: bytes | str, timestamp_ms: int | None = None) -> None:
        self._store.append_lines(self.account, self.region, group, stream, _lines(message), timestamp_ms)

    def events(self, group: str, start_ms: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """The last `limit` events of `group` at or after `start_ms`, oldest first, from every account and region
        that has such a group (GET /_miniaws/lambda/logs/<function>)."""
        picked: list[tuple[int, int, str, str]] = []
        for found in self._store.all_groups():
            if found.name != group:
                continue
            for stream in found.streams.values():
                events = stream.events
                picked.extend((e[TS], e[SEQ], stream.name, e[MESSAGE])
                              for e in events[stream.index(start_ms):])
        picked.sort()
        return [{"timestamp": t, "logStreamName": s, "message": m} for t, _, s, m in picked[-limit:]]

    def groups(self) -> list[str]:
        return sorted({group.name for group in self._store.all_groups()})

    def drop(self, group: str) -> None:
        for found in [g for g in self._store.all_groups() if g.name == group]:
            self._store.remove_group(found)

    def clear(self) -> None:
        """Forget the environments' streams (and, when standalone, every event: an attached store is reset by the
        Logs service itself)."""
        self._streams.clear()
        if self._owned:
            self._store.reset()
