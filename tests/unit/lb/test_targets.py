"""Target choice with a fake clock and a health table: round robin evenness, least outstanding requests,
fail-open, draining, slow start and stickiness cookies."""
from __future__ import annotations

import random
from collections import Counter

from miniaws.core.clock import FakeClock
from miniaws.dataplane.lb.targets import TargetPool, target_host
from miniaws.services.elbv2 import attributes
from miniaws.services.elbv2.models import Target, TargetGroup

ARN = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/tg/0123456789abcdef"


def group(ports: list[int], **attrs: str) -> TargetGroup:
    tg = TargetGroup(ARN, "tg", "000000000000", "us-east-1", "ip", "HTTP", "HTTP1", 80, "vpc-1", "ipv4",
                     {"HealthCheckEnabled": True}, {**attributes.defaults(attributes.TARGET_GROUP), **attrs})
    tg.targets = {("127.0.0.1", p): Target("127.0.0.1", p, None, 0.0) for p in ports}
    return tg


class Health:
    def __init__(self) -> None:
        self.down: set[int] = set()

    def __call__(self, key: str) -> bool:
        return int(key.rsplit("|", 1)[1]) not in self.down


def test_round_robin_is_even() -> None:
    pool = TargetPool(group([1, 2, 3]), FakeClock(), Health())
    picks = Counter(pool.choose().port for _ in range(300))  # type: ignore[union-attr]
    assert picks == {1: 100, 2: 100, 3: 100}


def test_unhealthy_targets_get_nothing_until_all_are_unhealthy() -> None:
    health = Health()
    pool = TargetPool(group([1, 2, 3]), FakeClock(), health)
    health.down = {2}
    assert {pool.choose().port for _ in range(30)} == {1, 3}  # type: ignore[union-attr]
    health.down = {1, 2, 3}  # fail open: every registered target again
    assert {pool.choose().port for _ in range(30)} == {1, 2, 3}  # type: ignore[union-attr]


def test_least_outstanding_requests() -> None:
    pool = TargetPool(group([1, 2, 3], **{"load_balancing.algorithm.type": "least_outstanding_requests"}),
                      FakeClock(), Health())
    pool.targets[("127.0.0.1", 1)].in_flight = 5
    pool.targets[("127.0.0.1", 2)].in_flight = 1
    assert pool.choose().port == 3  # type: ignore[union-attr]


def test_weighted_random_uses_every_target() -> None:
    pool = TargetPool(group([1, 2], **{"load_balancing.algorithm.type": "weighted_random"}), FakeClock(), Health(),
                      random.Random(3))
    assert {pool.choose().port for _ in range(50)} == {1, 2}  # type: ignore[union-attr]


def test_deregistered_target_drains_then_leaves() -> None:
    clock = FakeClock()
    tg = group([1, 2], **{"deregistration_delay.timeout_seconds": "30"})
    pool = TargetPool(tg, clock, Health())
    busy = pool.targets[("127.0.0.1", 1)]
    busy.in_flight = 1
    idle_key = ("127.0.0.1", 2)
    del tg.targets[("127.0.0.1", 1)]
    del tg.targets[idle_key]
    tg.targets[("127.0.0.1", 3)] = Target("127.0.0.1", 3, None, 0.0)
    pool.update(tg)
    assert idle_key not in pool.targets  # nothing in flight: gone at once, as AWS does
    assert [t.port for t in pool.draining()] == [1]
    assert {pool.choose().port for _ in range(10)} == {3}  # type: ignore[union-attr]
    clock.advance(31)
    assert pool.draining() == []


def test_draining_ends_when_requests_finish() -> None:
    tg = group([1, 2])
    pool = TargetPool(tg, FakeClock(), Health())
    live = pool.targets[("127.0.0.1", 1)]
    live.in_flight = 1
    del tg.targets[("127.0.0.1", 1)]
    pool.update(tg)
    assert live.draining
    live.in_flight = 0
    pool.expire()
    assert ("127.0.0.1", 1) not in pool.targets


def test_slow_start_ramps_a_new_target() -> None:
    clock = FakeClock()
    pool = TargetPool(group([1, 2], **{"slow_start.duration_seconds": "100"}), clock, Health(), random.Random(5))
    pool.targets[("127.0.0.1", 1)].healthy_since = clock.monotonic() - 1000
    pool.targets[("127.0.0.1", 2)].healthy_since = clock.monotonic()
    early = Counter(pool.choose().port for _ in range(1000))  # type: ignore[union-attr]
    assert early[2] < 150
    clock.advance(100)
    late = Counter(pool.choose().port for _ in range(1000))  # type: ignore[union-attr]
    assert 450 <= late[2] <= 550


def test_stickiness_cookie_round_trip() -> None:
    pool = TargetPool(group([1, 2]), FakeClock(), Health())
    live = pool.targets[("127.0.0.1", 2)]
    assert pool.from_cookie(pool.cookie_for(live)) is live
    assert pool.choose(live) is live
    assert pool.from_cookie("garbage!") is None


def test_instance_ids_stand_for_this_machine() -> None:
    assert target_host("instance", "i-0123456789abcdef0") == "127.0.0.1"
    assert target_host("instance", "localhost") == "localhost"
    assert target_host("ip", "10.0.0.1") == "10.0.0.1"
