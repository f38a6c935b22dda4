"""Record values in Route 53's text form: validated like ChangeResourceRecordSets, turned into wire RDATA.

The value syntax of each type is Route 53's
(https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/ResourceRecordTypes.html): TXT/SPF/CAA strings in
double quotes with `\\"`, `\\\\` and `\\ooo` octal escapes; names with or without the trailing dot. Errors carry
Route 53's "Invalid Resource Record: FATAL problem: …" wording. dnslib only holds the parsed RDATA for packing.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Callable

from dnslib import AAAA, CAA, CNAME, MX, NS, PTR, QTYPE, RD, SOA, SRV, TXT, A, DNSLabel

from miniaws.services.route53.names import BadName, parse_labels

#: the record types Route 53 serves that miniaws implements (RRType minus DS, NAPTR, SSHFP, TLSA, SVCB, HTTPS)
TYPES = ("A", "AAAA", "CAA", "CNAME", "MX", "NS", "PTR", "SOA", "SPF", "SRV", "TXT")
TYPE_CODES: dict[str, int] = {name: int(getattr(QTYPE, name)) for name in TYPES}
TYPE_NAMES: dict[int, str] = {code: name for name, code in TYPE_CODES.items()}


class BadRecord(ValueError):
    """A value Route 53 would reject; str() is the message for InvalidChangeBatch."""


def _fatal(code: str, text: str, value: str) -> BadRecord:
    return BadRecord(f"Invalid Resource Record: FATAL problem: {code} ({text}) encountered with '{value}'")


def _label(text: str, value: str) -> DNSLabel:
    try:
        labels = parse_labels(text)
    except BadName:
        raise _fatal("DomainLabelEmpty", "Domain label is empty", value) from None
    return DNSLabel(labels)


def character_strings(text: str, value: str | None = None) -> list[bytes]:
    """`"abc" "d\\"e"` → [b'abc', b'd"e'] (TXT, SPF); each string at most 255 bytes."""
    value = text if value is None else value
    out: list[bytes] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == " ":
            i += 1
            continue
        if text[i] != '"':
            raise _fatal("InvalidCharacterString", "Value should be enclosed in quotation marks", value)
        i += 1
        current = bytearray()
        while True:
            if i >= n:
                raise _fatal("InvalidCharacterString", "Value should be enclosed in quotation marks", value)
            ch = text[i]
            if ch == '"':
                i += 1
                break
            if ch == "\\" and i + 1 < n:
                digits = text[i + 1:i + 4]
                if len(digits) == 3 and all(c in "01234567" for c in digits) and int(digits, 8) < 256:
                    current.append(int(digits, 8))
                    i += 4
                    continue
                current.extend(text[i + 1].encode("utf-8"))
                i += 2
                continue
            current.extend(ch.encode("utf-8"))
            i += 1
        if len(current) > 255:
            raise _fatal("CharacterStringTooLong", "Value is too long", value)
        out.append(bytes(current))
    if not out:
        raise _fatal("InvalidCharacterString", "Value should be enclosed in quotation marks", value)
    return out


def _int_field(text: str, low: int, high: int, code: str, what: str, value: str) -> int:
    try:
        number = int(text, 10)
    except ValueError:
        raise _fatal(code, f"{what} is not a number", value) from None
    if not low <= number <= high:
        raise _fatal(code, f"{what} is out of range", value)
    return number


def _a(value: str) -> RD:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise _fatal("ARRDATAIllegalIPv4Address", "Value is not a valid IPv4 address", value) from None
    return A(value)


def _aaaa(value: str) -> RD:
    try:
        address = ipaddress.IPv6Address(value)
    except ValueError:
        raise _fatal("AAAARRDATAIllegalIPv6Address", "Value is not a valid IPv6 address", value) from None
    return AAAA(address.exploded)


def _name_rd(kind: type[RD]) -> Callable[[str], RD]:
    def parse(value: str) -> RD:
        if not value or " " in value.strip():
            raise _fatal("DomainLabelEmpty", "Domain label is empty", value)
        return kind(_label(value.strip(), value))

    return parse


def _mx(value: str) -> RD:
    fields = value.split()
    if len(fields) != 2:
        raise _fatal("MXRRDATANotTwoFields", "MX record doesn't have 2 fields", value)
    preference = _int_field(fields[0], 0, 65535, "MXRRDATAIllegalPreference", "Preference", value)
    return MX(_label(fields[1], value), preference)


def _srv(value: str) -> RD:
    fields = value.split()
    if len(fields) != 4:
        raise _fatal("SRVRRDATANotFourFields", "SRV record doesn't have 4 fields", value)
    priority = _int_field(fields[0], 0, 65535, "SRVRRDATAIllegalPriority", "Priority", value)
    weight = _int_field(fields[1], 0, 65535, "SRVRRDATAIllegalWeight", "Weight", value)
    port = _int_field(fields[2], 0, 65535, "SRVRRDATAIllegalPort", "Port", value)
    return SRV(priority, weight, port, _label(fields[3], value))


def _txt(value: str) -> RD:
    return TXT(character_strings(value))


def _caa(value: str) -> RD:
    fields = value.split(None, 2)
    if len(fields) != 3:
        raise _fatal("CAARRDATANotThreeFields", "CAA record doesn't have 3 fields", value)
    flags = _int_field(fields[0], 0, 255, "CAARRDATAIllegalFlags", "Flags", value)
    tag = fields[1]
    if not tag.isalnum() or len(tag) > 15:
        raise _fatal("CAARRDATAIllegalTag", "Tag is not valid", value)
    strings = character_strings(fields[2], value)
    if len(strings) != 1:
        raise _fatal("CAARRDATANotThreeFields", "CAA record doesn't have 3 fields", value)
    return CAA(flags, tag, strings[0].decode("utf-8", "replace"))


def _soa(value: str) -> RD:
    fields = value.split()
    if len(fields) != 7:
        raise _fatal("SOARRDATANotSevenFields", "SOA record doesn't have 7 fields", value)
    times = tuple(_int_field(f, 0, 2**32 - 1, "SOARRDATAIllegalNumber", "Value", value) for f in fields[2:])
    return SOA(_label(fields[0], value), _label(fields[1], value), times)


_PARSERS: dict[str, Callable[[str], RD]] = {
    "A": _a, "AAAA": _aaaa, "CNAME": _name_rd(CNAME), "NS": _name_rd(NS), "PTR": _name_rd(PTR), "MX": _mx,
    "SRV": _srv, "TXT": _txt, "SPF": _txt, "CAA": _caa, "SOA": _soa,
}


def parse_value(rtype: str, value: str) -> RD:
    """The RDATA of one value of a `rtype` record; raises BadRecord with Route 53's message."""
    return _PARSERS[rtype](value)
