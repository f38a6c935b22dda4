"""Routing policies through the resolver: weighted, failover, multivalue, latency, geolocation, alias health,
with a seeded random source and a fake health table (no sockets, no probes)."""
from __future__ import annotations

import uuid
from collections import Counter

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

from miniaws.dataplane.dns.locations import Location
from miniaws.dataplane.dns.policies import geo_rank
from miniaws.services.route53.models import HealthCheck
from tests.unit.dns.conftest import Dns, a


def check(dns: Dns) -> str:
    """A health check id the store knows (its status comes from `dns.down`)."""
    ident = str(uuid.uuid4())
    dns.store.health_checks[ident] = HealthCheck(ident, ident, {"Type": "HTTP"}, 0.0, "000000000000")
    return ident


def values(response: DNSRecord) -> list[str]:
    return [rr.rdata.toZone() for rr in response.rr if rr.rtype == QTYPE.A]


def draw(dns: Dns, name: str, times: int = 400, **kwargs: str) -> Counter[str]:
    return Counter(v for _ in range(times) for v in values(dns.ask(name, **kwargs)))


@pytest.fixture
def policy_dns(dns: Dns) -> Dns:
    dns.zone("p.test.")
    return dns


def test_weighted_follows_the_weights(policy_dns: Dns) -> None:
    zone = policy_dns.zones["p.test."]
    policy_dns.add(zone, a("w.p.test", "192.0.2.1", SetIdentifier="heavy", Weight=3),
                   a("w.p.test", "192.0.2.2", SetIdentifier="light", Weight=1),
                   a("w.p.test", "192.0.2.3", SetIdentifier="never", Weight=0))
    counts = draw(policy_dns, "w.p.test", 800)
    assert set(counts) == {"192.0.2.1", "192.0.2.2"}
    assert 2.4 < counts["192.0.2.1"] / counts["192.0.2.2"] < 3.8


def test_all_zero_weights_are_equal(policy_dns: Dns) -> None:
    zone = policy_dns.zones["p.test."]
    policy_dns.add(zone, *[a("z.p.test", f"192.0.2.{i}", SetIdentifier=f"s{i}", Weight=0) for i in range(1, 4)])
    counts = draw(policy_dns, "z.p.test", 600)
    assert set(counts) == {"192.0.2.1", "192.0.2.2", "192.0.2.3"} and min(counts.values()) > 120


def test_weighted_skips_unhealthy_and_fails_open(policy_dns: Dns) -> None:
    zone = policy_dns.zones["p.test."]
    first, second = check(policy_dns), check(policy_dns)
    policy_dns.add(zone, a("h.p.test", "192.0.2.1", SetIdentifier="one", Weight=1, HealthCheckId=first),
                   a("h.p.test", "192.0.2.2", SetIdentifier="two", Weight=1, HealthCheckId=second))
    policy_dns.health_down(first)
    assert set(draw(policy_dns, "h.p.test", 50)) == {"192.0.2.2"}
    policy_dns.health_down(first, second)  # every candidate down: answer as if all were healthy
    assert set(draw(policy_dns, "h.p.test", 100)) == {"192.0.2.1", "192.0.2.2"}


def test_weighted_answers_reproduce_with_the_same_seed() -> None:
    runs = []
    for _ in range(2):
        dns = Dns()
        zone = dns.zone("p.test.")
        dns.add(zone, a("w.p.test", "192.0.2.1", SetIdentifier="a", Weight=1),
                a("w.p.test", "192.0.2.2", SetIdentifier="b", Weight=1))
        runs.append([values(dns.ask("w.p.test"))[0] for _ in range(30)])
    assert runs[0] == runs[1] and len(set(runs[0])) == 2


def test_failover_primary_then_secondary_then_fail_open(policy_dns: Dns) -> None:
    zone = policy_dns.zones["p.test."]
    primary, secondary = check(policy_dns), check(policy_dns)
    policy_dns.add(zone, a("f.p.test", "192.0.2.10", SetIdentifier="main", Failover="PRIMARY", HealthCheckId=primary),
                   a("f.p.test", "192.0.2.20", SetIdentifier="spare", Failover="SECONDARY",
                     HealthCheckId=secondary))
    assert values(policy_dns.ask("f.p.test")) == ["192.0.2.10"]
    policy_dns.health_down(primary)
    assert values(policy_dns.ask("f.p.test")) == ["192.0.2.20"]
    policy_dns.health_down(primary, secondary)
    assert values(policy_dns.ask("f.p.test")) == ["192.0.2.10"]


def test_multivalue_returns_at_most_eight_healthy(policy_dns: Dns) -> None:
    zone = policy_dns.zones["p.test."]
    sick = check(policy_dns)
    policy_dns.add(zone, *[a("m.p.test", f"192.0.2.{i}", SetIdentifier=f"m{i}", MultiValueAnswer=True)
                           for i in range(1, 11)],
                   a("m.p.test", "192.0.2.99", SetIdentifier="sick", MultiValueAnswer=True, HealthCheckId=sick))
    policy_dns.health_down(sick)
    seen: set[str] = set()
    for _ in range(30):
        got = values(policy_dns.ask("m.p.test"))
        assert len(got) == 8 and len(set(got)) == 8 and "192.0.2.99" not in got
        seen.update(got)
    assert len(seen) == 10


