"""The keyed journal: grouped commits, supersession, durability wait, replay."""
from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from miniaws.state import journal as journal_module
from miniaws.state.blobs import BlobStore
from miniaws.state.db import LogRow, open_database
from miniaws.state.journal import SqliteJournal, group_rows


async def test_put_delete_replay(tmp_path: Path) -> None:
    journal = SqliteJournal(await open_database(tmp_path / "s.db"))
    journal.put("ns", "a", b"1")
    journal.put("ns", "a", b"2")  # supersedes
    journal.put("ns", "b", b"3")
    journal.delete("ns", "b")
    journal.put("other", "c", b"4")
    await journal.durable()
    await journal.close()
    reopened = SqliteJournal(await open_database(tmp_path / "s.db"))
    rows = group_rows(await reopened.load())
    assert rows == {"ns": [("a", b"2")], "other": [("c", b"4")]}
    await reopened.close()


async def test_writes_in_one_loop_turn_share_a_commit(tmp_path: Path) -> None:
    journal = SqliteJournal(await open_database(tmp_path / "s.db"))
    commits = 0
    database = journal._db
    original = database.append_sync

    def counting(rows: Sequence[LogRow]) -> None:
        nonlocal commits
        commits += 1
        original(rows)

    database.append_sync = counting  # type: ignore[method-assign]
    for i in range(100):
        journal.put("ns", str(i), b"x")
    await journal.durable()
    assert commits == 1
    # writes made while a commit is in flight join the next batch: 2 commits, not 50
    async def writer(i: int) -> None:
        journal.put("ns", f"w{i}", b"y")
        await journal.durable()

    await asyncio.gather(*(writer(i) for i in range(50)))
    assert commits <= 3
    rows = await journal.load()
    assert len(rows) == 150
    await journal.close()


async def test_a_failed_commit_fails_its_waiters_and_the_next_batch_still_commits(tmp_path: Path) -> None:
    journal = SqliteJournal(await open_database(tmp_path / "s.db"))
    database = journal._db
    original = database.append_sync
    failures = [RuntimeError("disk full")]

    def failing_once(rows: Sequence[LogRow]) -> None:
        if failures:
            raise failures.pop()
        original(rows)

    database.append_sync = failing_once  # type: ignore[method-assign]
    journal.put("ns", "lost", b"1")
    with pytest.raises(RuntimeError, match="disk full"):
        await journal.durable()
    journal.put("ns", "kept", b"2")
    await journal.durable()
    assert [key for _, key, _ in await journal.load()] == ["kept"]
    await journal.close()


