"""The sans-IO resolver as case tables: bytes in (built by dnslib), bytes out (parsed by dnslib), no sockets."""
from __future__ import annotations

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

from tests.unit.dns.conftest import Dns, a, answers, query, rrset

ZONE = "example.test."


@pytest.fixture
def zone_dns(dns: Dns) -> Dns:
    zone = dns.zone(ZONE)
    dns.add(zone,
            a("www.example.test", "192.0.2.1", "192.0.2.2", ttl=300),
            rrset("www.example.test", "TXT", '"hello" "world"'),
            rrset("c1.example.test", "CNAME", "c2.example.test", ttl=30),
            rrset("c2.example.test", "CNAME", "www.example.test", ttl=40),
            rrset("out.example.test", "CNAME", "www.elsewhere.invalid"),
            rrset("loop1.example.test", "CNAME", "loop2.example.test"),
            rrset("loop2.example.test", "CNAME", "loop1.example.test"),
            a("deep.ent.example.test", "192.0.2.3"),
            a("*.wild.example.test", "192.0.2.4", ttl=120),
            rrset("real.wild.example.test", "TXT", '"not a wildcard"'),
            a("x.sub.wild.example.test", "192.0.2.5"),
            rrset("mail.example.test", "MX", "10 mx.example.test"),
            rrset("_sip._tcp.example.test", "SRV", "10 5 5060 sip.example.test"),
            rrset("caa.example.test", "CAA", '0 issue "amazon.com"'),
            {"Name": "apex-alias.example.test", "Type": "A",
             "AliasTarget": {"HostedZoneId": zone.id, "DNSName": "www.example.test", "EvaluateTargetHealth": False}},
            rrset("child.example.test", "NS", "ns1.child.example.test", ttl=3600),
            a("ns1.child.example.test", "192.0.2.53"))
    other = dns.zone("other.test.")
    dns.add(other, rrset("hop.other.test", "CNAME", "www.example.test"))
    return dns


CASES = [
    # (query name, type, rcode, AA, expected answers)
    ("www.example.test", "A", "NOERROR", 1,
     [("www.example.test.", "A", 300, "192.0.2.1"), ("www.example.test.", "A", 300, "192.0.2.2")]),
    ("www.example.test", "TXT", "NOERROR", 1, [("www.example.test.", "TXT", 60, '"hello" "world"')]),
    ("mail.example.test", "MX", "NOERROR", 1, [("mail.example.test.", "MX", 60, "10 mx.example.test.")]),
    ("_sip._tcp.example.test", "SRV", "NOERROR", 1,
     [("_sip._tcp.example.test.", "SRV", 60, "10 5 5060 sip.example.test.")]),
    ("caa.example.test", "CAA", "NOERROR", 1, [("caa.example.test.", "CAA", 60, '0 issue "amazon.com"')]),
    # CNAME chains are followed through our zones, each record with its own TTL
    ("c1.example.test", "A", "NOERROR", 1,
     [("c1.example.test.", "CNAME", 30, "c2.example.test."), ("c2.example.test.", "CNAME", 40, "www.example.test."),
      ("www.example.test.", "A", 300, "192.0.2.1"), ("www.example.test.", "A", 300, "192.0.2.2")]),
    ("c1.example.test", "CNAME", "NOERROR", 1, [("c1.example.test.", "CNAME", 30, "c2.example.test.")]),
    ("hop.other.test", "A", "NOERROR", 1,
     [("hop.other.test.", "CNAME", 60, "www.example.test."), ("www.example.test.", "A", 300, "192.0.2.1"),
      ("www.example.test.", "A", 300, "192.0.2.2")]),
    # a CNAME leaving our zones is the whole answer; a loop ends
    ("out.example.test", "A", "NOERROR", 1, [("out.example.test.", "CNAME", 60, "www.elsewhere.invalid.")]),
    ("loop1.example.test", "A", "NOERROR", 1,
     [("loop1.example.test.", "CNAME", 60, "loop2.example.test."),
      ("loop2.example.test.", "CNAME", 60, "loop1.example.test.")]),
    # wildcards synthesize under the closest encloser only (RFC 4592)
    ("anything.wild.example.test", "A", "NOERROR", 1, [("anything.wild.example.test.", "A", 120, "192.0.2.4")]),
    ("a.b.wild.example.test", "A", "NOERROR", 1, [("a.b.wild.example.test.", "A", 120, "192.0.2.4")]),
    ("real.wild.example.test", "A", "NOERROR", 1, []),
    ("y.sub.wild.example.test", "A", "NXDOMAIN", 1, []),
    ("anything.wild.example.test", "AAAA", "NOERROR", 1, []),
    # an alias answers with its target's records and TTL under its own name
    ("apex-alias.example.test", "A", "NOERROR", 1,
     [("apex-alias.example.test.", "A", 300, "192.0.2.1"), ("apex-alias.example.test.", "A", 300, "192.0.2.2")]),
    # NODATA (the name exists) vs NXDOMAIN
    ("www.example.test", "AAAA", "NOERROR", 1, []),
    ("ent.example.test", "A", "NOERROR", 1, []),
    ("nope.example.test", "A", "NXDOMAIN", 1, []),
    ("c2.nope.example.test", "A", "NXDOMAIN", 1, []),
    # outside every hosted zone: not an open resolver
    ("www.example.com", "A", "REFUSED", 0, []),
]


