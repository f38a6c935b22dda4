"""Origin names from the hosted zones (the Route 53 resolver in-process): A records with their TTL on the fake clock,
CNAMEs followed, names in no zone left to the system resolver."""
from __future__ import annotations

import socket

from miniaws.core.clock import FakeClock
from miniaws.dataplane.edge.names import ZoneResolver
from tests.unit.dns.conftest import Dns, a, rrset


def make() -> tuple[Dns, ZoneResolver, FakeClock]:
    dns = Dns()
    zone = dns.zone("example.test.")
    dns.add(zone, a("origin.example.test.", "192.0.2.1", ttl=30), rrset("www.example.test.", "CNAME",
                                                                           "origin.example.test."))
    clock = FakeClock()
    return dns, ZoneResolver(dns.resolver.handle, clock), clock


def test_a_records_and_their_ttl() -> None:
    dns, resolver, clock = make()
    assert resolver.lookup("origin.example.test", "A") == ["192.0.2.1"]
    dns.add(dns.zones["example.test."], a("origin.example.test.", "192.0.2.2", ttl=30), action="UPSERT")
    assert resolver.lookup("origin.example.test", "A") == ["192.0.2.1"]
    clock.advance(31)
    assert resolver.lookup("Origin.Example.Test.", "A") == ["192.0.2.2"]


def test_cnames_in_the_zone_are_followed_and_other_names_are_not_ours() -> None:
    _, resolver, _ = make()
    assert resolver.lookup("www.example.test", "A") == ["192.0.2.1"]
    assert resolver.lookup("origin.example.test", "AAAA") == []
    assert resolver.lookup("elsewhere.invalid", "A") is None


async def test_resolve_gives_aiohttp_results_for_names_in_a_zone() -> None:
    _, resolver, _ = make()
    results = await resolver.resolve("origin.example.test", 8080, socket.AF_INET)
    assert [(r["host"], r["port"], r["family"]) for r in results] == [("192.0.2.1", 8080, socket.AF_INET)]
    await resolver.close()
