"""Injected time: the real clock, a scaled clock for labs (--time-scale) and a fake clock for tests."""
from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock time, epoch seconds (what AWS timestamps show)."""

    def monotonic(self) -> float:
        """Monotonic seconds for intervals and timeouts."""


class RealClock:
    __slots__ = ()

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class ScaledClock:
    """Time that runs `scale` times faster than real time, anchored at creation (for workshop labs)."""

    __slots__ = ("scale", "_wall0", "_mono0")

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0) * self.scale

    def monotonic(self) -> float:
        return self._mono0 + (time.monotonic() - self._mono0) * self.scale


class FakeClock:
    """A clock that only moves when a test advances it."""

    __slots__ = ("_now", "_mono")

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._mono = 1000.0

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += seconds
        self._mono += seconds


def make_clock(time_scale: float) -> Clock:
    return RealClock() if time_scale == 1.0 else ScaledClock(time_scale)
