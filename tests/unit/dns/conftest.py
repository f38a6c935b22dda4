"""A Route 53 store with hosted zones built in memory, the resolver over it, and a dnslib client to ask it."""
from __future__ import annotations

import random
from typing import Any

import pytest
from dnslib import EDNS0, QTYPE, DNSHeader, DNSQuestion, DNSRecord, EDNSOption

from miniaws.dataplane.dns.locations import Locations
from miniaws.dataplane.dns.resolver import Resolver
from miniaws.services.route53.changes import apply_batch
from miniaws.services.route53.models import HostedZone, RecordSet, Route53Store
from miniaws.services.route53.names import canonical
from miniaws.state.journal import MemoryJournal

SOA = "ns-1.awsdns-01.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"


class Dns:
    """The resolver under test plus the knobs a case turns: zones, record sets, health, locations."""

    def __init__(self) -> None:
        self.store = Route53Store(MemoryJournal())
        self.down: set[str] = set()
        self.locations = Locations.from_dict({
            "subnet": [{"cidr": "10.1.0.0/16", "region": "eu-west-1"},
                       {"cidr": "10.2.0.0/16", "region": "us-west-2", "subdivision": "OR"},
                       {"cidr": "10.3.0.0/16", "region": "ap-southeast-2"}]}, "us-east-1")
        self.resolver = Resolver(self.store, lambda check: check not in self.down, self.locations,
                                 random.Random(1234))
        self.store.on_change(self.resolver.invalidate)
        self.zones: dict[str, HostedZone] = {}

    def zone(self, name: str, soa: str = SOA) -> HostedZone:
        zone_name = canonical(name)
        zone = HostedZone("Z" + str(len(self.zones) + 1).zfill(20), zone_name, name, 0.0, "000000000000",
                          ["ns-1.awsdns-01.com"])
        self.store.add_zone(zone, [RecordSet(zone_name, "SOA", 900, (soa,)),
                                   RecordSet(zone_name, "NS", 172800, ("ns-1.awsdns-01.com.",))])
        self.zones[zone_name] = zone
        return zone

    def add(self, zone: HostedZone, *rrsets: dict[str, Any], action: str = "CREATE") -> None:
        apply_batch(self.store, zone, [{"Action": action, "ResourceRecordSet": r} for r in rrsets])

    def health_down(self, *checks: str) -> None:
        self.down = set(checks)
        self.resolver.invalidate()

    def ask(self, name: str, qtype: str = "A", *, source: str = "127.0.0.1", tcp: bool = False,
            edns: int | None = None, subnet: str | None = None, rd: bool = True, do: bool = False) -> DNSRecord:
        packet = query(name, qtype, edns=edns, subnet=subnet, rd=rd, do=do)
        raw = self.resolver.handle(packet, source, tcp)
        assert raw is not None
        response = DNSRecord.parse(raw)
        assert response.header.id == DNSRecord.parse(packet).header.id
        return response


def query(name: str, qtype: str = "A", *, edns: int | None = None, subnet: str | None = None, rd: bool = True,
          do: bool = False, ident: int = 4242) -> bytes:
    record = DNSRecord(DNSHeader(id=ident, rd=int(rd)), q=DNSQuestion(name, getattr(QTYPE, qtype)))
    if edns is not None or subnet is not None:
        options = []
        if subnet is not None:
            address, prefix = subnet.split("/")
            length = int(prefix)
            octets = bytes(int(x) for x in address.split("."))[:(length + 7) // 8]
            options.append(EDNSOption(8, bytes([0, 1, length, 0]) + octets))
        record.add_ar(EDNS0(udp_len=edns or 1232, flags="do" if do else "", opts=options))
    return bytes(record.pack())


def a(name: str, *values: str, ttl: int = 60, **extra: Any) -> dict[str, Any]:
    return {"Name": name, "Type": "A", "TTL": ttl, "ResourceRecords": [{"Value": v} for v in values], **extra}


def rrset(name: str, rtype: str, *values: str, ttl: int = 60, **extra: Any) -> dict[str, Any]:
    return {"Name": name, "Type": rtype, "TTL": ttl, "ResourceRecords": [{"Value": v} for v in values], **extra}


def answers(response: DNSRecord) -> list[tuple[str, str, int, str]]:
    return [(str(rr.rname), QTYPE[rr.rtype], rr.ttl, rr.rdata.toZone()) for rr in response.rr]


@pytest.fixture
def dns() -> Dns:
    return Dns()
