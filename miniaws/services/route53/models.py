"""Route 53's state: hosted zones with their record sets, changes, health checks and tags. Synchronous, no I/O.

Every mutation is journaled. Each zone also keeps the index the DNS server reads (name → type → record sets,
plus a count of names below each name so empty non-terminals answer NODATA, not NXDOMAIN), and the store has
a `generation` that moves on every change so the DNS server knows when its packed answers are stale.
"""
from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from dnslib import RD

from miniaws.services.route53.names import parent, sort_key
from miniaws.services.route53.records import parse_value
from miniaws.state.journal import Journal

NS_ZONE = "route53.zone"
NS_RRSET = "route53.rrset"
NS_CHANGE = "route53.change"
NS_HEALTH = "route53.healthcheck"
NS_TAGS = "route53.tags"

#: GetChange answers for this many recent changes (older ids answer NoSuchChange); bounds the journal
MAX_CHANGES = 1000

RecordKey = tuple[str, str, str]  # (canonical name, type, set identifier or "")


@dataclass(slots=True, frozen=True)
class AliasTarget:
    hosted_zone_id: str
    dns_name: str  # canonical
    evaluate_target_health: bool

    def wire(self) -> dict[str, Any]:
        return {"HostedZoneId": self.hosted_zone_id, "DNSName": self.dns_name,
                "EvaluateTargetHealth": self.evaluate_target_health}


@dataclass(slots=True, eq=False)
class RecordSet:
    """One resource record set. Immutable once stored: UPSERT stores a new object."""

    name: str
    type: str
    ttl: int | None = None
    values: tuple[str, ...] = ()
    set_identifier: str | None = None
    weight: int | None = None
    region: str | None = None
    failover: str | None = None
    #: ContinentCode / CountryCode / SubdivisionCode as given
    geo: tuple[tuple[str, str], ...] | None = None
    multivalue: bool | None = None
    health_check_id: str | None = None
    alias: AliasTarget | None = None
    _rdata: list[RD] | None = None

    @property
    def key(self) -> RecordKey:
        return (self.name, self.type, self.set_identifier or "")

    @property
    def policy(self) -> str:
        """simple | weighted | latency | failover | geolocation | multivalue (Route 53's routing policies)."""
        if self.weight is not None:
            return "weighted"
        if self.region is not None:
            return "latency"
        if self.failover is not None:
            return "failover"
        if self.geo is not None:
            return "geolocation"
        if self.multivalue is not None:
            return "multivalue"
        return "simple"

    @property
    def rdata(self) -> list[RD]:
        """The values as wire RDATA (parsed once; values were validated when the change was accepted)."""
        if self._rdata is None:
            self._rdata = [parse_value(self.type, v) for v in self.values]
        return self._rdata

    def same_as(self, other: "RecordSet") -> bool:
        """DELETE matches only a record set equal in every field (values in any order)."""
        return (self.key == other.key and self.ttl == other.ttl and sorted(self.values) == sorted(other.values)
                and self.weight == other.weight and self.region == other.region
                and self.failover == other.failover and self.geo == other.geo
                and bool(self.multivalue) == bool(other.multivalue)
                and self.health_check_id == other.health_check_id and self.alias == other.alias)

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Name": self.name, "Type": self.type}
        if self.set_identifier is not None:
            out["SetIdentifier"] = self.set_identifier
        if self.weight is not None:
            out["Weight"] = self.weight
        if self.region is not None:
            out["Region"] = self.region
        if self.geo is not None:
            out["GeoLocation"] = dict(self.geo)
        if self.failover is not None:
            out["Failover"] = self.failover
        if self.multivalue is not None:
            out["MultiValueAnswer"] = self.multivalue
        if self.ttl is not None:
            out["TTL"] = self.ttl
        if self.alias is None:
            out["ResourceRecords"] = [{"Value": v} for v in self.values]
        else:
            out["AliasTarget"] = self.alias.wire()
        if self.health_check_id is not None:
            out["HealthCheckId"] = self.health_check_id
        return out

    def record(self) -> dict[str, Any]:
        alias = self.alias
        return {"n": self.name, "t": self.type, "ttl": self.ttl, "v": list(self.values), "s": self.set_identifier,
                "w": self.weight, "r": self.region, "f": self.failover,
                "g": [list(p) for p in self.geo] if self.geo is not None else None, "m": self.multivalue,
                "h": self.health_check_id,
                "a": [alias.hosted_zone_id, alias.dns_name, alias.evaluate_target_health] if alias else None}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "RecordSet":
        geo = tuple((k, v) for k, v in r["g"]) if r["g"] is not None else None
        alias = AliasTarget(*r["a"]) if r["a"] else None
        return cls(r["n"], r["t"], r["ttl"], tuple(r["v"]), r["s"], r["w"], r["r"], r["f"], geo, r["m"], r["h"],
                   alias)