def _log_rows(path: Path) -> list[tuple[int, str, str, bytes | None]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return [(int(r[0]), r[1], r[2], r[3]) for r in conn.execute("SELECT seq, ns, key, value FROM log ORDER BY seq")]


async def test_superseded_rows_are_discarded_in_the_background_oldest_first(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "DISCARD_AT", 8)
    monkeypatch.setattr(journal_module, "DISCARD_BATCH", 4)
    database = await open_database(tmp_path / "s.db")
    discarded: list[list[int]] = []
    original = database.discard_sync

    def recording(seqs: Sequence[int]) -> None:
        discarded.append(list(seqs))
        original(seqs)

    database.discard_sync = recording  # type: ignore[method-assign]
    journal = SqliteJournal(database)
    await journal.load()
    for round_ in range(10):  # one live key rewritten 10 times, one key written and deleted each round
        journal.put("ns", "hot", str(round_).encode())
        journal.put("ns", f"gone{round_}", b"x")
        await journal.durable()
        journal.delete("ns", f"gone{round_}")
        await journal.durable()
    journal.put("ns", "last", b"!")
    await journal.durable()
    await journal.close()
    flat = [seq for batch in discarded for seq in batch]
    assert flat and all(batch == sorted(batch) for batch in discarded) and flat == sorted(flat)
    rows = _log_rows(tmp_path / "s.db")
    assert len(rows) < 31, "superseded rows were discarded while running"
    reopened = SqliteJournal(await open_database(tmp_path / "s.db"))
    assert await reopened.load() == [("ns", "hot", b"9"), ("ns", "last", b"!")]
    await reopened.close()
    # load discarded whatever was still superseded: the log holds exactly the live records now
    assert [(ns, key, value) for _, ns, key, value in _log_rows(tmp_path / "s.db")] == [
        ("ns", "hot", b"9"), ("ns", "last", b"!")]


async def test_a_delete_survives_any_prefix_of_discards(tmp_path: Path) -> None:
    """Discarding oldest first means that wherever a crash stops the discards, a deleted record stays deleted."""
    journal = SqliteJournal(await open_database(tmp_path / "s.db"))
    await journal.load()
    journal.put("ns", "k", b"old")
    await journal.durable()
    journal.put("ns", "k", b"new")
    await journal.durable()
    journal.delete("ns", "k")
    await journal.durable()
    await journal.close()
    seqs = [seq for seq, *_ in _log_rows(tmp_path / "s.db")]
    for prefix in range(len(seqs) + 1):
        copy = tmp_path / f"copy{prefix}.db"
        with contextlib.closing(sqlite3.connect(tmp_path / "s.db")) as source, \
                contextlib.closing(sqlite3.connect(copy)) as target:
            source.backup(target)
        with contextlib.closing(sqlite3.connect(copy, isolation_level=None)) as conn:
            conn.executemany("DELETE FROM log WHERE seq = ?", [(seq,) for seq in seqs[:prefix]])
        replayed = SqliteJournal(await open_database(copy))
        assert await replayed.load() == []
        await replayed.close()


async def test_a_data_directory_with_the_old_keyed_table_is_migrated(tmp_path: Path) -> None:
    with contextlib.closing(sqlite3.connect(tmp_path / "s.db", isolation_level=None)) as conn:
        conn.execute("CREATE TABLE records (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, "
                     "PRIMARY KEY (ns, key)) WITHOUT ROWID")
        conn.executemany("INSERT INTO records VALUES (?, ?, ?)", [("s3", "b/k", b"1"), ("blob", "i1", b"data")])
    journal = SqliteJournal(await open_database(tmp_path / "s.db"))
    assert await journal.load() == [("blob", "i1", b"data"), ("s3", "b/k", b"1")]
    journal.put("s3", "b/k", b"2")
    await journal.durable()
    await journal.close()
    reopened = SqliteJournal(await open_database(tmp_path / "s.db"))
    assert await reopened.load() == [("blob", "i1", b"data"), ("s3", "b/k", b"2")]
    await reopened.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "s.db")) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'records'").fetchone() is None


async def test_after_commit_runs_once_durable(tmp_path: Path) -> None:
    journal = SqliteJournal(await open_database(tmp_path / "s.db"))
    ran: list[int] = []
    journal.put("ns", "k", b"v")
    journal.after_commit(lambda: ran.append(1))
    assert ran == []
    await journal.durable()
    assert ran == [1]
    await journal.close()


async def test_blob_writer_and_garbage_collection(tmp_path: Path) -> None:
    journal = SqliteJournal(await open_database(tmp_path / "s.db"))
    blobs = BlobStore(tmp_path / "blobs", journal, inline_limit=10)
    small = blobs.put_inline(b"tiny")
    writer = blobs.open_writer()
    await asyncio.to_thread(writer.write_sync, b"a" * 100)
    big = await asyncio.to_thread(writer.finish_sync)
    assert blobs.path_of(big).read_bytes() == b"a" * 100
    assert await blobs.read(big, 10, 5) == b"aaaaa"
    assert await blobs.read_all(big) == b"a" * 100 and await blobs.read_all(small) == b"tiny"
    orphan = blobs.open_writer()
    await asyncio.to_thread(orphan.write_sync, b"never committed")
    await journal.durable()
    removed = blobs.collect_garbage({small})
    assert removed == 1 and not blobs.path_of(big).exists()
    assert not list((tmp_path / "blobs" / "tmp").iterdir())
    await journal.close()