LATENCY = [("10.1.5.0/24", "192.0.2.1", 16), ("10.2.0.0/24", "192.0.2.2", 16), ("10.3.9.0/24", "192.0.2.3", 16),
           ("172.16.0.0/24", "192.0.2.4", 24)]


@pytest.mark.parametrize("subnet,expected,scope", LATENCY)
def test_latency_by_client_subnet(policy_dns: Dns, subnet: str, expected: str, scope: int) -> None:
    zone = policy_dns.zones["p.test."]
    policy_dns.add(zone, a("lat.p.test", "192.0.2.1", SetIdentifier="ie", Region="eu-west-1"),
                   a("lat.p.test", "192.0.2.2", SetIdentifier="or", Region="us-west-2"),
                   a("lat.p.test", "192.0.2.3", SetIdentifier="au", Region="ap-southeast-2"),
                   a("lat.p.test", "192.0.2.4", SetIdentifier="va", Region="us-east-1"))
    response = policy_dns.ask("lat.p.test", subnet=subnet)
    assert values(response) == [expected]
    (option,) = response.ar[0].rdata
    assert option.data[3] == scope  # the table entry's prefix, or the client's own when nothing matched


def test_latency_from_the_source_address_and_the_nearest_healthy(policy_dns: Dns) -> None:
    zone = policy_dns.zones["p.test."]
    ireland = check(policy_dns)
    policy_dns.add(zone, a("lat.p.test", "192.0.2.1", SetIdentifier="ie", Region="eu-west-1", HealthCheckId=ireland),
                   a("lat.p.test", "192.0.2.5", SetIdentifier="de", Region="eu-central-1"),
                   a("lat.p.test", "192.0.2.4", SetIdentifier="va", Region="us-east-1"))
    assert values(policy_dns.ask("lat.p.test", source="10.1.0.9")) == ["192.0.2.1"]
    policy_dns.health_down(ireland)
    assert values(policy_dns.ask("lat.p.test", source="10.1.0.9")) == ["192.0.2.5"]  # Frankfurt is next nearest


def test_geolocation_most_specific_match_then_default(policy_dns: Dns) -> None:
    zone = policy_dns.zones["p.test."]
    policy_dns.add(zone, a("geo.p.test", "192.0.2.1", SetIdentifier="oregon",
                           GeoLocation={"CountryCode": "US", "SubdivisionCode": "OR"}),
                   a("geo.p.test", "192.0.2.2", SetIdentifier="us", GeoLocation={"CountryCode": "US"}),
                   a("geo.p.test", "192.0.2.3", SetIdentifier="europe", GeoLocation={"ContinentCode": "EU"}),
                   a("geo.p.test", "192.0.2.9", SetIdentifier="default", GeoLocation={"CountryCode": "*"}))
    assert values(policy_dns.ask("geo.p.test", subnet="10.2.3.0/24")) == ["192.0.2.1"]  # US / OR
    assert values(policy_dns.ask("geo.p.test", subnet="10.1.3.0/24")) == ["192.0.2.3"]  # IE is in Europe
    assert values(policy_dns.ask("geo.p.test", subnet="10.3.3.0/24")) == ["192.0.2.9"]  # AU: the default
    assert values(policy_dns.ask("geo.p.test")) == ["192.0.2.9"]  # loopback: unknown location


def test_geolocation_without_a_default_answers_nodata(policy_dns: Dns) -> None:
    zone = policy_dns.zones["p.test."]
    policy_dns.add(zone, a("eu.p.test", "192.0.2.3", SetIdentifier="europe", GeoLocation={"ContinentCode": "EU"}))
    response = policy_dns.ask("eu.p.test", subnet="10.3.0.0/24")
    assert RCODE[response.header.rcode] == "NOERROR" and response.rr == []


def test_alias_evaluate_target_health(policy_dns: Dns) -> None:
    zone = policy_dns.zones["p.test."]
    blue = check(policy_dns)
    policy_dns.add(zone, a("blue.p.test", "192.0.2.1", HealthCheckId=blue), a("green.p.test", "192.0.2.2"))
    alias = {"HostedZoneId": zone.id, "EvaluateTargetHealth": True}
    policy_dns.add(zone, {"Name": "app.p.test", "Type": "A", "SetIdentifier": "blue", "Failover": "PRIMARY",
                          "AliasTarget": {**alias, "DNSName": "blue.p.test"}},
                   {"Name": "app.p.test", "Type": "A", "SetIdentifier": "green", "Failover": "SECONDARY",
                    "AliasTarget": {**alias, "DNSName": "green.p.test"}})
    assert values(policy_dns.ask("app.p.test")) == ["192.0.2.1"]
    policy_dns.health_down(blue)
    assert values(policy_dns.ask("app.p.test")) == ["192.0.2.2"]


@pytest.mark.parametrize("geo,rank", [
    ((("CountryCode", "US"), ("SubdivisionCode", "OR")), 0), ((("CountryCode", "US"),), 1),
    ((("ContinentCode", "NA"),), 2), ((("CountryCode", "*"),), 3), ((("CountryCode", "DE"),), None),
    ((("CountryCode", "US"), ("SubdivisionCode", "CA")), None), ((("ContinentCode", "EU"),), None)])
def test_geo_rank(geo: tuple[tuple[str, str], ...], rank: int | None) -> None:
    assert geo_rank(geo, Location("us-west-2", "NA", "US", "OR")) == rank