@dataclass(slots=True, eq=False)
class HostedZone:
    id: str
    name: str
    caller_reference: str
    created: float
    account_id: str
    name_servers: list[str]
    comment: str | None = None
    private: bool = False
    vpcs: list[dict[str, str]] = field(default_factory=list)
    records: dict[RecordKey, RecordSet] = field(default_factory=dict)
    #: DNS index: name → type → record sets (several when they have set identifiers)
    by_name: dict[str, dict[str, list[RecordSet]]] = field(default_factory=dict)
    #: how many owner names lie strictly below each name (> 0: the name exists, RFC 8020 / RFC 4592 §2.2.2)
    below: dict[str, int] = field(default_factory=dict)
    #: names below the apex with NS records: zone cuts that delegate their subtree (RFC 1034 §4.2.1)
    cuts: set[str] = field(default_factory=set)
    _listing: list[tuple[str, str, str, str]] | None = None

    @property
    def soa(self) -> RecordSet:
        return self.by_name[self.name]["SOA"][0]

    def wire(self) -> dict[str, Any]:
        config: dict[str, Any] = {"PrivateZone": self.private}
        if self.comment is not None:
            config["Comment"] = self.comment
        return {"Id": "/hostedzone/" + self.id, "Name": self.name, "CallerReference": self.caller_reference,
                "Config": config, "ResourceRecordSetCount": len(self.records)}

    def record(self) -> dict[str, Any]:
        return {"i": self.id, "n": self.name, "c": self.caller_reference, "t": self.created, "a": self.account_id,
                "ns": self.name_servers, "m": self.comment, "p": self.private, "v": self.vpcs}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "HostedZone":
        return cls(r["i"], r["n"], r["c"], r["t"], r["a"], r["ns"], r["m"], r["p"], r["v"])

    # -- the index -------------------------------------------------------------------------------
    def index_add(self, rrset: RecordSet) -> None:
        types = self.by_name.get(rrset.name)
        if types is None:
            types = self.by_name[rrset.name] = {}
            name: str | None = rrset.name
            while name != self.name and name is not None:
                name = parent(name)
                if name is not None:
                    self.below[name] = self.below.get(name, 0) + 1
        types.setdefault(rrset.type, []).append(rrset)
        if rrset.type == "NS" and rrset.name != self.name:
            self.cuts.add(rrset.name)
        self._listing = None

    def index_remove(self, rrset: RecordSet) -> None:
        types = self.by_name[rrset.name]
        sets = [s for s in types[rrset.type] if s is not rrset]
        if sets:
            types[rrset.type] = sets
        else:
            del types[rrset.type]
            if rrset.type == "NS":
                self.cuts.discard(rrset.name)
        if not types:
            del self.by_name[rrset.name]
            name: str | None = rrset.name
            while name != self.name and name is not None:
                name = parent(name)
                if name is not None:
                    left = self.below.get(name, 0) - 1
                    if left > 0:
                        self.below[name] = left
                    else:
                        self.below.pop(name, None)
        self._listing = None

    def listing(self) -> list[tuple[str, str, str, str]]:
        """(sort key, type, set identifier, name) in ListResourceRecordSets order: reversed name, type, id."""
        if self._listing is None:
            self._listing = sorted((sort_key(n), t, s, n) for n, t, s in self.records)
        return self._listing

    def listing_start(self, name: str | None, rtype: str | None, identifier: str | None) -> int:
        if name is None:
            return 0
        return bisect.bisect_left(self.listing(), (sort_key(name), rtype or "", identifier or ""))


@dataclass(slots=True)
class Change:
    id: str
    submitted: float
    comment: str | None = None

    def wire(self) -> dict[str, Any]:
        # changes are applied before the response is sent, so they are in sync at once
        out: dict[str, Any] = {"Id": "/change/" + self.id, "Status": "INSYNC", "SubmittedAt": self.submitted}
        if self.comment is not None:
            out["Comment"] = self.comment
        return out


@dataclass(slots=True, eq=False)
class HealthCheck:
    id: str
    caller_reference: str
    #: HealthCheckConfig as the API shows it (wire member names)
    config: dict[str, Any]
    created: float
    account_id: str
    version: int = 1

    def wire(self) -> dict[str, Any]:
        return {"Id": self.id, "CallerReference": self.caller_reference, "HealthCheckConfig": self.config,
                "HealthCheckVersion": self.version}

    def record(self) -> dict[str, Any]:
        return {"i": self.id, "c": self.caller_reference, "g": self.config, "t": self.created,
                "a": self.account_id, "v": self.version}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "HealthCheck":
        return cls(r["i"], r["c"], r["g"], r["t"], r["a"], r["v"])


