"""The SQLite state file: one connection owned by one worker thread, WAL mode, the keyed-journal schema.

Every database call is one hop to that thread. A journal batch (BEGIN, upserts, deletes, COMMIT) is a single
hop: with a per-statement async wrapper (aiosqlite) the same batch took four hops, which measured as the
largest cost of a persistent 1 KiB PutObject. The hop itself is a bare queue and `call_soon_threadsafe`, not
an executor: concurrent.futures' locks, condition variables and future chaining cost ~90 µs of CPU per commit
(measured), about as much as the commit's own SQLite work.
"""
from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    ns    TEXT NOT NULL,
    key   TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;
"""
_UPSERT = ("INSERT INTO records (ns, key, value) VALUES (?, ?, ?) "
           "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value")
_DELETE = "DELETE FROM records WHERE ns = ? AND key = ?"

#: a call for the worker thread: the function, its arguments, and what to do on the loop with the outcome
_Job = tuple[Callable[..., Any], tuple[Any, ...], Callable[[Any, BaseException | None], None]]


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None

    # -- calling into the worker ----------------------------------------------------------------
    def submit(self, fn: Callable[..., T], args: tuple[Any, ...],
               on_done: Callable[[T | None, BaseException | None], None]) -> None:
        """Run fn(*args) in the worker thread; on_done(result, error) then runs on the event loop."""
        if self._thread is None:
            self._loop = asyncio.get_running_loop()
            self._thread = threading.Thread(target=self._work, name="miniaws-sqlite", daemon=True)
            self._thread.start()
        self._jobs.put((fn, args, on_done))

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

    def _work(self) -> None:
        loop = self._loop
        assert loop is not None
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, args, on_done = job
            result: Any = None
            error: BaseException | None = None
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to the caller on the loop
                error = exc
            try:
                loop.call_soon_threadsafe(on_done, result, error)
            except RuntimeError:  # the loop closed while this job ran: nobody is waiting any more
                return

    # -- run in the worker thread -------------------------------------------------------------
    def open_sync(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before it returns, which is what lets the gateway acknowledge a write
        # only after its batch committed (one fsync per batch, ~0.25 ms here)
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.executescript(SCHEMA)
        self._conn = conn

    def commit_sync(self, upserts: Sequence[tuple[str, str, bytes]], deletes: Sequence[tuple[str, str]]) -> None:
        conn = self._require()
        conn.execute("BEGIN")
        try:
            if upserts:
                conn.executemany(_UPSERT, upserts)
            if deletes:
                conn.executemany(_DELETE, deletes)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def load_sync(self) -> list[tuple[str, str, bytes]]:
        rows = self._require().execute("SELECT ns, key, value FROM records ORDER BY ns, key").fetchall()
        return [(str(r[0]), str(r[1]), bytes(r[2])) for r in rows]

    def clear_sync(self) -> None:
        self._require().execute("DELETE FROM records")

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
            self._jobs.put(None)
            await asyncio.to_thread(thread.join)


async def open_database(path: Path) -> Database:
    db = Database(path)
    await db.run(db.open_sync)
    return db
