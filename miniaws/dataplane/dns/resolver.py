"""The authoritative resolver, sans-IO: a query's bytes in, the response's bytes out (or None to drop).

It answers from the Route 53 hosted zones: AA answers, NXDOMAIN vs NODATA with the zone's SOA in the authority
section at its negative TTL (RFC 2308 §3), CNAME chains followed through our zones (RFC 1034 §4.3.2), wildcards
(RFC 4592), referrals below NS cuts, Route 53 alias records, routing policies (policies.py) with health from the
health monitor, EDNS0 (RFC 6891) with Client Subnet (RFC 7871), and TC when a UDP answer does not fit. Names in
no zone (and owned by no other service: load balancers, distributions) are REFUSED: this is not an open
resolver; with `dns_forwarder` set, the listeners forward what the resolver REFUSED (forward.py).

Packed answers are cached. Answers that do not depend on the client are cached by the question bytes and EDNS
shape; policy answers are cached per (question, chosen record sets), so a weighted name costs one random draw and
a dict lookup per query. Any change to zones or health clears the caches (`invalidate`).
"""
from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from dnslib import AAAA, EDNS0, QTYPE, RCODE, RD, RR, A, DNSHeader, DNSLabel, DNSQuestion, DNSRecord, EDNSOption

from miniaws.dataplane.dns import wire
from miniaws.dataplane.dns.locations import Location, Locations
from miniaws.dataplane.dns.policies import Chooser, compile_choice
from miniaws.services.route53.models import HostedZone, RecordSet, Route53Store
from miniaws.services.route53.names import (WILDCARD_LABEL, alias_target_name, from_labels, label_text, parent,
                                            to_labels)
from miniaws.services.route53.records import TYPE_CODES, TYPE_NAMES

#: CNAME and alias hops followed before giving up (a loop, or a chain no client should need)
MAX_CHAIN = 8
MAX_ALIAS_DEPTH = 4
#: packed answers kept per cache; the oldest go first (a query flood cannot grow memory without bound)
CACHE_LIMIT = 20000

Entry = tuple[str, int, int, RD]  # (owner, type code, TTL, RDATA)
#: TTL of answers for names another service owns (ELB answers its DNS names with 60 s)
EXTERNAL_TTL = 60


class ExternalNames(Protocol):
    """Names outside every hosted zone that another service answers for (load balancers' DNS names). Whoever
    registers one calls `Resolver.invalidate` when its names or their health change."""

    def addresses(self, name: str) -> tuple[str, ...] | None:
        """The A/AAAA addresses of `name` (canonical, with the trailing dot), or None when it is not ours."""

    def healthy(self, name: str) -> bool:
        """Whether the name's resource may get traffic (Route 53's EvaluateTargetHealth)."""


@lru_cache(maxsize=4096)
def _label(label: bytes) -> str:
    return label_text(label)


def qname_text(labels: tuple[bytes, ...]) -> str:
    return ".".join(_label(label) for label in labels) + "." if labels else "."


@dataclass(slots=True)
class Outcome:
    rcode: int = wire.NOERROR
    aa: bool = True
    answer: list[Entry] = field(default_factory=list)
    authority: list[Entry] = field(default_factory=list)
    additional: list[Entry] = field(default_factory=list)
    #: the record sets random or location-dependent policies picked, in order (with the zones and health as
    #: they are, they fix the answer)
    picked: list[RecordSet] = field(default_factory=list)
    #: how many policy picks were random or location-dependent, and the last one's chooser
    decisions: int = 0
    chooser: Chooser | None = None
    #: the answer went beyond the queried name's own record sets (a CNAME followed, an alias expanded, ANY)
    indirect: bool = False
    random: bool = False
    by_location: bool = False
    #: the zone that answered first (TestDNSAnswer names its name server)
    zone: HostedZone | None = None


