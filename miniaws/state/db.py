"""The SQLite state file: one connection owned by one worker thread, WAL mode, the journal's append-only log.

Every database call is one hop to that thread. A journal batch (BEGIN, its appended rows, COMMIT) is a single
hop: with a per-statement async wrapper (aiosqlite) the same batch took four hops, which measured as the
largest cost of a persistent 1 KiB PutObject. The hop itself is two deques and two wake-ups (_Wakeup), not
an executor: concurrent.futures' locks, condition variables and future chaining cost ~55 µs of CPU per commit
(measured: a lone journal write fell from 202 to 148 µs of CPU without them).
"""
from __future__ import annotations

import asyncio
import collections
import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger("miniaws.state")

#: The journal is an append-only log: a row per committed put, a NULL value for a delete. Appending keeps every commit
#: on the b-tree's right edge: upserting random keys into a keyed table rewrote a page per row (15 random SQS message
#: rows cost ~780 µs of CPU per commit; appending them ~200 µs). Superseded rows are discarded in the background
#: and when the log is loaded.
SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    seq   INTEGER PRIMARY KEY,
    ns    TEXT NOT NULL,
    key   TEXT NOT NULL,
    value BLOB
);
"""
_APPEND = "INSERT INTO log (seq, ns, key, value) VALUES (?, ?, ?, ?)"
#: seqs discarded per DELETE statement
_DISCARD_MAX = 1000
#: batches up to this many rows are appended by one multi-row INSERT (4 parameters a row: far below SQLite's limit
#: of 32,766; the sqlite3 module's statement cache keeps one compiled statement per size)
_MULTI_ROW_MAX = 100
_MULTI_ROW_SQL: dict[int, str] = {}


def _multi_row_append(count: int) -> str:
    sql = _MULTI_ROW_SQL.get(count)
    if sql is None:
        sql = _MULTI_ROW_SQL[count] = "INSERT INTO log (seq, ns, key, value) VALUES " + ",".join(
            ["(?, ?, ?, ?)"] * count)
    return sql

#: one log row: (seq, namespace, key, value); value None records a delete
LogRow = tuple[int, str, str, bytes | None]


@dataclass
class LogState:
    """What replaying the log found: the live records and where each one is."""

    live: list[tuple[str, str, bytes]] = field(default_factory=list)  # sorted by (ns, key)
    seq_of: dict[tuple[str, str], int] = field(default_factory=dict)
    next_seq: int = 1
    discarded: int = 0


#: a call for the worker thread: the function, its arguments, and what to do on the loop with the outcome
_Job = tuple[Callable[..., Any], tuple[Any, ...], Callable[[Any, BaseException | None], None]]


#: one eventfd increment (8 bytes, native order); a pipe takes it as 8 bytes like any others
_ONE = (1).to_bytes(8, sys.byteorder)


class _Wakeup:
    """A wake-up from one thread to another that the woken side can block on or watch (fileno): an eventfd on
    Linux, a pipe elsewhere. Setting it is a system call made without the GIL, so the woken thread can run at
    once. queue.SimpleQueue and call_soon_threadsafe wake it while still holding the GIL: it was scheduled only
    to wait for the GIL, and a lone persistent PutObject took ~6 context switches instead of 2 (~15 µs of CPU)."""

    def __init__(self, blocking: bool) -> None:
        if hasattr(os, "eventfd"):
            fd = os.eventfd(0, os.EFD_CLOEXEC | (0 if blocking else os.EFD_NONBLOCK))
            self._read_fd = self._write_fd = fd
        else:
            self._read_fd, self._write_fd = os.pipe()
            os.set_blocking(self._read_fd, blocking)
            os.set_blocking(self._write_fd, False)

    def fileno(self) -> int:
        return self._read_fd

    def set(self) -> None:
        try:
            os.write(self._write_fd, _ONE)
        except BlockingIOError:  # a full pipe: its reader is woken anyway
            pass

    def consume(self) -> None:
        """Reset it; a blocking wake-up first waits until it is set."""
        try:
            os.read(self._read_fd, 65536)
        except BlockingIOError:
            pass

    def close(self) -> None:
        os.close(self._read_fd)
        if self._write_fd != self._read_fd:
            os.close(self._write_fd)


class Database:
    def __init__(self, path: Path, fsync: bool = True) -> None:
        self.path = path
        #: FULL: a commit is flushed to disk before it returns; NORMAL: written to the OS, flushed at checkpoints
        #: (config `durability`: "fsync" or "process")
        self._synchronous = "FULL" if fsync else "NORMAL"
        self._jobs: collections.deque[_Job | None] = collections.deque()
        #: finished jobs: (on_done, result, error), handed to their callers on the loop
        self._done: collections.deque[tuple[Callable[[Any, BaseException | None], None], Any,
                                            BaseException | None]] = collections.deque()
        self._job_queued: _Wakeup | None = None  # the worker sleeps on it
        self._job_done: _Wakeup | None = None  # the loop watches it
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        #: the highest seq in the log when it was opened
        self.max_seq = 0

    @property
    def flushes_commits(self) -> bool:
        """True when a commit is on disk as it returns (FULL); with NORMAL only after checkpoint_sync()."""
        return self._synchronous == "FULL"

    # -- calling into the worker ----------------------------------------------------------------
    def submit(self, fn: Callable[..., T], args: tuple[Any, ...],
               on_done: Callable[[T | None, BaseException | None], None]) -> None:
        """Run fn(*args) in the worker thread; on_done(result, error) then runs on the event loop."""
        if self._thread is None:
            self._loop = asyncio.get_running_loop()
            self._job_queued, self._job_done = _Wakeup(blocking=True), _Wakeup(blocking=False)
            self._loop.add_reader(self._job_done.fileno(), self._hand_back)
            self._thread = threading.Thread(target=self._work, args=(self._job_queued, self._job_done),
                                             name="miniaws-sqlite", daemon=True)
            self._thread.start()
        self._jobs.append((fn, args, on_done))
        assert self._job_queued is not None
        self._job_queued.set()

    def _hand_back(self) -> None:
        """On the loop: each finished job's outcome to its caller, in order."""
        assert self._job_done is not None
        self._job_done.consume()
        done = self._done
        while done:
            on_done, result, error = done.popleft()
            try:
                on_done(result, error)
            except Exception:  # one caller's failure must not strand the outcomes queued behind it
                log.exception("database job callback failed")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()

        def settle(result: T | None, error: BaseException | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)  # type: ignore[arg-type]

        self.submit(fn, args, settle)
        return await future

    def _work(self, job_queued: _Wakeup, job_done: _Wakeup) -> None:
        jobs, done = self._jobs, self._done
        while True:
            job_queued.consume()
            while jobs:
                job = jobs.popleft()
                if job is None:
                    return
                fn, args, on_done = job
                result: Any = None
                error: BaseException | None = None
                try:
                    result = fn(*args)
                except BaseException as exc:  # handed to the caller on the loop
                    error = exc
                done.append((on_done, result, error))
                job_done.set()

    # -- run in the worker thread -------------------------------------------------------------
    def open_sync(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        # one process owns the data directory (its lock file): set before WAL is entered, no shared-memory WAL
        # index and no per-transaction file locks (six fcntl calls a commit)
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before it returns, which is what lets the gateway acknowledge a write
        # only after its batch committed (one fsync per batch, ~0.25 ms here). NORMAL (durability "process"): the
        # WAL frames are written before the commit returns, so a killed process loses nothing; the machine going
        # down may lose the last commits, never the database's consistency (SQLite's WAL documentation)
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA busy_timeout=5000")
        # FAST, not the ON this SQLite build defaults to: ON zeroes and journals every freed page, which made a
        # discarded row cost 3.9 µs of CPU and 7.8 µs of wall time (measured); FAST zeroes deleted content only
        # in pages that are written anyway (1.3 µs). Bodies in the log are ciphertext either way (sse.py).
        conn.execute("PRAGMA secure_delete=FAST")
        conn.executescript(SCHEMA)
        self._conn = conn
        self._migrate_keyed_table()
        self.max_seq = int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM log").fetchone()[0])
        if not self.flushes_commits:
            # a killed process's last commits may still be only in the OS's cache: put them on disk before this
            # process builds on them (start-up removes body files they no longer reference)
            self.checkpoint_sync()

    def _migrate_keyed_table(self) -> None:
        """Data directories written before the log kept one upserted row per key in `records`: append them."""
        conn = self._require()
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'records'").fetchone() is None:
            return
        conn.execute("BEGIN")
        try:
            conn.execute("INSERT INTO log (ns, key, value) SELECT ns, key, value FROM records ORDER BY ns, key")
            conn.execute("DROP TABLE records")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def append_sync(self, rows: Sequence[LogRow]) -> None:
        """One transaction (one fsync) for the batch."""
        conn = self._require()
        if len(rows) <= _MULTI_ROW_MAX:
            # one statement is its own transaction: one step instead of BEGIN, a step per row and COMMIT
            conn.execute(_multi_row_append(len(rows)), [field for row in rows for field in row])
            return
        conn.execute("BEGIN")
        try:
            conn.executemany(_APPEND, rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def discard_sync(self, seqs: Sequence[int]) -> None:
        """Drop superseded rows. Callers pass seqs in ascending order, so a delete's row outlives the rows it
        deleted: a crash between two discards can never bring a deleted record back."""
        conn = self._require()
        # Not synced: a discard lost in a crash is redone by the next replay, and the next acknowledged commit's
        # fsync covers its WAL frames anyway (the WAL is written in order). So a discard costs CPU, not a disk
        # flush that the commits queued behind it on this thread would wait for.
        conn.execute("PRAGMA synchronous=NORMAL")
        try:
            # one statement per batch (its own transaction): a quarter cheaper than a DELETE per row
            for start in range(0, len(seqs), _DISCARD_MAX):
                batch = seqs[start:start + _DISCARD_MAX]
                conn.execute(f"DELETE FROM log WHERE seq IN ({','.join('?' * len(batch))})", batch)
        finally:
            conn.execute(f"PRAGMA synchronous={self._synchronous}")

    def load_sync(self) -> LogState:
        """Replay the log (later rows win, NULL deletes) and discard what it superseded."""
        state = LogState()
        seq_of = state.seq_of
        values: dict[tuple[str, str], bytes] = {}
        dead: list[int] = []
        for seq, ns, key, value in self._require().execute("SELECT seq, ns, key, value FROM log ORDER BY seq"):
            record = (str(ns), str(key))
            previous = seq_of.pop(record, None)
            if previous is not None:
                dead.append(previous)
                del values[record]
            if value is None:
                dead.append(seq)
            else:
                seq_of[record] = seq
                values[record] = bytes(value)
            state.next_seq = seq + 1
        if dead:
            dead.sort()
            self.discard_sync(dead)
        state.discarded = len(dead)
        state.live = [(ns, key, values[(ns, key)]) for ns, key in sorted(values)]
        return state

    def clear_sync(self) -> None:
        self._require().execute("DELETE FROM log")
        if not self.flushes_commits:
            self.checkpoint_sync()  # the caller removes every body file next

    def checkpoint_sync(self) -> None:
        """Put every commit so far on disk. With synchronous=NORMAL, SQLite syncs the WAL before a checkpoint and
        the database file after it (SQLite, PRAGMA synchronous); a PASSIVE checkpoint waits for nobody, and this
        connection is the only one (EXCLUSIVE locking)."""
        self._require().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def close_sync(self) -> None:
        if self._conn is not None:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()
            self._conn = None

    def _require(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    # -- lifecycle ----------------------------------------------------------------------------------
    async def close(self) -> None:
        await self.run(self.close_sync)
        thread, self._thread = self._thread, None
        if thread is not None:
            assert self._loop is not None and self._job_queued is not None and self._job_done is not None
            self._jobs.append(None)
            self._job_queued.set()
            await asyncio.to_thread(thread.join)
            self._loop.remove_reader(self._job_done.fileno())
            self._job_queued.close()
            self._job_done.close()


async def open_database(path: Path, fsync: bool = True) -> Database:
    db = Database(path, fsync)
    await db.run(db.open_sync)
    return db