@pytest.mark.parametrize("name,qtype,rcode,aa,expected", CASES, ids=[f"{c[0]}/{c[1]}" for c in CASES])
def test_answers(zone_dns: Dns, name: str, qtype: str, rcode: str, aa: int,
                 expected: list[tuple[str, str, int, str]]) -> None:
    response = zone_dns.ask(name, qtype)
    assert RCODE[response.header.rcode] == rcode
    assert response.header.aa == aa and response.header.qr == 1
    assert answers(response) == expected


@pytest.mark.parametrize("name,qtype", [("nope.example.test", "A"), ("www.example.test", "AAAA"),
                                        ("ent.example.test", "A"), ("real.wild.example.test", "A")])
def test_negative_answers_carry_the_soa_at_its_negative_ttl(zone_dns: Dns, name: str, qtype: str) -> None:
    (soa,) = zone_dns.ask(name, qtype).auth
    assert (str(soa.rname), QTYPE[soa.rtype]) == (ZONE, "SOA")
    assert soa.ttl == 900  # min(SOA TTL 900, MINIMUM 86400), RFC 2308 §3


def test_negative_ttl_is_the_soa_minimum_when_smaller(dns: Dns) -> None:
    dns.zone("short.test.", soa="ns-1.awsdns-01.com. hostmaster.short.test. 1 7200 900 1209600 60")
    (soa,) = dns.ask("missing.short.test").auth
    assert soa.ttl == 60


def test_names_are_case_insensitive_and_the_question_keeps_its_case(zone_dns: Dns) -> None:
    response = zone_dns.ask("WwW.ExAmPlE.TeSt", "A")
    assert RCODE[response.header.rcode] == "NOERROR" and len(response.rr) == 2
    assert str(response.q.qname) == "WwW.ExAmPlE.TeSt."


def test_referral_below_a_delegation(zone_dns: Dns) -> None:
    response = zone_dns.ask("host.child.example.test", "A")
    assert RCODE[response.header.rcode] == "NOERROR" and response.header.aa == 0 and response.rr == []
    assert [(str(r.rname), QTYPE[r.rtype], r.rdata.toZone()) for r in response.auth] == [
        ("child.example.test.", "NS", "ns1.child.example.test.")]
    assert [(str(r.rname), r.rdata.toZone()) for r in response.ar] == [("ns1.child.example.test.", "192.0.2.53")]


def test_any_returns_every_type_at_the_name(zone_dns: Dns) -> None:
    response = zone_dns.ask("www.example.test", "ANY")
    assert sorted(QTYPE[rr.rtype] for rr in response.rr) == ["A", "A", "TXT"]


def test_rd_is_copied_and_ra_is_never_set(zone_dns: Dns) -> None:
    assert zone_dns.ask("www.example.test", rd=True).header.rd == 1
    response = zone_dns.ask("www.example.test", rd=False)
    assert response.header.rd == 0 and response.header.ra == 0


# -- EDNS0 and truncation ---------------------------------------------------------------------------
def test_edns_is_echoed_with_our_payload_size_and_the_do_bit(zone_dns: Dns) -> None:
    response = zone_dns.ask("www.example.test", edns=4096, do=True)
    (opt,) = [rr for rr in response.ar if rr.rtype == QTYPE.OPT]
    assert opt.edns_len == 1232 and opt.edns_do == 1 and opt.edns_ver == 0
    assert not [rr for rr in zone_dns.ask("www.example.test").ar if rr.rtype == QTYPE.OPT]


def test_unknown_edns_version_is_badvers(zone_dns: Dns) -> None:
    from dnslib import EDNS0, DNSHeader, DNSQuestion

    packet = DNSRecord(DNSHeader(id=7), q=DNSQuestion("www.example.test"))
    packet.add_ar(EDNS0(udp_len=1232, version=1))
    raw = zone_dns.resolver.handle(bytes(packet.pack()), "127.0.0.1")
    assert raw is not None
    response = DNSRecord.parse(raw)
    (opt,) = response.ar
    assert response.header.rcode == 0 and opt.edns_rcode == 1  # extended RCODE 16 = BADVERS (RFC 6891 §6.1.3)