class _Client:
    """Where the query comes from; the location is looked up only if a policy asks for it."""

    __slots__ = ("source", "subnet", "locations", "_location", "prefix")

    def __init__(self, source: str, subnet: wire.ClientSubnet | None, locations: Locations) -> None:
        self.source = source
        self.subnet = subnet
        self.locations = locations
        self._location: Location | None = None
        self.prefix: int | None = None

    def location(self) -> Location:
        if self._location is None:
            subnet = self.subnet
            if subnet is not None:
                self._location, self.prefix = self.locations.locate_text(subnet.padded())
            else:
                self._location, self.prefix = self.locations.locate_text(self.source)
        return self._location

    def scope(self) -> int:
        """ECS SCOPE PREFIX-LENGTH for a location-dependent answer: the table entry's prefix, else the client's."""
        if self.subnet is None:
            return 0
        self.location()
        return self.prefix if self.prefix is not None else self.subnet.source


@dataclass(slots=True)
class _Plan:
    """A query seen before whose answer is one policy pick at the queried name: the next identical query
    (same bytes after the id) only picks again and looks up the packed variant."""

    chooser: Chooser
    subnet: wire.ClientSubnet | None


class Resolver:
    def __init__(self, store: Route53Store, healthy: Callable[[str], bool], locations: Locations,
                 rng: random.Random | None = None, *, cache_limit: int = CACHE_LIMIT) -> None:
        self.store = store
        self.healthy = healthy
        self.locations = locations
        self.rng = rng or random.Random()
        self.cache_limit = cache_limit
        # keyed by the query's bytes after the id, per transport: the answer is a function of exactly those
        # (plus, for policy answers, the pick), so a hit costs a slice and a dict lookup
        self._static: dict[tuple[bytes, bool], bytes] = {}
        self._plans: dict[tuple[bytes, bool], _Plan] = {}
        self._variants: dict[tuple[Any, ...], bytes] = {}
        #: compiled policy choosers by (id of a record set list, alias depth); valid until the next invalidate
        self._choosers: dict[tuple[int, int], Chooser] = {}
        self.stats = {"queries": 0, "hits": 0}
        #: answer names outside the hosted zones (the composition root adds load balancers and distributions)
        self.external: list[ExternalNames] = []

    def invalidate(self) -> None:
        """Zones or health changed: every packed answer, plan and chooser may be stale."""
        self._static.clear()
        self._plans.clear()
        self._variants.clear()
        self._choosers.clear()

    # -- bytes in, bytes out ----------------------------------------------------------------------
    def handle(self, data: bytes, source: str, tcp: bool = False) -> bytes | None:
        self.stats["queries"] += 1
        if type(data) is not bytes:
            data = bytes(data)
        key = (data[2:], tcp)
        hit = self._static.get(key)
        if hit is not None:
            self.stats["hits"] += 1
            return data[:2] + hit
        plan = self._plans.get(key)
        if plan is not None:
            client = _Client(source, plan.subnet, self.locations)
            picked = plan.chooser.pick(self.rng, client.location)
            packed = self._variants.get((key, picked, client.scope() if plan.chooser.by_location else 0))
            if packed is not None:
                self.stats["hits"] += 1
                return data[:2] + packed
        return self._answer(data, key, source, tcp)

    def _answer(self, data: bytes, key: tuple[bytes, bool], source: str, tcp: bool) -> bytes | None:
        try:
            query = wire.parse_query(data)
        except wire.Ignored:
            return None
        except wire.Malformed as bad:
            return wire.header_only(bad.ident, bad.flags, bad.rcode)
        edns = query.edns
        if edns is not None and edns.version > 0:
            return wire.question_only(query, wire.BADVERS)
        if query.qclass != wire.CLASS_IN or query.qtype in (wire.QTYPE_AXFR, wire.QTYPE_IXFR):
            # zone transfers are not offered (Route 53 has none); other classes are not ours
            rcode = wire.NOTIMP if query.qclass == wire.CLASS_IN else wire.REFUSED
            return wire.question_only(query, rcode)
        limit = 65535 if tcp else (max(wire.MIN_UDP_PAYLOAD, min(edns.udp_size, wire.MAX_UDP_PAYLOAD))
                                   if edns is not None else wire.MIN_UDP_PAYLOAD)
        subnet = edns.subnet if edns is not None else None
        client = _Client(source, subnet, self.locations)
        outcome = self.resolve(qname_text(query.labels), query.qtype, client)
        if outcome is None:
            return wire.question_only(query, wire.REFUSED)
        scope = client.scope() if outcome.by_location else 0
        packed = self._pack(query, outcome, limit, scope)
        if outcome.random or outcome.by_location:
            self._remember(self._variants, (key, tuple(outcome.picked), scope), packed)
            if outcome.decisions == 1 and not outcome.indirect and outcome.chooser is not None:
                self._remember(self._plans, key, _Plan(outcome.chooser, subnet))
        else:
            self._remember(self._static, key, packed)
        return data[:2] + packed

    def _remember(self, cache: dict[Any, Any], key: Any, value: Any) -> None:
        if len(cache) >= self.cache_limit:
            del cache[next(iter(cache))]
        cache[key] = value

    # -- packing ------------------------------------------------------------------------------------
    def _pack(self, query: wire.Query, outcome: Outcome, limit: int, scope: int) -> bytes:
        """The response without its first two bytes (the id, patched per query)."""
        edns = query.edns
        options = edns.subnet.option(scope) if edns is not None and edns.subnet is not None else b""
        header = DNSHeader(id=0, bitmap=wire.QR | (query.flags & wire.COPIED_FLAGS), q=1)
        header.aa = int(outcome.aa)
        header.rcode = outcome.rcode
        record = DNSRecord(header, q=DNSQuestion(DNSLabel(query.labels), query.qtype, query.qclass))
        qname = qname_text(query.labels)
        labels: dict[str, Any] = {qname: query.labels}

        def rr(entry: Entry) -> RR:
            owner, rtype, ttl, rd = entry
            name = labels.get(owner)
            if name is None:
                name = labels[owner] = tuple(to_labels(owner))
            return RR(DNSLabel(name), rtype, 1, ttl, rd)

        for entry in outcome.answer:
            record.add_answer(rr(entry))
        for entry in outcome.authority:
            record.add_auth(rr(entry))
        for entry in outcome.additional:
            record.add_ar(rr(entry))
        if edns is not None:
            opts = [EDNSOption(wire.ECS_OPTION, options[4:])] if options else []
            record.add_ar(EDNS0(udp_len=wire.MAX_UDP_PAYLOAD, flags="do" if edns.do else "", opts=opts))
        packed = record.pack()
        if len(packed) > limit:
            # RFC 2181 §9: set TC rather than send a partial RRset; the client retries over TCP
            packed = wire.question_only(query, outcome.rcode, aa=outcome.aa, tc=True, options=options)
        return bytes(packed[2:])

    # -- resolution ---------------------------------------------------------------------------------
    def find_zone(self, name: str) -> HostedZone | None:
        """The hosted zone with the longest name that contains `name`, from every account. Private zones answer
        too (there are no VPCs to tell clients apart), but a public zone of the same name wins; among equals,
        the oldest."""
        by_name = self.store.zones_by_name
        current: str | None = name
        while current is not None:
            zones = by_name.get(current)
            if zones:
                for zone in zones:
                    if not zone.private:
                        return zone
                return zones[0]
            current = parent(current)
        return None

    def resolve(self, name: str, qtype: int, client: _Client) -> Outcome | None:
        """What to answer for `name`/`qtype`; None when no hosted zone contains the name."""
        zone = self.find_zone(name)
        if zone is None:
            return self._external(name, qtype)
        outcome = Outcome(zone=zone)
        seen = {name}
        for _ in range(MAX_CHAIN):
            target = self._lookup(zone, name, qtype, client, outcome)
            if target is None or target in seen:
                break
            seen.add(target)
            next_zone = self.find_zone(target)
            if next_zone is None:
                break  # a CNAME out of our zones: the CNAME is the whole answer
            zone, name = next_zone, target
        return outcome

    def _lookup(self, zone: HostedZone, name: str, qtype: int, client: _Client, out: Outcome) -> str | None:
        """Add what `zone` says about `name` to `out`; returns a CNAME target to follow, if any."""
        out.authority.clear()
        out.rcode = wire.NOERROR
        if zone.cuts:
            cut = self._cut(zone, name)
            if cut is not None:
                self._referral(zone, cut, out)
                return None
        types = zone.by_name.get(name)
        if types is None:
            if zone.below.get(name):
                self._negative(zone, out, wire.NOERROR)  # an empty non-terminal exists: NODATA
                return None
            source = self._wildcard(zone, name)
            if source is None:
                self._negative(zone, out, wire.NXDOMAIN)
                return None
            types = zone.by_name[source]
        if qtype == wire.QTYPE_ANY:
            out.indirect = True
            for each in sorted(types):
                self._emit(zone, name, types[each], client, out)
            if not out.answer:
                self._negative(zone, out, wire.NOERROR)
            return None
        type_name = TYPE_NAMES.get(qtype)
        sets = types.get(type_name) if type_name is not None else None
        if sets:
            if not self._emit(zone, name, sets, client, out):
                self._negative(zone, out, wire.NOERROR)
            return None
        cnames = types.get("CNAME")
        if cnames:
            out.indirect = True
            emitted = self._emit(zone, name, cnames, client, out)
            for rd in emitted:
                return from_labels(list(rd.label.label))
            self._negative(zone, out, wire.NOERROR)
            return None
        self._negative(zone, out, wire.NOERROR)
        return None

    def _emit(self, zone: HostedZone, owner: str, sets: list[RecordSet], client: _Client, out: Outcome,
              depth: int = 0) -> list[RD]:
        """Choose among `sets` by their routing policy and add the chosen records under `owner`."""
        ckey = (id(sets), depth)
        chooser = self._choosers.get(ckey)
        if chooser is None:
            chooser = compile_choice(sets, lambda r: self._healthy(zone, r, depth), self.locations.latency)
            self._remember(self._choosers, ckey, chooser)
        picked = chooser.pick(self.rng, client.location)
        if chooser.random or chooser.by_location:
            out.random |= chooser.random
            out.by_location |= chooser.by_location
            out.picked.extend(picked)
            out.decisions += 1
            out.chooser = chooser
        emitted: list[RD] = []
        for rrset in picked:
            if rrset.alias is not None:
                out.indirect = True
                emitted.extend(self._alias(rrset, owner, client, out, depth))
                continue
            code = TYPE_CODES[rrset.type]
            ttl = rrset.ttl or 0
            for rd in rrset.rdata:
                out.answer.append((owner, code, ttl, rd))
                emitted.append(rd)
        return emitted

    def _alias(self, rrset: RecordSet, owner: str, client: _Client, out: Outcome, depth: int) -> list[RD]:
        """An alias answers with its target's records (and TTL) under the alias's own name."""
        alias = rrset.alias
        assert alias is not None
        target_zone = self.store.zones.get(alias.hosted_zone_id)
        if target_zone is None and depth < MAX_ALIAS_DEPTH:
            # a load balancer's or a distribution's name
            found = self._external(alias_target_name(alias.hosted_zone_id, alias.dns_name), TYPE_CODES[rrset.type])
            if found is not None:
                out.answer.extend((owner, code, ttl, rd) for _, code, ttl, rd in found.answer)
                return [rd for _, _, _, rd in found.answer]
        if target_zone is None or depth >= MAX_ALIAS_DEPTH:
            return []
        sets = target_zone.by_name.get(alias.dns_name, {}).get(rrset.type)
        if not sets:
            return []
        return self._emit(target_zone, owner, sets, client, out, depth + 1)

    def _healthy(self, zone: HostedZone, rrset: RecordSet, depth: int) -> bool:
        if rrset.health_check_id is not None and not self.healthy(rrset.health_check_id):
            return False
        alias = rrset.alias
        if alias is not None and alias.evaluate_target_health and depth < MAX_ALIAS_DEPTH:
            # EvaluateTargetHealth: the alias is healthy when some record set it points at is
            target_zone = self.store.zones.get(alias.hosted_zone_id)
            if target_zone is None:
                name = alias_target_name(alias.hosted_zone_id, alias.dns_name)
                return any(e.healthy(name) for e in self.external if e.addresses(name) is not None)
            sets = target_zone.by_name.get(alias.dns_name, {}).get(rrset.type)
            if not sets:
                return False
            assert target_zone is not None
            return any(self._healthy(target_zone, s, depth + 1) for s in sets)
        return True

    def _external(self, name: str, qtype: int) -> Outcome | None:
        """An authoritative answer for a name another service owns; None when no one owns it (REFUSED)."""
        for source in self.external:
            addresses = source.addresses(name)
            if addresses is None:
                continue
            out = Outcome()
            for address in addresses:
                v6 = ":" in address
                code = TYPE_CODES["AAAA" if v6 else "A"]
                if qtype in (code, wire.QTYPE_ANY):
                    out.answer.append((name, code, EXTERNAL_TTL, AAAA(address) if v6 else A(address)))
            return out
        return None

    @staticmethod
    def _wildcard(zone: HostedZone, name: str) -> str | None:
        """The wildcard that synthesizes `name`: `*.` + its closest encloser, if it exists (RFC 4592 §3.3.1)."""
        encloser = parent(name)
        while encloser is not None and encloser != zone.name and encloser not in zone.by_name \
                and not zone.below.get(encloser):
            encloser = parent(encloser)
        if encloser is None:
            return None
        source = WILDCARD_LABEL + "." + encloser
        return source if source in zone.by_name else None

    @staticmethod
    def _cut(zone: HostedZone, name: str) -> str | None:
        """The highest delegation point (NS below the apex) at or above `name`, if any."""
        found = None
        current: str | None = name
        while current is not None and current != zone.name:
            if current in zone.cuts:
                found = current
            current = parent(current)
        return found

    def _referral(self, zone: HostedZone, cut: str, out: Outcome) -> None:
        """RFC 1034 §4.3.2 step 3b: not authoritative; the child's NS in authority, glue in additional."""
        if not out.answer:
            out.aa = False
        code = TYPE_CODES["NS"]
        for rrset in zone.by_name[cut]["NS"]:
            for rd in rrset.rdata:
                out.authority.append((cut, code, rrset.ttl or 0, rd))
                glue = from_labels(list(rd.label.label))
                for type_name in ("A", "AAAA"):
                    for glue_set in zone.by_name.get(glue, {}).get(type_name, ()):
                        if glue_set.alias is None:
                            for glue_rd in glue_set.rdata:
                                out.additional.append((glue, TYPE_CODES[type_name], glue_set.ttl or 0, glue_rd))

    @staticmethod
    def _negative(zone: HostedZone, out: Outcome, rcode: int) -> None:
        """NXDOMAIN / NODATA: the SOA in authority, TTL min(SOA TTL, SOA MINIMUM) (RFC 2308 §3 and §5)."""
        soa = zone.soa
        rd = soa.rdata[0]
        ttl = min(soa.ttl or 0, int(rd.times[4]))
        out.rcode = rcode
        out.authority.append((zone.name, TYPE_CODES["SOA"], ttl, rd))

    # -- TestDNSAnswer ------------------------------------------------------------------------------
    def test_answer(self, name: str, rtype: str, resolver_ip: str | None, subnet_ip: str | None,
                    subnet_mask: int | None) -> dict[str, Any]:
        """Send the query through `handle` exactly as the DNS server would and describe the answer."""
        labels = to_labels(name)
        question = DNSRecord(DNSHeader(id=self.rng.randrange(65536), rd=0),
                             q=DNSQuestion(DNSLabel(labels), int(getattr(QTYPE, rtype))))
        if subnet_ip is not None:
            address = ipaddress.ip_address(subnet_ip)
            family = 1 if address.version == 4 else 2
            source = subnet_mask if subnet_mask is not None else (24 if family == 1 else 64)
            network = ipaddress.ip_network(f"{address}/{source}", strict=False)
            raw = network.network_address.packed[:(source + 7) // 8]
            option = EDNSOption(wire.ECS_OPTION, bytes([0, family, source, 0]) + raw)
            question.add_ar(EDNS0(udp_len=wire.MAX_UDP_PAYLOAD, opts=[option]))
        packed = self.handle(question.pack(), resolver_ip or "127.0.0.1", tcp=False)
        assert packed is not None
        response = DNSRecord.parse(packed)
        data = [rr.rdata.toZone() for rr in response.rr if rr.rtype == int(getattr(QTYPE, rtype))]
        return {"RecordName": name, "RecordType": rtype, "RecordData": data,
                "ResponseCode": RCODE.get(response.header.rcode), "Protocol": "UDP"}
