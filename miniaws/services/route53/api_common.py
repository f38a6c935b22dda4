"""What every Route 53 operation shares: the wiring (store, health monitor, the DNS resolver) and lookups."""
from __future__ import annotations

import random
import secrets
import string
from typing import Any

from miniaws.config import Config
from miniaws.core.clock import Clock
from miniaws.core.context import RequestContext
from miniaws.dataplane.dns.locations import Locations
from miniaws.dataplane.dns.resolver import Resolver
from miniaws.dataplane.health import HealthChecker
from miniaws.services.base import Service
from miniaws.services.route53._spec import SPEC
from miniaws.services.route53.errors import InvalidInput, NoSuchHealthCheck, NoSuchHostedZone
from miniaws.services.route53.healthchecks import HealthMonitor
from miniaws.services.route53.models import Change, HealthCheck, HostedZone, Route53Store
from miniaws.state.journal import Journal

_ID_ALPHABET = string.ascii_uppercase + string.digits


def resource_id(prefix: str) -> str:
    """Route 53 style ids: `Z` + 20 upper-case letters and digits for zones, `C…` for changes."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(20))


def bare_id(value: Any) -> str:
    """`/hostedzone/Z123` or `Z123` → `Z123` (botocore strips the prefix; other clients may not)."""
    return str(value or "").rsplit("/", 1)[-1]


def max_items(value: Any, default: int, ceiling: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"Invalid value for MaxItems: {value}") from None
    if number < 1:
        raise InvalidInput(f"Invalid value for MaxItems: {value}")
    return min(number, ceiling)


class Route53Base(Service):
    name = "route53"
    protocol = "rest-xml"
    spec = SPEC

    def __init__(self, config: Config, clock: Clock, journal: Journal, checker: HealthChecker) -> None:
        self.config = config
        self.clock = clock
        self.store = Route53Store(journal)
        self.monitor = HealthMonitor(self.store, checker)
        locations = Locations.load(config.dns_locations_file, config.region)
        # seeded: weighted and multivalue answers reproduce from run to run (tests, labs)
        rng = random.Random(config.dns_random_seed) if config.dns_random_seed is not None else random.Random()
        #: the DNS server's resolver (the composition root puts it behind UDP and TCP listeners)
        self.resolver = Resolver(self.store, self.monitor.healthy, locations, rng)
        self.store.on_change(self.resolver.invalidate)
        self.monitor.on_change(self.resolver.invalidate)

    # -- lifecycle ------------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        self.store.restore(rows)

    async def start(self) -> None:
        self.monitor.start()

    async def stop(self) -> None:
        self.monitor.stop()

    def reset(self) -> None:
        self.monitor.stop()
        self.store.reset()

    # -- shared lookups -------------------------------------------------------------------------
    def zone(self, ctx: RequestContext, zone_id: Any) -> HostedZone:
        ident = bare_id(zone_id)
        zone = self.store.zones.get(ident)
        if zone is None or zone.account_id != ctx.account_id:
            raise NoSuchHostedZone(f"No hosted zone found with ID: {ident}")
        return zone

    def health_check(self, ctx: RequestContext, check_id: Any) -> HealthCheck:
        ident = str(check_id or "")
        check = self.store.health_checks.get(ident)
        if check is None or check.account_id != ctx.account_id:
            raise NoSuchHealthCheck(f"A health check with id {ident} does not exist.")
        return check

    def new_change(self, ctx: RequestContext, comment: str | None = None) -> Change:
        change = Change(resource_id("C"), ctx.clock.now(), comment)
        self.store.add_change(change)
        return change