class Route53Store:
    """Route 53 is a global service: one store for every region; zones and checks remember their account."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.zones: dict[str, HostedZone] = {}
        #: zone name → zones with that name, oldest first (the DNS server answers from the first public one)
        self.zones_by_name: dict[str, list[HostedZone]] = {}
        self.changes: OrderedDict[str, Change] = OrderedDict()
        self.health_checks: dict[str, HealthCheck] = {}
        self.tags: dict[str, dict[str, str]] = {}
        #: moves on every zone or record change (the DNS server's cache compares it)
        self.generation = 0
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def _changed(self) -> None:
        self.generation += 1
        for callback in self._listeners:
            callback()

    # -- zones --------------------------------------------------------------------------------------
    def add_zone(self, zone: HostedZone, records: list[RecordSet]) -> None:
        self.zones[zone.id] = zone
        self.zones_by_name.setdefault(zone.name, []).append(zone)
        self.journal.put(NS_ZONE, zone.id, orjson.dumps(zone.record()))
        for rrset in records:
            self._put_record(zone, rrset)
        self._changed()

    def update_zone(self, zone: HostedZone) -> None:
        self.journal.put(NS_ZONE, zone.id, orjson.dumps(zone.record()))

    def remove_zone(self, zone: HostedZone) -> None:
        for rrset in list(zone.records.values()):
            self._drop_record(zone, rrset)
        del self.zones[zone.id]
        same = [z for z in self.zones_by_name.get(zone.name, ()) if z is not zone]
        if same:
            self.zones_by_name[zone.name] = same
        else:
            self.zones_by_name.pop(zone.name, None)
        self.tags.pop("hostedzone/" + zone.id, None)
        self.journal.delete(NS_TAGS, "hostedzone/" + zone.id)
        self.journal.delete(NS_ZONE, zone.id)
        self._changed()

    # -- record sets --------------------------------------------------------------------------------
    def apply(self, zone: HostedZone, removed: list[RecordSet], added: list[RecordSet]) -> None:
        """Replace `removed` by `added` in one step (a validated change batch)."""
        for rrset in removed:
            self._drop_record(zone, rrset)
        for rrset in added:
            self._put_record(zone, rrset)
        self._changed()

    def _put_record(self, zone: HostedZone, rrset: RecordSet) -> None:
        zone.records[rrset.key] = rrset
        zone.index_add(rrset)
        self.journal.put(NS_RRSET, _rrset_key(zone, rrset), orjson.dumps(rrset.record()))

    def _drop_record(self, zone: HostedZone, rrset: RecordSet) -> None:
        del zone.records[rrset.key]
        zone.index_remove(rrset)
        self.journal.delete(NS_RRSET, _rrset_key(zone, rrset))

    # -- changes ------------------------------------------------------------------------------------
    def add_change(self, change: Change) -> None:
        self.changes[change.id] = change
        self.journal.put(NS_CHANGE, change.id, orjson.dumps([change.submitted, change.comment]))
        while len(self.changes) > MAX_CHANGES:
            old, _ = self.changes.popitem(last=False)
            self.journal.delete(NS_CHANGE, old)

    # -- health checks ------------------------------------------------------------------------------
    def put_health_check(self, check: HealthCheck) -> None:
        self.health_checks[check.id] = check
        self.journal.put(NS_HEALTH, check.id, orjson.dumps(check.record()))

    def remove_health_check(self, check: HealthCheck) -> None:
        del self.health_checks[check.id]
        self.tags.pop("healthcheck/" + check.id, None)
        self.journal.delete(NS_TAGS, "healthcheck/" + check.id)
        self.journal.delete(NS_HEALTH, check.id)

    # -- tags ---------------------------------------------------------------------------------------
    def set_tags(self, resource: str, tags: dict[str, str]) -> None:
        if tags:
            self.tags[resource] = tags
            self.journal.put(NS_TAGS, resource, orjson.dumps(tags))
        else:
            self.tags.pop(resource, None)
            self.journal.delete(NS_TAGS, resource)

    # -- persistence --------------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        for _, value in rows.get(NS_ZONE, ()):
            zone = HostedZone.from_record(orjson.loads(value))
            self.zones[zone.id] = zone
        for zone in sorted(self.zones.values(), key=lambda z: (z.created, z.id)):
            self.zones_by_name.setdefault(zone.name, []).append(zone)
        for key, value in rows.get(NS_RRSET, ()):
            owner = self.zones.get(key.split("/", 1)[0])
            if owner is not None:
                rrset = RecordSet.from_record(orjson.loads(value))
                owner.records[rrset.key] = rrset
                owner.index_add(rrset)
        for key, value in sorted(rows.get(NS_CHANGE, ()), key=lambda kv: orjson.loads(kv[1])[0]):
            submitted, comment = orjson.loads(value)
            self.changes[key] = Change(key, submitted, comment)
        for _, value in rows.get(NS_HEALTH, ()):
            check = HealthCheck.from_record(orjson.loads(value))
            self.health_checks[check.id] = check
        for key, value in rows.get(NS_TAGS, ()):
            self.tags[key] = orjson.loads(value)
        self._changed()

    def reset(self) -> None:
        self.zones.clear()
        self.zones_by_name.clear()
        self.changes.clear()
        self.health_checks.clear()
        self.tags.clear()
        self._changed()


def _rrset_key(zone: HostedZone, rrset: RecordSet) -> str:
    return f"{zone.id}/{rrset.name}/{rrset.type}/{rrset.set_identifier or ''}"
