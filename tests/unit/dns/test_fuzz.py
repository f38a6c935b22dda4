"""Hostile input: random bytes and mutations of valid queries never raise out of the resolver, always get a
reply carrying their own id (or are dropped), and leave it answering normally."""
from __future__ import annotations

import random

from dnslib import RCODE, DNSRecord

from tests.unit.dns.conftest import Dns, a, query


def test_random_and_mutated_packets(dns: Dns) -> None:
    zone = dns.zone("fuzz.test.")
    dns.add(zone, a("www.fuzz.test", "192.0.2.1"))
    rng = random.Random(99)
    seeds = [query("www.fuzz.test"), query("www.fuzz.test", "TXT", edns=4096, subnet="10.1.2.0/24"),
             query("nope.fuzz.test", "AAAA", edns=512)]
    packets: list[bytes] = [rng.randbytes(rng.randrange(0, 80)) for _ in range(1500)]
    for _ in range(3000):
        packet = bytearray(rng.choice(seeds))
        for _ in range(rng.randrange(1, 6)):
            what = rng.randrange(4)
            if what == 0 and packet:
                packet[rng.randrange(len(packet))] = rng.randrange(256)
            elif what == 1 and packet:
                del packet[rng.randrange(len(packet)):]
            elif what == 2:
                packet.insert(rng.randrange(len(packet) + 1), rng.randrange(256))
            else:
                packet += rng.randbytes(rng.randrange(1, 20))
        packets.append(bytes(packet))
    # a compression-pointer loop in an additional record's owner name
    packets.append(b"\x00\x07\x00\x00\x00\x01\x00\x00\x00\x00\x00\x01" + query("x.fuzz.test")[12:]
                   + b"\xc0\x1e\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00")
    for packet in packets:
        reply = dns.resolver.handle(packet, "127.0.0.1")
        if reply is not None:
            assert reply[:2] == packet[:2] and reply[2] & 0x80
    assert len(dns.resolver._static) <= dns.resolver.cache_limit
    response = dns.ask("www.fuzz.test")
    assert RCODE[response.header.rcode] == "NOERROR" and response.rr[0].rdata.toZone() == "192.0.2.1"


def test_the_cache_is_bounded(dns: Dns) -> None:
    dns.zone("flood.test.")
    dns.resolver.cache_limit = 50
    for i in range(500):
        dns.resolver.handle(query(f"n{i}.flood.test", ident=i), "127.0.0.1")
    assert len(dns.resolver._static) <= 50
    assert isinstance(DNSRecord.parse(dns.resolver.handle(query("n1.flood.test"), "127.0.0.1") or b""), DNSRecord)
