"""Target health through the shared checker: a new target turns healthy after one passing check; a killed target
turns unhealthy within interval × threshold and gets no more requests; a wrong status code is a
ResponseCodeMismatch; when every target is unhealthy the load balancer fails open; a target recovers."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from miniaws.server import ServerThread
from tests.dataplane.lb_support import Backend, forward, listener_url, load_balancer, request, states, target_group


@pytest.fixture
def make_backend(server: ServerThread) -> Iterator[Any]:
    """Backends that are stopped after the test, however it ends."""
    made: list[Backend] = []

    def make(name: str) -> Backend:
        made.append(Backend(server, name).start())
        return made[-1]

    yield make
    for backend in made:
        backend.stop()


def wait_for(check: Any, timeout: float = 10.0) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)
    return time.monotonic() - started


def health(elb: Any, tg: str) -> dict[int, dict[str, str]]:
    return {d["Target"]["Port"]: d["TargetHealth"]
            for d in elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]}


def test_killed_target_leaves_the_rotation(server: ServerThread, elb: Any, make_backend: Any) -> None:
    backends = [make_backend(name) for name in ("a", "b", "c")]
    tg = target_group(elb, backends)  # every 10 s × 0.01 = 0.1 s, 2 failures to turn unhealthy
    _, listener = load_balancer(elb, forward(tg))
    url = listener_url(server.endpoint_url, listener)
    assert set(states(elb, tg).values()) <= {"initial", "healthy"}
    wait_for(lambda: set(states(elb, tg).values()) == {"healthy"}, timeout=2)
    victim = backends[1]
    victim.stop()
    took = wait_for(lambda: states(elb, tg)[victim.port] == "unhealthy")
    assert took < 1.0  # interval × threshold is 0.2 s here (plus a probe's connect time)
    assert health(elb, tg)[victim.port] == {"State": "unhealthy", "Reason": "Target.FailedHealthChecks",
                                            "Description": "Health checks failed"}
    replies = [request(url) for _ in range(60)]
    assert all(r.status == 200 for r in replies)  # no more errors once it is out
    assert {r.backend for r in replies} == {"a", "c"}


def test_status_mismatch_fail_open_and_recovery(server: ServerThread, elb: Any, make_backend: Any) -> None:
    backends = [make_backend(name) for name in ("d", "e")]
    tg = target_group(elb, backends, Matcher={"HttpCode": "200-299"})
    _, listener = load_balancer(elb, forward(tg))
    url = listener_url(server.endpoint_url, listener)
    wait_for(lambda: set(states(elb, tg).values()) == {"healthy"})
    backends[0].health_status = 503
    wait_for(lambda: states(elb, tg)[backends[0].port] == "unhealthy")
    assert health(elb, tg)[backends[0].port] == {"State": "unhealthy", "Reason": "Target.ResponseCodeMismatch",
                                                 "Description": "Health checks failed with these codes: [503]"}
    assert {request(url).backend for _ in range(10)} == {"e"}
    backends[1].health_status = 404
    wait_for(lambda: set(states(elb, tg).values()) == {"unhealthy"})
    # every target unhealthy: ALB routes to all of them (fail-open) rather than answer 503
    assert {request(url).backend for _ in range(10)} == {"d", "e"}
    backends[0].health_status = 200
    wait_for(lambda: states(elb, tg)[backends[0].port] == "healthy")  # HealthyThresholdCount (2) passing checks
    assert {request(url).backend for _ in range(10)} == {"d"}


def test_unused_groups_are_not_probed_and_modify_changes_the_probe(server: ServerThread, elb: Any,
                                                                   make_backend: Any) -> None:
    backend = make_backend("f")
    backend.health_status = 404
    tg = target_group(elb, [backend])
    time.sleep(0.2)
    assert health(elb, tg)[backend.port]["State"] == "unused"
    _, listener = load_balancer(elb, forward(tg))
    wait_for(lambda: states(elb, tg)[backend.port] == "unhealthy")
    elb.modify_target_group(TargetGroupArn=tg, Matcher={"HttpCode": "404"})
    wait_for(lambda: states(elb, tg)[backend.port] == "healthy")
    elb.delete_listener(ListenerArn=listener)
    assert health(elb, tg)[backend.port]["State"] == "unused"
