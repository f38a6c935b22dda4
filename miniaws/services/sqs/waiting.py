"""Long polling without polling: receivers park on a future per queue and are woken by the events that can make
a message receivable (a send, a visibility timeout or delay running out, a FIFO group unlocking).

The store reports "queue Q may have a receivable message at time T" through `signal`; a T in the past wakes one
parked receiver, a future T arms one loop timer per queue (the earliest wins). Nothing here runs while nobody
waits: without waiters a signal is one dict lookup.
"""
from __future__ import annotations

import asyncio
from collections import deque

from miniaws.core.clock import Clock
from miniaws.services.sqs.models import Queue

#: a timer fires this much after the computed instant, so the clock has surely reached it
_TIMER_SLACK = 0.001


class Waiters:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        # a clock that runs faster than real time (--time-scale) shortens the loop delays by the same factor
        self._scale = float(getattr(clock, "scale", 1.0))
        self._waiting: dict[str, deque[asyncio.Future[bool]]] = {}
        self._timers: dict[str, tuple[float, asyncio.TimerHandle]] = {}

    def signal(self, queue: Queue, when: float) -> None:
        waiting = self._waiting.get(queue.key)
        if not waiting:
            return
        if when <= self._clock.now():
            self._wake_one(queue.key)
        else:
            self._arm(queue.key, when)

    def real_seconds(self, seconds: float) -> float:
        """Loop (real) seconds for `seconds` of the injected clock's time."""
        return seconds / self._scale

    async def wait(self, queue: Queue, timeout: float) -> None:
        """Park until something may have become receivable in `queue`, or `timeout` real seconds pass.

        One bare future per waiter, resolved True by a wake-up and False by its timeout: waking it resumes the
        receiver in the next loop turn (asyncio.wait cost two more turns and three more objects per receive).
        """
        key = queue.key
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        waiting = self._waiting.get(key)
        if waiting is None:
            waiting = self._waiting[key] = deque()
        waiting.append(future)
        timer = loop.call_later(timeout, _time_out, future)
        when = queue.next_visible_at(self._clock.now())
        if when is not None:
            self._arm(key, when)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled() and future.result():
                # we were woken for a message we will never take: pass the wake-up on
                self._wake_one(key)
            raise
        finally:
            timer.cancel()
            woken = future.done() and not future.cancelled() and future.result()
            waiting = self._waiting.get(key)
            if waiting is not None:
                if not woken:
                    try:
                        waiting.remove(future)
                    except ValueError:
                        pass
                if not waiting:
                    del self._waiting[key]
                    self._disarm(key)

    def wake_all(self, key: str) -> None:
        waiting = self._waiting.get(key)
        while waiting:
            future = waiting.popleft()
            if not future.done():
                future.set_result(True)

    def close(self) -> None:
        for key in list(self._waiting):
            self.wake_all(key)
        for key in list(self._timers):
            self._disarm(key)

    def _wake_one(self, key: str) -> None:
        waiting = self._waiting.get(key)
        while waiting:
            future = waiting.popleft()
            if not future.done():
                future.set_result(True)
                return

    def _arm(self, key: str, when: float) -> None:
        armed = self._timers.get(key)
        if armed is not None:
            if armed[0] <= when:
                return
            armed[1].cancel()
        delay = max(0.0, self.real_seconds(when - self._clock.now())) + _TIMER_SLACK
        handle = asyncio.get_running_loop().call_later(delay, self._fire, key)
        self._timers[key] = (when, handle)

    def _disarm(self, key: str) -> None:
        armed = self._timers.pop(key, None)
        if armed is not None:
            armed[1].cancel()

    def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        self.wake_all(key)


def _time_out(future: asyncio.Future[bool]) -> None:
    if not future.done():
        future.set_result(False)
