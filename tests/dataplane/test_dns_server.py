"""The DNS server on real loopback sockets: dig over UDP and TCP, EDNS Client Subnet, truncation then TCP, a
dnslib client, pipelined TCP, and a burst of hostile datagrams after which it still answers."""
from __future__ import annotations

import random
import socket
import struct
from typing import Any

from dnslib import RCODE, DNSRecord

from tests.dataplane.conftest import a_values, ask, change, dig, needs_dig, new_zone


def a(name: str, *values: str, **extra: Any) -> dict[str, Any]:
    return {"Name": name, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": v} for v in values], **extra}


@needs_dig
def test_dig_udp_and_tcp(r53: Any, dns_port: int) -> None:
    zone_id, name = new_zone(r53)
    change(r53, zone_id, a("www." + name, "192.0.2.1", "192.0.2.2"))
    for transport in ("+notcp", "+tcp"):
        out = dig(dns_port, "www." + name, "A", transport)
        assert "status: NOERROR" in out and "flags: qr aa" in out, out
        assert "192.0.2.1" in out and "192.0.2.2" in out
        assert ("(TCP)" in out) == (transport == "+tcp")
    short = dig(dns_port, "+short", "WWW." + name.upper())
    assert sorted(short.split()) == ["192.0.2.1", "192.0.2.2"]


@needs_dig
def test_dig_nxdomain_has_the_soa(r53: Any, dns_port: int) -> None:
    _, name = new_zone(r53)
    out = dig(dns_port, "missing." + name)
    assert "status: NXDOMAIN" in out and "AUTHORITY: 1" in out and "awsdns-hostmaster.amazon.com." in out


@needs_dig
def test_dig_refused_outside_our_zones(dns_port: int) -> None:
    assert "status: REFUSED" in dig(dns_port, "example.com")


@needs_dig
def test_dig_subnet_drives_latency_routing(r53: Any, dns_port: int) -> None:
    zone_id, name = new_zone(r53)
    change(r53, zone_id, a("api." + name, "192.0.2.1", SetIdentifier="ie", Region="eu-west-1"),
           a("api." + name, "192.0.2.2", SetIdentifier="va", Region="us-east-1"),
           a("api." + name, "192.0.2.3", SetIdentifier="au", Region="ap-southeast-2"))
    ireland = dig(dns_port, "api." + name, "+subnet=10.1.2.0/24")
    assert "192.0.2.1" in ireland and "CLIENT-SUBNET: 10.1.2.0/24/16" in ireland, ireland
    assert dig(dns_port, "+short", "api." + name, "+subnet=10.3.0.0/24").split() == ["192.0.2.3"]
    assert dig(dns_port, "+short", "api." + name).split() == ["192.0.2.2"]  # loopback: the default region


@needs_dig
def test_dig_large_txt_truncates_then_retries_over_tcp(r53: Any, dns_port: int) -> None:
    zone_id, name = new_zone(r53)
    values = [{"Value": f'"{i:02d}{"t" * 250}"'} for i in range(10)]
    change(r53, zone_id, {"Name": "big." + name, "Type": "TXT", "TTL": 60, "ResourceRecords": values})
    truncated = dig(dns_port, "big." + name, "TXT", "+ignore")
    assert "flags: qr aa tc" in truncated and "ANSWER: 0" in truncated
    retried = dig(dns_port, "big." + name, "TXT")
    assert "Truncated, retrying in TCP mode" in retried and "ANSWER: 10" in retried


def test_dnslib_client_over_udp_and_tcp(r53: Any, dns_port: int) -> None:
    zone_id, name = new_zone(r53)
    change(r53, zone_id, a("www." + name, "192.0.2.7"))
    assert a_values(ask(dns_port, "www." + name)) == ["192.0.2.7"]
    assert a_values(ask(dns_port, "www." + name, tcp=True)) == ["192.0.2.7"]
    change(r53, zone_id, a("www." + name, "192.0.2.7"), action="DELETE")
    assert RCODE[ask(dns_port, "www." + name).header.rcode] == "NXDOMAIN"  # the cached answer went with it


def test_pipelined_tcp_queries_are_answered_in_order(r53: Any, dns_port: int) -> None:
    zone_id, name = new_zone(r53)
    change(r53, zone_id, *[a(f"h{i}." + name, f"192.0.2.{i}") for i in range(1, 6)])
    queries = [DNSRecord.question(f"h{i}." + name) for i in range(1, 6)]
    payload = b"".join(struct.pack("!H", len(p)) + p for p in (bytes(q.pack()) for q in queries))
    with socket.create_connection(("127.0.0.1", dns_port), timeout=5) as sock:
        sock.sendall(payload)
        answers = []
        buffer = b""
        while len(answers) < 5:
            buffer += sock.recv(65536)
            while len(buffer) >= 2 and len(buffer) >= 2 + struct.unpack("!H", buffer[:2])[0]:
                size = struct.unpack("!H", buffer[:2])[0]
                answers.append(DNSRecord.parse(buffer[2:2 + size]))
                buffer = buffer[2 + size:]
    assert [r.header.id for r in answers] == [q.header.id for q in queries]
    assert [a_values(r) for r in answers] == [[f"192.0.2.{i}"] for i in range(1, 6)]


def test_hostile_datagrams_then_it_still_answers(r53: Any, dns_port: int) -> None:
    zone_id, name = new_zone(r53)
    change(r53, zone_id, a("www." + name, "192.0.2.9"))
    rng = random.Random(5)
    good = bytes(DNSRecord.question("www." + name).pack())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(2000):
            if rng.random() < 0.5:
                packet = rng.randbytes(rng.randrange(0, 600))
            else:
                mutated = bytearray(good)
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
                packet = bytes(mutated[:rng.randrange(len(mutated) + 1)])
            sock.sendto(packet, ("127.0.0.1", dns_port))
    # a garbage stream on TCP ends that connection, not the server
    with socket.create_connection(("127.0.0.1", dns_port), timeout=5) as stream:
        stream.sendall(b"\x00\x0c" + b"\x80" * 12)
    assert a_values(ask(dns_port, "www." + name)) == ["192.0.2.9"]
    assert a_values(ask(dns_port, "www." + name, tcp=True)) == ["192.0.2.9"]
