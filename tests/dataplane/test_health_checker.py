"""The shared health checker (dataplane/health.py): thresholds in both directions, listeners, re-registration,
with a scripted prober; and real HTTP probes against an aiohttp server on loopback."""
from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from miniaws.core.clock import FakeClock
from miniaws.dataplane.health import HealthChecker, ProbeSpec


class Script:
    """A prober whose results the test sets; records how often it ran."""

    def __init__(self) -> None:
        self.ok = True
        self.calls = 0

    async def __call__(self, spec: ProbeSpec, timeout: float) -> tuple[bool, str]:
        self.calls += 1
        return self.ok, "scripted"


async def until(predicate: Any, timeout: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


SPEC = ProbeSpec("HTTP", "127.0.0.1", 1, interval=1.0, failure_threshold=3, healthy_threshold=2)


async def test_status_flips_only_after_consecutive_results() -> None:
    script = Script()
    clock = FakeClock()
    checker = HealthChecker(clock, interval_scale=0.01, prober=script)
    flips: list[tuple[str, bool]] = []
    checker.subscribe(lambda key, healthy: flips.append((key, healthy)))
    checker.register("t", SPEC)
    await until(lambda: script.calls >= 2)
    status = checker.status("t")
    assert status is not None and status.healthy and status.last is not None
    assert status.last.checked_at == clock.now()  # time stamps come from the injected clock
    script.ok = False
    await until(lambda: checker.status("t").failures >= 2)  # type: ignore[union-attr]
    assert checker.is_healthy("t") and flips == []
    await until(lambda: not checker.is_healthy("t"))
    assert flips == [("t", False)] and checker.status("t").failures == 3  # type: ignore[union-attr]
    script.ok = True
    await until(lambda: checker.is_healthy("t"))
    assert flips == [("t", False), ("t", True)]
    await checker.close()


async def test_reregistering_keeps_status_and_unregister_stops_probing() -> None:
    script = Script()
    script.ok = False
    checker = HealthChecker(FakeClock(), interval_scale=0.01, prober=script)
    checker.register("t", SPEC)
    await until(lambda: not checker.is_healthy("t"))
    checker.register("t", ProbeSpec("HTTP", "127.0.0.1", 1, interval=2.0, failure_threshold=5))
    assert not checker.is_healthy("t")  # same endpoint, new thresholds: the status carries over
    checker.unregister("t")
    calls = script.calls
    await asyncio.sleep(0.1)
    assert script.calls == calls and checker.status("t") is None and checker.is_healthy("t")
    await checker.close()


async def test_real_http_probes(aiohttp_server: Any) -> None:
    state = {"status": 200}

    async def handler(request: web.Request) -> web.Response:
        assert request.headers["Host"] == "app.example.test"
        return web.Response(status=state["status"], text="ready" if state["status"] == 200 else "busy")

    app = web.Application()
    app.router.add_get("/health", handler)
    server = await aiohttp_server(app)
    checker = HealthChecker(FakeClock(), interval_scale=0.01)
    checker.register("web", ProbeSpec("HTTP", "127.0.0.1", server.port, "/health", host_header="app.example.test",
                                      search=b"ready", interval=1.0, failure_threshold=1, healthy_threshold=1))
    await until(lambda: (s := checker.status("web")) is not None and s.last is not None)
    assert checker.status("web").last.detail == "HTTP Status Code 200, OK"  # type: ignore[union-attr]
    state["status"] = 500
    await until(lambda: not checker.is_healthy("web"))
    assert checker.status("web").last_failure.detail == "HTTP Status Code 500, Internal Server Error"  # type: ignore[union-attr]
    await checker.close()