async def test_a_forgotten_record_leaves_no_tombstone_and_its_row_is_discarded(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """BlobStore drops a replaced small body with forget(): no delete row is appended, and the body's own row goes
    with the next discards; a crash before then leaves it for replay's garbage collection."""
    monkeypatch.setattr(journal_module, "DISCARD_AT", 1)
    journal = SqliteJournal(await open_database(tmp_path / "s.db"))
    await journal.load()
    blobs = BlobStore(tmp_path / "blobs", journal, inline_limit=64)
    first = blobs.put_inline(b"first body")
    blobs.incref(first)
    await journal.durable()
    pending = blobs.put_inline(b"never committed")
    blobs.incref(pending)
    blobs.decref(pending)  # put and dropped in one turn: not written at all
    blobs.decref(first)
    second = blobs.put_inline(b"second body")
    await journal.durable()
    await journal.close()  # queued behind the discard batch the commit started
    rows = _log_rows(tmp_path / "s.db")
    assert [(key, value) for _, _, key, value in rows] == [(second, b"second body")]


async def test_a_crash_before_a_forgotten_row_is_discarded_leaves_garbage_that_replay_removes(tmp_path: Path) -> None:
    journal = SqliteJournal(await open_database(tmp_path / "s.db"))
    await journal.load()
    blobs = BlobStore(tmp_path / "blobs", journal, inline_limit=64)
    old = blobs.put_inline(b"old body")
    blobs.incref(old)
    await journal.durable()
    blobs.decref(old)
    new = blobs.put_inline(b"new body")
    await journal.durable()
    await journal._db.close()  # as a crash would: the journal's own discards never run
    assert {key for _, _, key, _ in _log_rows(tmp_path / "s.db")} == {old, new}
    reopened = SqliteJournal(await open_database(tmp_path / "s.db"))
    replayed = BlobStore(tmp_path / "blobs", reopened, inline_limit=64)
    for ns, key, value in await reopened.load():
        replayed.restore_inline(key, value)
    assert replayed.collect_garbage({new}) == 1
    assert replayed.inline(old) is None and replayed.inline(new) == b"new body"
    await reopened.durable()
    await reopened.close()
    reopened_again = SqliteJournal(await open_database(tmp_path / "s.db"))
    assert [key for _, key, _ in await reopened_again.load()] == [new]
    await reopened_again.close()


@pytest.mark.parametrize("count", [1, 2, 100, 101, 250])
async def test_a_batch_of_any_size_is_appended_whole(tmp_path: Path, count: int) -> None:
    """Up to _MULTI_ROW_MAX rows go in one multi-row INSERT, more in BEGIN/executemany/COMMIT: both replay alike."""
    journal = SqliteJournal(await open_database(tmp_path / "s.db"))
    await journal.load()
    for i in range(count):
        journal.put("ns", f"k{i:04d}", str(i).encode())
    await journal.durable()
    await journal._db.close()  # as a crash would, right after the acknowledgement
    reopened = SqliteJournal(await open_database(tmp_path / "s.db"))
    assert await reopened.load() == [("ns", f"k{i:04d}", str(i).encode()) for i in range(count)]
    await reopened.close()


async def test_discarding_more_rows_than_one_statement_takes(tmp_path: Path) -> None:
    """db.discard_sync deletes in IN-list statements of _DISCARD_MAX seqs: every one of a larger batch goes."""
    from miniaws.state import db as db_module
    database = await open_database(tmp_path / "s.db")
    count = db_module._DISCARD_MAX * 2 + 7
    await database.run(database.append_sync, [(seq, "ns", f"k{seq}", b"v") for seq in range(1, count + 11)])
    await database.run(database.discard_sync, list(range(1, count + 1)))
    await database.close()
    assert [seq for seq, *_ in _log_rows(tmp_path / "s.db")] == list(range(count + 1, count + 11))


async def test_commits_stay_synced_after_an_unsynced_discard(tmp_path: Path) -> None:
    """A discard runs with synchronous=NORMAL (replay redoes a lost one); the acknowledged commits after it must
    be FULL again, and a discard that fails leaves them so too."""
    database = await open_database(tmp_path / "s.db")

    def synchronous() -> int:
        return int(database._require().execute("PRAGMA synchronous").fetchone()[0])

    await database.run(database.append_sync, [(1, "ns", "a", b"1"), (2, "ns", "a", b"2")])
    await database.run(database.discard_sync, [1])
    assert await database.run(synchronous) == 2  # FULL
    await database.run(database._require().execute, "DROP TABLE log")
    with pytest.raises(sqlite3.OperationalError):
        await database.run(database.discard_sync, [2])
    assert await database.run(synchronous) == 2
    await database.close()


async def test_freed_pages_are_not_zeroed_with_extra_writes(tmp_path: Path) -> None:
    """secure_delete=FAST: deleted content is zeroed only in pages written anyway (this SQLite build defaults to ON,
    which doubled the WAL bytes of a discard)."""
    database = await open_database(tmp_path / "s.db")
    mode = await database.run(lambda: database._require().execute("PRAGMA secure_delete").fetchone()[0])
    await database.close()
    assert mode == 2  # FAST


async def test_a_replaced_body_file_is_unlinked_after_the_commit_and_off_the_loop(tmp_path: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch
                                                                                   ) -> None:
    import os
    import threading
    journal = SqliteJournal(await open_database(tmp_path / "s.db"))
    blobs = BlobStore(tmp_path / "blobs", journal, inline_limit=10)
    writer = blobs.open_writer()
    await asyncio.to_thread(writer.write_sync, b"a" * 100)
    big = await asyncio.to_thread(writer.finish_sync)
    blobs.incref(big)
    unlinked_in: list[str] = []
    real_unlink = os.unlink

    def recording(path: Any) -> None:
        unlinked_in.append(threading.current_thread().name)
        real_unlink(path)

    monkeypatch.setattr(os, "unlink", recording)
    journal.put("ns", "record", b"no longer references the body")
    blobs.decref(big)
    assert blobs.path_of(big).exists()  # not before the commit that dropped the reference
    await journal.durable()
    for _ in range(200):
        if not blobs.path_of(big).exists():
            break
        await asyncio.sleep(0.01)
    assert not blobs.path_of(big).exists()
    assert unlinked_in and threading.main_thread().name not in unlinked_in
    await journal.close()


def _recording_batches(journal: SqliteJournal) -> list[int]:
    batches: list[int] = []
    database = journal._db
    original = database.append_sync

    def recording(rows: Sequence[LogRow]) -> None:
        batches.append(len(rows))
        original(rows)

    database.append_sync = recording  # type: ignore[method-assign]
    return batches


async def _write_in_separate_turns(journal: SqliteJournal, prefix: str, count: int, pause: float = 0) -> None:
    for i in range(count):
        journal.put("ns", f"{prefix}{i}", b"v")
        await asyncio.sleep(pause)


async def test_under_load_the_next_batch_gathers_writes_before_it_commits(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """After a large batch, writes that trickle in share one commit instead of each starting the next one the
    moment the previous lands."""
    monkeypatch.setattr(journal_module, "GATHER_SECONDS", 1.0)
    journal = SqliteJournal(await open_database(tmp_path / "s.db"))
    batches = _recording_batches(journal)
    for i in range(journal_module.GATHER_FROM):
        journal.put("ns", f"big{i}", b"v")
    in_flight = asyncio.ensure_future(journal.durable())  # a large batch: load
    await asyncio.sleep(0)  # its flush
    journal.put("ns", "first", b"v")  # pending while the large batch commits
    await asyncio.wait_for(in_flight, 5)
    assert journal._gathering is not None  # the large batch landed: the next one gathers
    # more writes over ~0.05 s: without gathering, the first of them would have been committed alone
    await _write_in_separate_turns(journal, "trickle", 5, pause=0.01)
    await asyncio.wait_for(journal.durable(), 5)
    assert batches == [journal_module.GATHER_FROM, 6]
    await journal.close()


async def test_a_full_gathered_batch_commits_without_waiting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "GATHER_SECONDS", 30.0)  # waiting out the timer would fail the test
    journal = SqliteJournal(await open_database(tmp_path / "s.db"))
    batches = _recording_batches(journal)
    for i in range(journal_module.GATHER_FROM):
        journal.put("ns", f"big{i}", b"v")
    in_flight = asyncio.ensure_future(journal.durable())
    await asyncio.sleep(0)
    journal.put("ns", "first", b"v")
    await asyncio.wait_for(in_flight, 5)
    assert journal._gathering is not None
    await _write_in_separate_turns(journal, "fill", journal_module.GATHER_ROWS - 1)
    await asyncio.wait_for(journal.durable(), 5)  # full: committed at once, not after 30 s
    assert batches == [journal_module.GATHER_FROM, journal_module.GATHER_ROWS]
    await journal.close()


async def test_a_lone_writer_is_never_kept_waiting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "GATHER_SECONDS", 30.0)
    journal = SqliteJournal(await open_database(tmp_path / "s.db"))
    batches = _recording_batches(journal)
    for i in range(20):  # one write, then its commit, twenty times: small batches never gather
        journal.put("ns", f"k{i}", b"v")
        await asyncio.wait_for(journal.durable(), 5)
    assert batches == [1] * 20
    await journal.close()


