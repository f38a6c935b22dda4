"""Function logs: the platform lines in AWS's exact format and a bounded store of log events per log group.

START/END/REPORT follow https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html: fields of the REPORT
line are tab-separated, each followed by a tab; `Init Duration` appears on cold starts only, `Status` on
failures (timeout, error). LogType=Tail returns the last 4 KB of the invocation's log, base64-encoded.
"""
from __future__ import annotations

import base64
import math
import time
from collections import deque
from typing import Any

TAIL_BYTES = 4096
#: events kept per log group (oldest dropped first): enough to debug, bounded so a busy function can't grow RSS
EVENTS_PER_GROUP = 5000


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


class LogStore:
    """Log events per log group (`/aws/lambda/<name>`), each with its stream, like CloudWatch Logs keeps them."""

    def __init__(self, per_group: int = EVENTS_PER_GROUP) -> None:
        self._per_group = per_group
        self._groups: dict[str, deque[tuple[int, str, str]]] = {}

    def append(self, group: str, stream: str, message: bytes | str, timestamp_ms: int | None = None) -> None:
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        if not text:
            return
        when = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        events = self._groups.get(group)
        if events is None:
            events = self._groups[group] = deque(maxlen=self._per_group)
        for line in text.splitlines():
            events.append((when, stream, line))

    def events(self, group: str, start_ms: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        picked = [e for e in self._groups.get(group, ()) if e[0] >= start_ms]
        return [{"timestamp": t, "logStreamName": s, "message": m} for t, s, m in picked[-limit:]]

    def groups(self) -> list[str]:
        return sorted(self._groups)

    def drop(self, group: str) -> None:
        self._groups.pop(group, None)

    def clear(self) -> None:
        self._groups.clear()
