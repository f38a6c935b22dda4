"""The query side of the DNS wire format, read without dnslib, and the small responses built by hand.

Reading a query is the first thing every packet costs, so it is a few struct reads (RFC 1035 §4.1): the header,
the one question, and the EDNS OPT record (RFC 6891) with its Client Subnet option (RFC 7871). Anything that is
not a well-formed query raises `Malformed` (answered FORMERR) or `Ignored` (dropped: responses, runts).
Full answers are packed by dnslib in resolver.py; header-only answers (FORMERR, NOTIMP, REFUSED, TC) are built
here because they need no names beyond the question's bytes.
"""
from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

# RCODEs (RFC 1035 §4.1.1, RFC 6891 §9 for BADVERS)
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, BADVERS = 0, 1, 2, 3, 4, 5, 16
QTYPE_OPT, QTYPE_ANY, QTYPE_AXFR, QTYPE_IXFR = 41, 255, 252, 251
CLASS_IN = 1
ECS_OPTION = 8
#: flags copied from query to response: opcode, RD and CD (RFC 1035 §4.1.1, RFC 4035 §3.2.2)
COPIED_FLAGS = 0x7800 | 0x0100 | 0x0010
QR, AA, TC = 0x8000, 0x0400, 0x0200
#: the UDP payload size we advertise and the most we send over UDP (DNS Flag Day 2020's recommendation)
MAX_UDP_PAYLOAD = 1232
MIN_UDP_PAYLOAD = 512

_HEADER = struct.Struct("!HHHHHH")
_RR_FIXED = struct.Struct("!HHIH")


class Ignored(Exception):
    """Not a query we answer at all (a response, or fewer bytes than a header): drop it."""


class Malformed(Exception):
    """A query we cannot read: answer FORMERR (or NOTIMP for other opcodes) with its id."""

    def __init__(self, ident: int, flags: int, rcode: int = FORMERR) -> None:
        super().__init__(rcode)
        self.ident = ident
        self.flags = flags
        self.rcode = rcode


@dataclass(frozen=True, slots=True)
class ClientSubnet:
    family: int  # 1 IPv4, 2 IPv6 (IANA address family numbers)
    source: int  # SOURCE PREFIX-LENGTH
    address: bytes  # as sent: ceil(source / 8) bytes

    def padded(self) -> bytes:
        """The address zero-filled to 4 or 16 bytes (what ipaddress.ip_address takes as packed)."""
        return self.address + bytes((4 if self.family == 1 else 16) - len(self.address))

    def option(self, scope: int) -> bytes:
        """The option echoed in the response with SCOPE PREFIX-LENGTH set (RFC 7871 §7.2.1)."""
        body = struct.pack("!HBB", self.family, self.source, scope) + self.address
        return struct.pack("!HH", ECS_OPTION, len(body)) + body


@dataclass(frozen=True, slots=True)
class Edns:
    udp_size: int
    version: int
    do: bool
    subnet: ClientSubnet | None


@dataclass(frozen=True, slots=True)
class Query:
    ident: int
    flags: int
    labels: tuple[bytes, ...]
    #: the question section exactly as received (name in the client's case, type, class)
    question: bytes
    qtype: int
    qclass: int
    edns: Edns | None


def _skip_name(data: bytes, pos: int, ident: int, flags: int) -> int:
    end = len(data)
    while True:
        if pos >= end:
            raise Malformed(ident, flags)
        length = data[pos]
        if length & 0xC0 == 0xC0:
            return pos + 2  # a compression pointer ends the name; we never follow it here
        if length & 0xC0:
            raise Malformed(ident, flags)
        pos += 1 + length
        if length == 0:
            return pos


def _client_subnet(data: bytes, ident: int, flags: int) -> ClientSubnet:
    # RFC 7871 §6 and §7.1.1: a bad family, a prefix too long for it, an ADDRESS whose length does not match
    # SOURCE PREFIX-LENGTH or that has bits set beyond it, or a non-zero SCOPE in a query is FORMERR
    if len(data) < 4:
        raise Malformed(ident, flags)
    family, source, scope = struct.unpack_from("!HBB", data)
    address = data[4:]
    limit = {1: 32, 2: 128}.get(family)
    if limit is None or source > limit or scope != 0 or len(address) != (source + 7) // 8:
        raise Malformed(ident, flags)
    if address and source % 8 and address[-1] & (0xFF >> (source % 8)):
        raise Malformed(ident, flags)
    return ClientSubnet(family, source, address)