@pytest.mark.parametrize("fsync, mode", [(True, 2), (False, 1)])  # FULL, NORMAL
async def test_durability_sets_how_commits_are_synced(tmp_path: Path, fsync: bool, mode: int) -> None:
    """Config `durability`: "fsync" flushes every commit (FULL); "process" writes it to the OS only (NORMAL), which
    a killed process does not lose. A discard (always NORMAL) hands back the configured mode."""
    database = await open_database(tmp_path / "s.db", fsync)

    def synchronous() -> int:
        return int(database._require().execute("PRAGMA synchronous").fetchone()[0])

    assert await database.run(synchronous) == mode
    await database.run(database.append_sync, [(1, "ns", "a", b"1"), (2, "ns", "a", b"2")])
    await database.run(database.discard_sync, [1])
    assert await database.run(synchronous) == mode
    await database.close()


def _rows_on_disk(directory: Path, name: str = "s.db") -> list[tuple[int, str]]:
    """The log as a power loss would leave it if only the database file had reached the disk: a copy of that file
    alone (no WAL), which holds exactly what was checkpointed, and a checkpoint is what syncs a "process" log."""
    copy = directory / "on-disk-copy.db"
    copy.write_bytes((directory / name).read_bytes())
    try:
        with contextlib.closing(sqlite3.connect(copy)) as conn:
            return [(int(seq), str(key)) for seq, key in conn.execute("SELECT seq, key FROM log ORDER BY seq")]
    finally:
        copy.unlink()