@pytest.fixture
def big_dns(dns: Dns) -> Dns:
    zone = dns.zone("big.test.")
    dns.add(zone, rrset("txt.big.test", "TXT", *[f'"{i:03d}{"x" * 240}"' for i in range(8)]))
    return dns


def test_too_large_for_udp_sets_tc_and_tcp_gets_everything(big_dns: Dns) -> None:
    udp = big_dns.ask("txt.big.test", "TXT")
    assert udp.header.tc == 1 and udp.rr == [] and str(udp.q.qname) == "txt.big.test."
    edns = big_dns.ask("txt.big.test", "TXT", edns=4096)  # we never send more than 1232 over UDP
    assert edns.header.tc == 1 and [rr.rtype for rr in edns.ar] == [QTYPE.OPT]
    tcp = big_dns.ask("txt.big.test", "TXT", tcp=True)
    assert tcp.header.tc == 0 and len(tcp.rr) == 8


# -- malformed input --------------------------------------------------------------------------------
def test_garbage_is_formerr_with_its_id(zone_dns: Dns) -> None:
    raw = zone_dns.resolver.handle(b"\x12\x34" + b"\x00" * 4 + b"\x00\x00" * 3 + b"\xff", "127.0.0.1")
    assert raw is not None
    response = DNSRecord.parse(raw)
    assert response.header.id == 0x1234 and RCODE[response.header.rcode] == "FORMERR"


@pytest.mark.parametrize("packet", [b"", b"\x00", b"\x12\x34\x81\x80" + b"\x00" * 8],
                         ids=["empty", "runt", "a response"])
def test_runts_and_responses_are_dropped(zone_dns: Dns, packet: bytes) -> None:
    assert zone_dns.resolver.handle(packet, "127.0.0.1") is None


def test_other_opcodes_are_notimp(zone_dns: Dns) -> None:
    packet = bytearray(query("www.example.test"))
    packet[2] |= 2 << 3  # opcode 2 (STATUS)
    raw = zone_dns.resolver.handle(bytes(packet), "127.0.0.1")
    assert raw is not None and RCODE[DNSRecord.parse(raw).header.rcode] == "NOTIMP"


def test_a_pointer_in_the_question_is_formerr(zone_dns: Dns) -> None:
    packet = b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + b"\xc0\x0c\x00\x01\x00\x01"
    raw = zone_dns.resolver.handle(packet, "127.0.0.1")
    assert raw is not None and RCODE[DNSRecord.parse(raw).header.rcode] == "FORMERR"


@pytest.mark.parametrize("option", [
    bytes([0, 1, 33, 0]) + b"\x0a\x01\x00\x00\x00",  # prefix longer than IPv4
    bytes([0, 1, 24, 0]) + b"\x0a\x01",  # address shorter than the prefix
    bytes([0, 1, 24, 8]) + b"\x0a\x01\x02",  # scope set in a query
    bytes([0, 1, 20, 0]) + b"\x0a\x01\x0f",  # bits beyond the prefix
    bytes([0, 9, 8, 0]) + b"\x0a",  # unknown family
])
def test_bad_client_subnet_is_formerr(zone_dns: Dns, option: bytes) -> None:
    from dnslib import EDNS0, DNSHeader, DNSQuestion, EDNSOption

    packet = DNSRecord(DNSHeader(id=9), q=DNSQuestion("www.example.test"))
    packet.add_ar(EDNS0(udp_len=1232, opts=[EDNSOption(8, option)]))
    raw = zone_dns.resolver.handle(bytes(packet.pack()), "127.0.0.1")
    assert raw is not None and RCODE[DNSRecord.parse(raw).header.rcode] == "FORMERR"


# -- caching --------------------------------------------------------------------------------------
def test_answers_are_cached_and_a_change_invalidates_them(zone_dns: Dns) -> None:
    zone_dns.ask("www.example.test")
    hits = zone_dns.resolver.stats["hits"]
    zone_dns.ask("www.example.test")
    assert zone_dns.resolver.stats["hits"] == hits + 1
    zone = zone_dns.zones[ZONE]
    zone_dns.add(zone, a("www.example.test", "192.0.2.1", "192.0.2.2", ttl=300), action="DELETE")
    zone_dns.add(zone, a("www.example.test", "198.51.100.7", ttl=5))
    assert answers(zone_dns.ask("www.example.test")) == [("www.example.test.", "A", 5, "198.51.100.7")]


def test_simple_answers_carry_a_zero_ecs_scope(zone_dns: Dns) -> None:
    response = zone_dns.ask("www.example.test", subnet="10.1.2.0/24")
    (opt,) = response.ar
    (option,) = opt.rdata
    assert option.code == 8 and option.data == bytes([0, 1, 24, 0, 10, 1, 2])