def parse_query(data: bytes) -> Query:
    if len(data) < 12:
        raise Ignored()
    ident, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(data)
    if flags & QR:
        raise Ignored()
    if (flags >> 11) & 0xF != 0:
        raise Malformed(ident, flags, NOTIMP)
    if qdcount != 1:
        raise Malformed(ident, flags)
    pos, end = 12, len(data)
    labels: list[bytes] = []
    total = 1
    while True:
        if pos >= end:
            raise Malformed(ident, flags)
        length = data[pos]
        if length == 0:
            pos += 1
            break
        if length & 0xC0:
            # nothing precedes the question, so a pointer there can only be hostile (or a loop)
            raise Malformed(ident, flags)
        total += length + 1
        if total > 255 or pos + 1 + length > end:
            raise Malformed(ident, flags)
        labels.append(data[pos + 1:pos + 1 + length])
        pos += 1 + length
    if pos + 4 > end:
        raise Malformed(ident, flags)
    qtype, qclass = struct.unpack_from("!HH", data, pos)
    pos += 4
    question = data[12:pos]
    edns: Edns | None = None
    for index in range(ancount + nscount + arcount):
        start = pos
        pos = _skip_name(data, pos, ident, flags)
        if pos + 10 > end:
            raise Malformed(ident, flags)
        rtype, rclass, ttl, rdlength = _RR_FIXED.unpack_from(data, pos)
        pos += 10
        if pos + rdlength > end:
            raise Malformed(ident, flags)
        if rtype == QTYPE_OPT:
            # RFC 6891 §6.1.1: one OPT, in the additional section, owned by the root
            if edns is not None or index < ancount + nscount or data[start] != 0:
                raise Malformed(ident, flags)
            edns = _edns(data[pos:pos + rdlength], rclass, ttl, ident, flags)
        pos += rdlength
    return Query(ident, flags, tuple(labels), question, qtype, qclass, edns)


def _edns(rdata: bytes, udp_size: int, ttl: int, ident: int, flags: int) -> Edns:
    subnet = None
    pos = 0
    while pos < len(rdata):
        if pos + 4 > len(rdata):
            raise Malformed(ident, flags)
        code, length = struct.unpack_from("!HH", rdata, pos)
        pos += 4
        if pos + length > len(rdata):
            raise Malformed(ident, flags)
        if code == ECS_OPTION:
            if subnet is not None:
                raise Malformed(ident, flags)
            subnet = _client_subnet(rdata[pos:pos + length], ident, flags)
        pos += length
    return Edns(udp_size, (ttl >> 16) & 0xFF, bool(ttl & 0x8000), subnet)


def opt_record(edns: Edns, ext_rcode: int = 0, options: bytes = b"") -> bytes:
    """Our OPT RR: our payload size, version 0, the DO bit copied (RFC 3225 §3), the given options."""
    ttl = (ext_rcode << 24) | (0x8000 if edns.do else 0)
    return b"\x00" + _RR_FIXED.pack(QTYPE_OPT, MAX_UDP_PAYLOAD, ttl, len(options)) + options


def header_only(ident: int, query_flags: int, rcode: int) -> bytes:
    """FORMERR / NOTIMP for a query we could not read: the header alone, counts zero."""
    flags = QR | (query_flags & COPIED_FLAGS) | (rcode & 0xF)
    return _HEADER.pack(ident, flags, 0, 0, 0, 0)


def question_only(query: Query, rcode: int, *, aa: bool = False, tc: bool = False,
                  options: bytes = b"") -> bytes:
    """A response carrying the question (and our OPT when the query had one) but no records:
    REFUSED, BADVERS, or a truncated answer (TC) the client should retry over TCP."""
    flags = QR | (query.flags & COPIED_FLAGS) | (AA if aa else 0) | (TC if tc else 0) | (rcode & 0xF)
    opt = b""
    if query.edns is not None:
        opt = opt_record(query.edns, rcode >> 4, options)
    return _HEADER.pack(query.ident, flags, 1, 0, 0, 1 if opt else 0) + query.question + opt
