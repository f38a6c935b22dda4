"""Long-poll parking: a signal for "now" wakes one parked receiver, a future instant arms one timer per queue,
and leaving (timeout, cancellation) cleans up after itself."""
from __future__ import annotations

import asyncio

from miniaws.core.clock import FakeClock
from miniaws.services.sqs import attributes
from miniaws.services.sqs.models import Queue
from miniaws.services.sqs.waiting import Waiters


def make_queue(name: str = "q") -> Queue:
    queue = Queue(name, "000000000000", "us-east-1", False, 0.0, 0.0, attributes.defaults(False))
    queue.configure()
    return queue


async def test_signal_now_wakes_one_waiter() -> None:
    clock = FakeClock()
    waiters = Waiters(clock)
    queue = make_queue()
    first = asyncio.ensure_future(waiters.wait(queue, 5))
    second = asyncio.ensure_future(waiters.wait(queue, 0.05))
    await asyncio.sleep(0)
    waiters.signal(queue, clock.now())
    await asyncio.wait_for(first, 1)
    assert not second.done()
    await second  # times out by itself
    assert not waiters._waiting and not waiters._timers


async def test_future_signal_arms_the_earliest_timer() -> None:
    clock = FakeClock()
    waiters = Waiters(clock)
    queue = make_queue()
    parked = asyncio.ensure_future(waiters.wait(queue, 5))
    await asyncio.sleep(0)
    waiters.signal(queue, clock.now() + 60)
    waiters.signal(queue, clock.now() + 0.01)
    assert waiters._timers[queue.key][0] == clock.now() + 0.01
    await asyncio.wait_for(parked, 1)
    assert not waiters._timers


async def test_signals_without_waiters_do_nothing() -> None:
    clock = FakeClock()
    waiters = Waiters(clock)
    waiters.signal(make_queue(), clock.now() + 10)
    assert not waiters._timers


async def test_cancelled_waiter_passes_its_wake_up_on() -> None:
    clock = FakeClock()
    waiters = Waiters(clock)
    queue = make_queue()
    doomed = asyncio.ensure_future(waiters.wait(queue, 5))
    other = asyncio.ensure_future(waiters.wait(queue, 5))
    await asyncio.sleep(0)
    waiters.signal(queue, clock.now())  # wakes `doomed`, which is cancelled before it runs
    doomed.cancel()
    await asyncio.wait_for(other, 1)


async def test_close_wakes_everyone() -> None:
    clock = FakeClock()
    waiters = Waiters(clock)
    parked = [asyncio.ensure_future(waiters.wait(make_queue(name), 5)) for name in ("a", "b")]
    await asyncio.sleep(0)
    waiters.close()
    await asyncio.wait_for(asyncio.gather(*parked), 1)
