"""A target group's targets as the data plane sees them: who may get traffic, and which one gets the next request.

Routing follows https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html:
only healthy targets get requests, except that when none is healthy the group fails open and every registered
target does; the algorithm is round_robin, least_outstanding_requests or weighted_random; a target in slow start
gets a share growing linearly over `slow_start.duration_seconds` (not while no other target is out of slow start);
a deregistered target drains — it gets no new requests and is gone when its in-flight requests are done or the
deregistration delay has passed, whichever is first. Sans-IO: time comes from the clock, health from a callable.
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate

from miniaws.core.clock import Clock
from miniaws.services.elbv2.models import TargetGroup, TargetKey

#: the smallest share a target in slow start gets (AWS starts a target "with a small share" of requests)
MIN_RAMP = 0.05


@dataclass(slots=True, eq=False)
class LiveTarget:
    key: TargetKey
    #: where requests go (ip/instance targets) or the function ARN (lambda targets)
    host: str
    port: int
    health_key: str
    in_flight: int = 0
    requests: int = 0
    #: clock.monotonic() when the target last became healthy (slow start counts from there)
    healthy_since: float | None = None
    #: clock.monotonic() deadline while draining, else None
    draining_until: float | None = None

    @property
    def draining(self) -> bool:
        return self.draining_until is not None


def target_host(target_type: str, target_id: str) -> str:
    """Where an ip or instance target is reached. Instance ids (`i-…`) name no host here: without EC2 they stand
    for this machine, so such targets are reached on 127.0.0.1; any other id is used as the host."""
    if target_type == "instance" and target_id.startswith("i-"):
        try:
            ipaddress.ip_address(target_id)
        except ValueError:
            return "127.0.0.1"
    return target_id


def health_key(tg_arn: str, key: TargetKey) -> str:
    return f"elbv2|{tg_arn}|{key[0]}|{key[1] if key[1] is not None else ''}"


def encode_cookie(*parts: str) -> str:
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def decode_cookie(value: str) -> list[str]:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode().split("|")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return []


def stickiness_cookies(name: str, value: str, seconds: int, cors: bool = True) -> list[str]:
    """Set-Cookie values for a stickiness cookie and (as ALB sends) its CORS twin with SameSite=None."""
    expires = formatdate(time.time() + seconds, usegmt=True)
    out = [f"{name}={value}; Expires={expires}; Path=/"]
    if cors:
        out.append(f"{name}CORS={value}; Expires={expires}; Path=/; SameSite=None; Secure")
    return out


class TargetPool:
    """One target group's live targets, kept in step with the store by `update`."""

    def __init__(self, tg: TargetGroup, clock: Clock, healthy: Callable[[str], bool],
                 rng: random.Random | None = None) -> None:
        self.arn = tg.arn
        self.id = tg.id
        self.clock = clock
        self._healthy = healthy
        self.rng = rng or random.Random()
        self.targets: dict[TargetKey, LiveTarget] = {}
        self._cursor = 0
        self.update(tg)

    # -- settings and membership --------------------------------------------------------------------
    def update(self, tg: TargetGroup) -> list[LiveTarget]:
        """Take the group's current settings and registrations; returns targets that left (to stop probing)."""
        attrs = tg.attributes
        self.target_type = tg.target_type
        self.protocol = tg.protocol or "HTTP"
        self.algorithm = attrs.get("load_balancing.algorithm.type", "round_robin")
        self.slow_start = float(attrs.get("slow_start.duration_seconds", "0") or 0)
        self.deregistration_delay = float(attrs.get("deregistration_delay.timeout_seconds", "300") or 0)
        self.stickiness = attrs.get("stickiness.type") if attrs.get("stickiness.enabled") == "true" else None
        self.lb_cookie_seconds = int(attrs.get("stickiness.lb_cookie.duration_seconds", "86400"))
        self.app_cookie_name = attrs.get("stickiness.app_cookie.cookie_name", "")
        self.app_cookie_seconds = int(attrs.get("stickiness.app_cookie.duration_seconds", "86400"))
        self.multi_value_headers = attrs.get("lambda.multi_value_headers.enabled") == "true"
        self.health_enabled = bool(tg.health.get("HealthCheckEnabled"))
        now = self.clock.monotonic()
        for key, target in tg.targets.items():
            live = self.targets.get(key)
            if live is None:
                port = key[1] if key[1] is not None else 0
                self.targets[key] = LiveTarget(key, target_host(tg.target_type, key[0]), port,
                                               health_key(tg.arn, key))
            elif live.draining:
                live.draining_until = None  # registered again while draining: back in service
        gone = []
        for key, live in list(self.targets.items()):
            if key in tg.targets or live.draining:
                continue
            if live.in_flight > 0 and self.deregistration_delay > 0:
                live.draining_until = now + self.deregistration_delay
            else:
                del self.targets[key]
            gone.append(live)
        return gone

    def close(self) -> list[LiveTarget]:
        """The group was deleted: forget every target."""
        gone = list(self.targets.values())
        self.targets.clear()
        return gone

    def expire(self) -> None:
        """Finish draining targets whose requests are done or whose delay has passed."""
        now = None
        for key, live in list(self.targets.items()):
            if live.draining_until is None:
                continue
            now = self.clock.monotonic() if now is None else now
            if live.in_flight <= 0 or now >= live.draining_until:
                del self.targets[key]

    def draining(self) -> list[LiveTarget]:
        self.expire()
        return [t for t in self.targets.values() if t.draining]

    def became_healthy(self, key: str) -> None:
        for live in self.targets.values():
            if live.health_key == key:
                live.healthy_since = self.clock.monotonic()

    # -- routing ------------------------------------------------------------------------------------
    def healthy(self, live: LiveTarget) -> bool:
        return not self.health_enabled or self._healthy(live.health_key)

    def routable(self) -> list[LiveTarget]:
        """Healthy targets in registration order; every registered target when none is healthy (fail-open)."""
        serving = [t for t in self.targets.values() if t.draining_until is None]
        healthy = [t for t in serving if self.healthy(t)]
        return healthy or serving

    def find(self, key: TargetKey) -> LiveTarget | None:
        live = self.targets.get(key)
        return live if live is not None and not live.draining else None

    def _ramp(self, live: LiveTarget, now: float) -> float:
        if self.slow_start <= 0 or live.healthy_since is None:
            return 1.0
        return max(MIN_RAMP, min(1.0, (now - live.healthy_since) / self.slow_start))

    def choose(self, sticky: LiveTarget | None = None) -> LiveTarget | None:
        """The target for the next request (a sticky target while it may still get traffic)."""
        candidates = self.routable()
        if not candidates:
            return None
        if sticky is not None and sticky in candidates:
            return sticky
        if len(candidates) == 1:
            return candidates[0]
        ramps: list[float] | None = None
        if self.slow_start > 0:
            now = self.clock.monotonic()
            ramps = [self._ramp(t, now) for t in candidates]
            if min(ramps) >= 1.0 or max(ramps) < 1.0:
                ramps = None  # nobody, or everybody, is in slow start
        algorithm = self.algorithm
        if algorithm == "least_outstanding_requests":
            start = self._cursor % len(candidates)
            self._cursor += 1
            order = candidates[start:] + candidates[:start]
            if ramps is None:
                return min(order, key=lambda t: t.in_flight)
            shares = dict(zip(map(id, candidates), ramps))
            return min(order, key=lambda t: (t.in_flight + 1) / shares[id(t)])
        if algorithm == "weighted_random":
            return self.rng.choices(candidates, weights=ramps)[0] if ramps else self.rng.choice(candidates)
        # round robin; a target in slow start takes its turn with a probability equal to its share
        for _ in range(len(candidates)):
            index = self._cursor % len(candidates)
            self._cursor += 1
            if ramps is None or self.rng.random() < ramps[index]:
                return candidates[index]
        return candidates[self._cursor % len(candidates)]

    # -- stickiness cookies -------------------------------------------------------------------------
    def cookie_for(self, live: LiveTarget) -> str:
        return encode_cookie(self.id, live.key[0], str(live.key[1] if live.key[1] is not None else ""))

    def from_cookie(self, value: str | None) -> LiveTarget | None:
        if not value:
            return None
        parts = decode_cookie(value)
        if len(parts) != 3 or parts[0] != self.id:
            return None
        port = int(parts[2]) if parts[2].isdigit() else None
        return self.find((parts[1], port))