async def test_process_durability_unlinks_a_replaced_body_file_only_once_the_log_is_on_disk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A commit returns before its WAL frames are on disk. Unlinking the body file it replaced right then could
    let a power loss bring back the old record without its file, so the unlink waits for a checkpoint."""
    from miniaws.state import blobs as blobs_module
    monkeypatch.setattr(journal_module, "SYNC_AFTER_SECONDS", 0.05)
    journal = SqliteJournal(await open_database(tmp_path / "s.db", fsync=False))
    blobs = BlobStore(tmp_path / "blobs", journal, inline_limit=10)
    writer = blobs.open_writer()
    await asyncio.to_thread(writer.write_sync, b"a" * 100)
    big = await asyncio.to_thread(writer.finish_sync)
    blobs.incref(big)
    journal.put("ns", "record", b"references the body")
    await journal.durable()
    unlinked = asyncio.Event()
    on_disk_at_unlink: list[list[tuple[int, str]]] = []

    def unlink(path: Path) -> None:
        on_disk_at_unlink.append(_rows_on_disk(tmp_path))
        path.unlink()
        unlinked.set()

    monkeypatch.setattr(blobs_module, "_unlink_off_the_loop", unlink)
    journal.put("ns", "record", b"no longer references it")
    blobs.decref(big)
    await journal.durable()
    assert blobs.path_of(big).exists()  # committed, not yet on disk
    await asyncio.wait_for(unlinked.wait(), 5)
    assert not blobs.path_of(big).exists()
    assert on_disk_at_unlink == [[(1, "record"), (2, "record")]]  # the replacing row was on disk first
    await journal.close()


async def test_process_durability_puts_a_killed_process_log_on_disk_when_it_opens(tmp_path: Path) -> None:
    """A killed process's last commits may be only in the OS's cache; start-up (which then removes body files
    they stopped referencing) first puts them on disk."""
    crashed = await open_database(tmp_path / "s.db", fsync=False)
    await crashed.run(crashed.append_sync, [(1, "ns", "a", b"1"), (2, "ns", "b", b"2")])
    killed = tmp_path / "killed"
    killed.mkdir()
    for name in ("s.db", "s.db-wal"):  # the files as kill -9 leaves them: the commits in the WAL only
        (killed / name).write_bytes((tmp_path / name).read_bytes())
    await crashed.close()
    assert _rows_on_disk(killed) == []
    reopened = await open_database(killed / "s.db", fsync=False)
    assert _rows_on_disk(killed) == [(1, "a"), (2, "b")]
    await reopened.close()


async def test_process_durability_puts_a_reset_on_disk_before_body_files_go(tmp_path: Path) -> None:
    database = await open_database(tmp_path / "s.db", fsync=False)
    await database.run(database.append_sync, [(1, "ns", "a", b"1")])
    await database.run(database.checkpoint_sync)
    assert _rows_on_disk(tmp_path) == [(1, "a")]
    await database.run(database.clear_sync)
    assert _rows_on_disk(tmp_path) == []
    await database.close()


async def test_process_durability_close_runs_the_work_waiting_for_the_disk(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "SYNC_AFTER_SECONDS", 30.0)
    journal = SqliteJournal(await open_database(tmp_path / "s.db", fsync=False))
    ran: list[list[tuple[int, str]]] = []
    journal.put("ns", "k", b"v")
    journal.after_commit(lambda: ran.append(_rows_on_disk(tmp_path)))
    await journal.durable()
    assert ran == []
    await asyncio.wait_for(journal.close(), 5)
    assert ran == [[(1, "k")]]


def test_a_replaced_body_file_is_unlinked_at_once_without_a_running_loop(tmp_path: Path) -> None:
    from miniaws.state.journal import MemoryJournal
    blobs = BlobStore(tmp_path / "blobs", MemoryJournal(), inline_limit=10)
    writer = blobs.open_writer()
    writer.write_sync(b"a" * 100)
    big = writer.finish_sync()
    blobs.incref(big)
    blobs.decref(big)  # MemoryJournal runs after-commit work at once: here, outside any event loop
    assert not blobs.path_of(big).exists()


@pytest.mark.parametrize("durability", ["fsync", "process"])
async def test_the_server_fsyncs_body_files_with_either_durability(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   durability: str) -> None:
    """Also with "process": its log reaches the disk at any checkpoint, and a record must never get there before
    the body it references."""
    import os
    from miniaws.config import load_config
    from miniaws.server import Server
    server = Server(load_config(env={}, overrides={"data_dir": str(tmp_path / "data"), "durability": durability,
                                                   "port": 0, "dns_port": 0, "edge_port": 0}))
    await server.start()
    try:
        assert isinstance(server._journal, SqliteJournal) and server._blobs is not None
        assert server._journal._db.flushes_commits == (durability == "fsync")
        synced: list[int] = []
        real_fsync = os.fsync

        def recording(fd: int) -> None:
            synced.append(fd)
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", recording)
        writer = server._blobs.open_writer()
        await asyncio.to_thread(writer.write_sync, b"a" * 100)
        blob_id = await asyncio.to_thread(writer.finish_sync)
        assert server._blobs.path_of(blob_id).read_bytes() == b"a" * 100
        assert len(synced) == 2  # the file, then its directory
    finally:
        await server.stop()
