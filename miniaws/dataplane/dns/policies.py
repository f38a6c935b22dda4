"""Routing policies: which record sets of one name and type answer a query. Pure functions, no I/O.

Rules from https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy.html and
https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-how-route-53-chooses-records.html:
unhealthy record sets are skipped; when every candidate is unhealthy Route 53 answers as if all were healthy
(fail open). Weighted: weight/sum, zero weights only when nothing else is healthy, all-zero = equal chance.
Failover: PRIMARY while healthy, else SECONDARY. Multivalue: up to eight healthy sets at random. Latency: the
lowest latency from the client's region. Geolocation: subdivision, then country, then continent, then `*`.

Health only changes between queries, so `compile_choice` does the filtering once and returns a `Chooser`
whose `pick` is all that runs per query (a random draw, or a lookup by the client's location); the resolver
keeps choosers until the zones or health change.
"""
from __future__ import annotations

import bisect
from random import Random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate

from miniaws.dataplane.dns.locations import Location
from miniaws.services.route53.models import RecordSet

#: Route 53 returns at most this many healthy records for a multivalue answer
MULTIVALUE_LIMIT = 8

Locate = Callable[[], Location]
Picked = tuple[RecordSet, ...]


class Chooser:
    """Picks the record sets that answer one query. `random`: the pick is drawn at random; `by_location`:
    it depends on where the client is (the EDNS Client Subnet scope must then be non-zero)."""

    __slots__ = ("fixed",)
    random = False
    by_location = False

    def __init__(self, fixed: Picked = ()) -> None:
        self.fixed = fixed

    def pick(self, rng: Random, locate: Locate) -> Picked:
        return self.fixed


class _Weighted(Chooser):
    __slots__ = ("pool", "bounds", "total")
    random = True

    def __init__(self, pool: list[RecordSet]) -> None:
        super().__init__()
        self.pool = pool
        weights = [c.weight or 0 for c in pool]
        self.total = sum(weights)
        self.bounds = list(accumulate(weights))

    def pick(self, rng: Random, locate: Locate) -> Picked:
        if self.total == 0:  # all-zero weights: an equal chance each
            return (self.pool[rng.randrange(len(self.pool))],)
        return (self.pool[bisect.bisect_right(self.bounds, rng.random() * self.total)],)


class _Multivalue(Chooser):
    __slots__ = ("pool",)
    random = True

    def __init__(self, pool: list[RecordSet]) -> None:
        super().__init__()
        self.pool = pool

    def pick(self, rng: Random, locate: Locate) -> Picked:
        return tuple(rng.sample(self.pool, min(len(self.pool), MULTIVALUE_LIMIT)))


class _ByLocation(Chooser):
    __slots__ = ("decide", "memo")
    by_location = True

    def __init__(self, decide: Callable[[Location], Picked]) -> None:
        super().__init__()
        self.decide = decide
        self.memo: dict[Location, Picked] = {}

    def pick(self, rng: Random, locate: Locate) -> Picked:
        location = locate()
        picked = self.memo.get(location)
        if picked is None:
            picked = self.memo[location] = self.decide(location)
        return picked


def compile_choice(candidates: Sequence[RecordSet], healthy: Callable[[RecordSet], bool],
                   latency: Callable[[str, str], float]) -> Chooser:
    """A chooser for every record set of one name and type, given the health of each right now."""
    if len(candidates) == 1 and candidates[0].set_identifier is None:
        return Chooser((candidates[0],))
    policy = candidates[0].policy
    if policy == "weighted":
        up = [c for c in candidates if healthy(c)]
        pool = [c for c in up if c.weight] or up
        if not pool:
            pool = [c for c in candidates if c.weight] or list(candidates)
        return Chooser((pool[0],)) if len(pool) == 1 else _Weighted(pool)
    if policy == "failover":
        return Chooser(_failover(candidates, healthy))
    if policy == "multivalue":
        pool = [c for c in candidates if healthy(c)] or list(candidates)
        return Chooser(tuple(pool)) if len(pool) <= 1 else _Multivalue(pool)
    if policy in ("latency", "geolocation"):
        health = {id(c): healthy(c) for c in candidates}
        if policy == "latency":
            return _ByLocation(lambda where: _latency(candidates, health, where, latency))
        return _ByLocation(lambda where: _geolocation(candidates, health, where))
    return Chooser((candidates[0],))


def _failover(candidates: Sequence[RecordSet], healthy: Callable[[RecordSet], bool]) -> Picked:
    primary = next((c for c in candidates if c.failover == "PRIMARY"), None)
    secondary = next((c for c in candidates if c.failover == "SECONDARY"), None)
    if primary is not None and healthy(primary):
        return (primary,)
    if secondary is not None and healthy(secondary):
        return (secondary,)
    return (primary or secondary or candidates[0],)


def _latency(candidates: Sequence[RecordSet], up: dict[int, bool], location: Location,
             latency: Callable[[str, str], float]) -> Picked:
    ranked = sorted(candidates, key=lambda c: (latency(location.region, c.region or ""), c.region or ""))
    return (next((c for c in ranked if up[id(c)]), ranked[0]),)


def geo_rank(geo: tuple[tuple[str, str], ...] | None, location: Location) -> int | None:
    """How specifically a GeoLocation matches the client: 0 subdivision, 1 country, 2 continent, 3 default `*`;
    None when it does not match at all."""
    fields = dict(geo or ())
    country = fields.get("CountryCode")
    if country == "*":
        return 3
    if "ContinentCode" in fields:
        return 2 if fields["ContinentCode"] == location.continent else None
    if country is None or country != location.country:
        return None
    sub = fields.get("SubdivisionCode")
    if sub is None:
        return 1
    return 0 if sub == location.subdivision else None


def _geolocation(candidates: Sequence[RecordSet], up: dict[int, bool], location: Location) -> Picked:
    matched: list[tuple[int, RecordSet]] = []
    for candidate in candidates:
        rank = geo_rank(candidate.geo, location)
        if rank is not None:
            matched.append((rank, candidate))
    if not matched:
        # no record for the client's location and no default: Route 53 answers "no answer" (NOERROR, empty)
        return ()
    matched.sort(key=lambda pair: pair[0])
    return (next((c for _, c in matched if up[id(c)]), matched[0][1]),)


@dataclass(slots=True)
class Choice:
    records: list[RecordSet]
    by_location: bool = False
    random: bool = False


def choose(candidates: Sequence[RecordSet], healthy: Callable[[RecordSet], bool], rng: Random,
           locate: Locate, latency: Callable[[str, str], float]) -> Choice:
    """One pick without keeping the chooser (tests, one-off answers)."""
    chooser = compile_choice(candidates, healthy, latency)
    return Choice(list(chooser.pick(rng, locate)), chooser.by_location, chooser.random)
