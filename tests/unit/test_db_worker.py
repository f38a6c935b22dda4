"""The database worker's hand-off: wake-ups that never make the woken thread wait for the GIL, jobs in order."""
from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest

from miniaws.state import db as db_module
from miniaws.state.db import open_database


@pytest.fixture(params=["eventfd", "pipe"])
def wakeup_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "pipe":  # what platforms without eventfd (macOS) get
        monkeypatch.delattr(os, "eventfd", raising=False)
    elif not hasattr(os, "eventfd"):
        pytest.skip("no eventfd on this platform")
    return str(request.param)


def test_a_polled_wakeup_is_cleared_by_one_consume_and_never_blocks(wakeup_kind: str) -> None:
    wakeup = db_module._Wakeup(blocking=False)
    try:
        wakeup.consume()  # not set: returns at once
        for _ in range(20_000):  # more than a pipe holds: setting never blocks
            wakeup.set()
        readable = _readable(wakeup.fileno())
        wakeup.consume()
        assert readable and not _readable(wakeup.fileno())
    finally:
        wakeup.close()


def test_a_blocking_wakeup_waits_for_a_set_from_another_thread(wakeup_kind: str) -> None:
    wakeup = db_module._Wakeup(blocking=True)
    woke = threading.Event()

    def waiter() -> None:
        wakeup.consume()
        woke.set()

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    try:
        assert not woke.wait(0.05)
        wakeup.set()
        assert woke.wait(5)
    finally:
        thread.join(5)
        wakeup.close()


async def test_jobs_queued_while_the_worker_runs_are_all_done_in_order(tmp_path: Path, wakeup_kind: str) -> None:
    """No wake-up is lost: jobs submitted while the worker is busy (and between its drain and its next wait)
    still run, in submission order, each outcome handed back on the loop."""
    database = await open_database(tmp_path / "s.db")
    loop = asyncio.get_running_loop()
    ran: list[int] = []
    outcomes: list[tuple[int, bool]] = []
    all_done = loop.create_future()
    count = 2_000

    def job(i: int) -> int:
        ran.append(i)
        if i % 7 == 0:
            raise ValueError(i)
        return i

    def on_done(result: int | None, error: BaseException | None) -> None:
        assert threading.current_thread() is threading.main_thread()
        outcomes.append((result if error is None else int(str(error)), error is None))
        if len(outcomes) == count:
            all_done.set_result(None)

    for i in range(count):
        database.submit(job, (i,), on_done)
        if i % 97 == 0:
            await asyncio.sleep(0)
    await asyncio.wait_for(all_done, 10)
    assert ran == list(range(count))
    assert outcomes == [(i, i % 7 != 0) for i in range(count)]
    await database.close()


def _readable(fd: int) -> bool:
    import select
    return bool(select.select([fd], [], [], 0)[0])


async def test_a_failing_callback_does_not_strand_the_outcomes_behind_it(tmp_path: Path,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    database = await open_database(tmp_path / "s.db")
    loop = asyncio.get_running_loop()
    second = loop.create_future()

    def failing(result: object, error: BaseException | None) -> None:
        raise RuntimeError("caller bug")

    # both finish before the loop looks: their outcomes are handed back in one go
    database.submit(lambda: 1, (), failing)
    database.submit(lambda: 2, (), lambda result, error: second.set_result(result))
    time.sleep(0.2)  # holds the loop on purpose: the worker finishes both jobs before the loop hands any back
    assert await asyncio.wait_for(second, 2) == 2
    assert "database job callback failed" in caplog.text
    await database.close()
