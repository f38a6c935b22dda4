"""The journal: every model mutation is a put/delete of (namespace, key), appended to a log in grouped commits.

A record supersedes the previous record with the same key. The log is append-only (cheap commits, see db.py); the
journal remembers where each live record is, and once a superseding commit is durable the rows it made obsolete
are discarded in small background batches, so the log stays close to the live state. Start-up replay is one scan.
All mutations made while a commit is in flight share the next transaction: one fsync per batch, not per request.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Iterable, Protocol

from miniaws.state.db import Database, LogRow

log = logging.getLogger("miniaws.state")

#: superseded rows wait until there are this many, then go in batches of DISCARD_BATCH (a batch of random rows
#: costs ~8 µs of the database thread's CPU per row: a few ms, queued between commits)
DISCARD_AT = 512
DISCARD_BATCH = 256

#: Under load (the batch that just committed held at least GATHER_FROM rows), the next batch gathers writes for up
#: to GATHER_SECONDS, or until it holds GATHER_ROWS, before it is flushed: fewer, larger commits. Each commit costs
#: ~0.1 ms of CPU (fsync, WAL frames) however few rows it holds, and concurrent PutObject 1 KiB went from ~5,880 to
#: ~6,030/s with it (32 connections, persistent; three runs each way). A lone writer's batch is small, so
#: its commit is never delayed.
GATHER_FROM = 16
GATHER_ROWS = 64
GATHER_SECONDS = 0.0005

#: With durability "process" a commit is in the OS's cache, not yet on disk, when it returns. Work that must not
#: outlive it on disk (unlinking the body file a commit stopped referencing) waits for the next checkpoint, which
#: syncs the log; one is run this long after such work is queued. Otherwise a power loss could bring back a record
#: whose body file was already gone.
SYNC_AFTER_SECONDS = 1.0


class Journal(Protocol):
    #: increases with every put/delete; the gateway compares it to know whether a request wrote
    write_count: int

    def put(self, ns: str, key: str, value: bytes) -> None: ...

    def delete(self, ns: str, key: str) -> None: ...

    def forget(self, ns: str, key: str) -> None:
        """Drop a record without writing a tombstone, for records that replay finds and removes by itself when they
        are no longer referenced (small bodies: BlobStore.collect_garbage). Saves a row per replaced body."""

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once everything journaled so far is on disk (e.g. unlink a replaced body file): with the
        commit that holds it, or with durability "process" after the next checkpoint."""

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

    def forget(self, ns: str, key: str) -> None:
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
        self._seq_of: dict[tuple[str, str], int] = {}
        self._next_seq = db.max_seq + 1
        self._dead: list[int] = []
        self._discarding = False
        self._forgotten: list[tuple[str, str]] = []
        self._gathering: asyncio.TimerHandle | None = None
        #: after-commit work whose commit is not on disk yet (durability "process"), and the checkpoint for it
        self._unsynced: list[Callable[[], None]] = []
        self._sync_timer: asyncio.TimerHandle | None = None
        self._syncing = False

    # -- writing (synchronous: called from models) -------------------------------------------------
    def put(self, ns: str, key: str, value: bytes) -> None:
        self._pending[(ns, key)] = value
        self._touch()

    def delete(self, ns: str, key: str) -> None:
        self._pending[(ns, key)] = None
        self._touch()

    def forget(self, ns: str, key: str) -> None:
        # a put still pending is simply not written; a committed row becomes dead once this batch is durable
        self._pending.pop((ns, key), None)
        self._forgotten.append((ns, key))
        self._touch()

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._pending_callbacks.append(callback)
        self._touch(count=False)

    def _touch(self, count: bool = True) -> None:
        if count:
            self.write_count += 1
            if self._gathering is not None and len(self._pending) >= GATHER_ROWS:
                # gathered enough: flush at the end of this loop turn (the rest of this request's writes join it)
                self._gathering.cancel()
                self._gathering = None
                asyncio.get_running_loop().call_soon(self._flush)
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
        if self._gathering is not None:
            self._gathering.cancel()
            self._gathering = None
        done = self._pending_done
        if done is None or self._inflight is not None:
            return
        batch, self._pending = self._pending, {}
        callbacks, self._pending_callbacks = self._pending_callbacks, []
        forgotten, self._forgotten = self._forgotten, []
        self._pending_done = None
        self._inflight = done
        seq = self._next_seq
        rows: list[LogRow] = []
        for (ns, key), value in batch.items():
            rows.append((seq, ns, key, value))
            seq += 1
        self._next_seq = seq

        def committed(_: None, error: BaseException | None) -> None:
            self._inflight = None
            if error is not None:  # a failed commit must fail the requests waiting on it
                log.error("journal commit failed", exc_info=error)
                if not done.done():
                    done.set_exception(error)
            else:
                self._supersede(rows)
                for record in forgotten:
                    previous = self._seq_of.pop(record, None)
                    if previous is not None:
                        self._dead.append(previous)
                if self._db.flushes_commits:
                    _run_all(callbacks)
                elif callbacks:
                    self._unsynced.extend(callbacks)
                    self._schedule_sync()
                if not done.done():
                    done.set_result(None)
            if self._pending_done is not None:
                if len(rows) >= GATHER_FROM and len(self._pending) < GATHER_ROWS and not self._closed:
                    self._flush_scheduled = True
                    self._gathering = asyncio.get_running_loop().call_later(GATHER_SECONDS, self._flush)
                else:
                    self._flush()
            elif len(self._dead) >= DISCARD_AT:
                self._discard()

        if rows:
            self._db.submit(self._db.append_sync, (rows,), committed)
        else:
            # nothing to write (only forgotten records): every earlier batch is durable (one commit in flight at a
            # time), so what stopped referencing them is too
            committed(None, None)

    def _supersede(self, rows: list[LogRow]) -> None:
        """After `rows` committed: the rows they replace are dead, and so is a delete's own row."""
        seq_of, dead = self._seq_of, self._dead
        for seq, ns, key, value in rows:
            previous = seq_of.pop((ns, key), None)
            if previous is not None:
                dead.append(previous)
            if value is None:
                dead.append(seq)
            else:
                seq_of[(ns, key)] = seq

    def _schedule_sync(self) -> None:
        if self._sync_timer is None and not self._syncing and self._unsynced and not self._closed:
            self._sync_timer = asyncio.get_running_loop().call_later(SYNC_AFTER_SECONDS, self._sync)

    def _sync(self) -> None:
        """Checkpoint, then run the after-commit work of every commit made before it."""
        self._sync_timer = None
        callbacks, self._unsynced = self._unsynced, []
        self._syncing = True

        def synced(_: None, error: BaseException | None) -> None:
            self._syncing = False
            if error is not None:
                log.error("journal checkpoint failed", exc_info=error)
                self._unsynced[:0] = callbacks
            else:
                _run_all(callbacks)
            self._schedule_sync()

        self._db.submit(self._db.checkpoint_sync, (), synced)

    def _discard(self) -> None:
        if self._discarding or self._closed:
            return
        # oldest first: a delete's own row is discarded no earlier than the row it deleted (see db.discard_sync)
        self._dead.sort()
        batch, self._dead = self._dead[:DISCARD_BATCH], self._dead[DISCARD_BATCH:]
        self._discarding = True

        def discarded(_: None, error: BaseException | None) -> None:
            self._discarding = False
            if error is not None:
                log.error("journal discard failed", exc_info=error)
                self._dead.extend(batch)
            elif len(self._dead) >= DISCARD_AT and self._pending_done is None:
                self._discard()

        self._db.submit(self._db.discard_sync, (batch,), discarded)

    # -- reading and lifecycle ------------------------------------------------------------------
    async def load(self) -> list[tuple[str, str, bytes]]:
        """Every live record, sorted by (namespace, key). Call before the first write."""
        state = await self._db.run(self._db.load_sync)
        self._seq_of = state.seq_of
        self._next_seq = max(self._next_seq, state.next_seq)
        if state.discarded:
            log.info("journal: discarded %d superseded rows", state.discarded)
        return state.live

    async def clear(self) -> None:
        await self.durable()
        self._pending.clear()
        await self._db.run(self._db.clear_sync)
        self._seq_of.clear()
        self._dead.clear()

    async def close(self) -> None:
        if self._closed:
            return
        await self.durable()
        self._closed = True
        while self._discarding or self._syncing:  # work in flight first: a clean stop leaves only live rows
            await self._db.run(lambda: None)
        if self._sync_timer is not None:
            self._sync_timer.cancel()
            self._sync_timer = None
        if self._unsynced:
            callbacks, self._unsynced = self._unsynced, []
            await self._db.run(self._db.checkpoint_sync)
            _run_all(callbacks)
        if self._dead:
            dead, self._dead = sorted(self._dead), []
            await self._db.run(self._db.discard_sync, dead)
        await self._db.close()


def _run_all(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("after-commit callback failed")


def group_rows(rows: Iterable[tuple[str, str, bytes]]) -> dict[str, list[tuple[str, bytes]]]:
    grouped: dict[str, list[tuple[str, bytes]]] = {}
    for ns, key, value in rows:
        grouped.setdefault(ns, []).append((key, value))
    return grouped
