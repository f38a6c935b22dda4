"""A journal for unit tests: keeps the latest value per (namespace, key), as the SQLite journal does once committed."""
from __future__ import annotations

from collections.abc import Callable


class RecordingJournal:
    def __init__(self) -> None:
        self.write_count = 0
        self.rows: dict[tuple[str, str], bytes] = {}

    def put(self, ns: str, key: str, value: bytes) -> None:
        self.write_count += 1
        self.rows[(ns, key)] = value

    def delete(self, ns: str, key: str) -> None:
        self.write_count += 1
        self.rows.pop((ns, key), None)

    def forget(self, ns: str, key: str) -> None:
        self.write_count += 1
        self.rows.pop((ns, key), None)

    def after_commit(self, callback: Callable[[], None]) -> None:
        callback()

    async def durable(self) -> None:
        return None

    async def clear(self) -> None:
        self.rows.clear()

    async def close(self) -> None:
        return None

    def grouped(self) -> dict[str, list[tuple[str, bytes]]]:
        """The live records as a restart's replay hands them to services."""
        out: dict[str, list[tuple[str, bytes]]] = {}
        for (ns, key), value in sorted(self.rows.items()):
            out.setdefault(ns, []).append((key, value))
        return out

    def keys(self, ns: str) -> list[str]:
        return sorted(key for n, key in self.rows if n == ns)
