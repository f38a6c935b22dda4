"""The keyed journal: grouped commits, supersession, durability wait, replay."""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from miniaws.state.blobs import BlobStore
from miniaws.state.db import open_database
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
    original = database.commit_sync

    def counting(upserts: Sequence[tuple[str, str, bytes]], deletes: Sequence[tuple[str, str]]) -> None:
        nonlocal commits
        commits += 1
        original(upserts, deletes)

    database.commit_sync = counting  # type: ignore[method-assign]
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
    original = database.commit_sync
    failures = [RuntimeError("disk full")]

    def failing_once(upserts: Sequence[tuple[str, str, bytes]], deletes: Sequence[tuple[str, str]]) -> None:
        if failures:
            raise failures.pop()
        original(upserts, deletes)

    database.commit_sync = failing_once  # type: ignore[method-assign]
    journal.put("ns", "lost", b"1")
    with pytest.raises(RuntimeError, match="disk full"):
        await journal.durable()
    journal.put("ns", "kept", b"2")
    await journal.durable()
    assert [key for _, key, _ in await journal.load()] == ["kept"]
    await journal.close()


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
