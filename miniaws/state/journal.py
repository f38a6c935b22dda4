"""The keyed journal: every model mutation is a put/delete of (namespace, key) committed in grouped batches.

Each record supersedes the previous record with the same key, so the journal never grows past the live state
and start-up replay is one scan (no separate snapshot/compaction pass is needed). All mutations made while a
commit is in flight share the next transaction: durability costs one fsync per batch, not per request.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Iterable, Protocol

from miniaws.state.db import Database

log = logging.getLogger("miniaws.state")



class Journal(Protocol):
    #: increases with every put/delete; the gateway compares it to know whether a request wrote
    write_count: int

    def put(self, ns: str, key: str, value: bytes) -> None: ...

    def delete(self, ns: str, key: str) -> None: ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once everything journaled so far is durable (e.g. unlink a replaced body file)."""

    async def durable(self) -> None:
        """Return when every mutation made so far is committed."""

    async def clear(self) -> None: ...

    async def close(self) -> None: ...


class MemoryJournal:
    """--ephemeral: nothing is written; callbacks run at once."""

    write_count = 0

    def put(self, ns: str, key: str, value: bytes) -> None:
        pass

    def delete(self, ns: str, key: str) -> None:
        pass

    def after_commit(self, callback: Callable[[], None]) -> None:
        callback()

    async def durable(self) -> None:
        return None

    async def clear(self) -> None:
        return None

    async def close(self) -> None:
        return None


class SqliteJournal:
    """Grouped-commit journal over the state database.

    Driven by callbacks, not a task: the first mutation of a loop turn schedules a flush for the end of the
    turn; the flush hands the batch to the database thread; when that commit lands, its waiters are released
    and whatever accumulated meanwhile is flushed at once as the next batch. So at most one commit is in flight
    and every request waits for at most the commit after its own mutation.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self.write_count = 0
        self._pending: dict[tuple[str, str], bytes | None] = {}
        self._pending_callbacks: list[Callable[[], None]] = []
        self._pending_done: asyncio.Future[None] | None = None
        self._inflight: asyncio.Future[None] | None = None
        self._flush_scheduled = False
        self._closed = False

    # -- writing (synchronous: called from models) -------------------------------------------------
    def put(self, ns: str, key: str, value: bytes) -> None:
        self._pending[(ns, key)] = value
        self._touch()

    def delete(self, ns: str, key: str) -> None:
        self._pending[(ns, key)] = None
        self._touch()

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._pending_callbacks.append(callback)
        self._touch(count=False)

    def _touch(self, count: bool = True) -> None:
        if count:
            self.write_count += 1
        if self._pending_done is None:
            loop = asyncio.get_running_loop()
            self._pending_done = loop.create_future()
            if self._inflight is None and not self._flush_scheduled:
                self._flush_scheduled = True
                # call_soon: everything else mutated in this loop turn joins the same transaction
                loop.call_soon(self._flush)

    async def durable(self) -> None:
        waiting = self._pending_done or self._inflight
        if waiting is not None:
            await asyncio.shield(waiting)

    def _flush(self) -> None:
        self._flush_scheduled = False
        done = self._pending_done
        if done is None or self._inflight is not None:
            return
        batch, self._pending = self._pending, {}
        callbacks, self._pending_callbacks = self._pending_callbacks, []
        self._pending_done = None
        self._inflight = done
        upserts = [(ns, key, value) for (ns, key), value in batch.items() if value is not None]
        deletes = [(ns, key) for (ns, key), value in batch.items() if value is None]

        def committed(_: None, error: BaseException | None) -> None:
            self._inflight = None
            if error is not None:  # a failed commit must fail the requests waiting on it
                log.error("journal commit failed", exc_info=error)
                if not done.done():
                    done.set_exception(error)
            else:
                for callback in callbacks:
                    try:
                        callback()
                    except Exception:
                        log.exception("after-commit callback failed")
                if not done.done():
                    done.set_result(None)
            if self._pending_done is not None:
                self._flush()

        if upserts or deletes:
            self._db.submit(self._db.commit_sync, (upserts, deletes), committed)
        else:
            committed(None, None)

    # -- reading and lifecycle ------------------------------------------------------------------
    async def load(self) -> list[tuple[str, str, bytes]]:
        return await self._db.run(self._db.load_sync)

    async def clear(self) -> None:
        await self.durable()
        self._pending.clear()
        await self._db.run(self._db.clear_sync)

    async def close(self) -> None:
        if self._closed:
            return
        await self.durable()
        self._closed = True
        await self._db.close()


def group_rows(rows: Iterable[tuple[str, str, bytes]]) -> dict[str, list[tuple[str, bytes]]]:
    grouped: dict[str, list[tuple[str, bytes]]] = {}
    for ns, key, value in rows:
        grouped.setdefault(ns, []).append((key, value))
    return grouped
