"""ChangeResourceRecordSets: a batch of CREATE / DELETE / UPSERT validated and applied as one transaction.

Changes are checked in order against a working copy of the zone (a DELETE then a CREATE of the same record set is
how you replace one), every problem is collected, and nothing is stored unless the whole batch is valid — as
https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html describes. Messages
follow the wording Route 53 returns in InvalidChangeBatch.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from miniaws.services.route53.errors import InvalidChangeBatch, InvalidInput, NoSuchHealthCheck
from miniaws.services.route53.models import AliasTarget, HostedZone, RecordKey, RecordSet, Route53Store
from miniaws.services.route53.names import (CLOUDFRONT_SUFFIX, CLOUDFRONT_ZONE_ID, WILDCARD_LABEL, BadName,
                                            alias_target_name, canonical, is_subdomain)
from miniaws.services.route53.records import TYPES, BadRecord, parse_value

if TYPE_CHECKING:
    from miniaws.dataplane.dns.resolver import ExternalNames

ACTIONS = ("CREATE", "DELETE", "UPSERT")
CONTINENTS = frozenset({"AF", "AN", "AS", "EU", "OC", "NA", "SA"})
_POLICY_FIELDS = ("Weight", "Region", "Failover", "GeoLocation", "MultiValueAnswer", "GeoProximityLocation",
                  "CidrRoutingConfig")
#: how Route 53 names a routing policy in "cannot be created because a non … rrset exists"
_POLICY_LABELS = {"weighted": "weighted", "latency": "latency", "failover": "failover",
                  "geolocation": "geolocation", "multivalue": "multivalue answer"}


def _describe(action: str, name: str, rtype: str, set_id: str | None) -> str:
    return f"[Action={action}, Name={name}, Type={rtype}, SetIdentifier={set_id if set_id is not None else 'null'}]"


def _quote(rrset: RecordSet) -> str:
    """`[name='www.example.com.', type='A', set-identifier='blue']` as Route 53 quotes a record set."""
    extra = f", set-identifier='{rrset.set_identifier}'" if rrset.set_identifier is not None else ""
    return f"[name='{rrset.name}', type='{rrset.type}'{extra}]"


def build_record_set(action: str, wire: dict[str, Any]) -> RecordSet:
    """A RecordSet from a request's ResourceRecordSet; structural problems raise InvalidInput like Route 53."""
    raw_name, rtype = str(wire.get("Name", "")), str(wire.get("Type", ""))
    set_id = wire.get("SetIdentifier")
    where = _describe(action, raw_name, rtype, set_id)
    if rtype not in TYPES:
        raise InvalidInput(f"Invalid request: unsupported record type {rtype!r} in Change with {where}")
    try:
        name = canonical(raw_name)
    except BadName as exc:
        raise InvalidInput(f"Invalid request: {exc} in Change with {where}") from None
    where = _describe(action, name, rtype, set_id)
    alias_wire = wire.get("AliasTarget")
    values = tuple(str(r.get("Value", "")) for r in wire.get("ResourceRecords") or ())
    has_plain = "TTL" in wire or "ResourceRecords" in wire
    if alias_wire is not None and has_plain:
        raise InvalidInput("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], "
                           f"or TrafficPolicyInstanceId], but found more than one in Change with {where}")
    if alias_wire is None and ("TTL" not in wire or not values):
        missing = "TTL" if "TTL" not in wire else "ResourceRecords"
        if not has_plain:
            raise InvalidInput("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and "
                               f"ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with {where}")
        raise InvalidInput(f"Invalid request: Missing field '{missing}' in Change with {where}")
    policies = [f for f in _POLICY_FIELDS if wire.get(f) is not None]
    if len(policies) > 1:
        raise InvalidInput(f"Invalid request: Expected exactly one of [Weight, Region, Failover, GeoLocation, "
                           f"MultiValueAnswer, GeoProximityLocation, or CidrRoutingConfig], but found more than one "
                           f"in Change with {where}")
    if policies and set_id is None:
        raise InvalidInput(f"Invalid request: Missing field 'SetIdentifier' in Change with {where}")
    if set_id is not None and not policies:
        raise InvalidInput(f"Invalid request: Expected exactly one of [Weight, Region, Failover, GeoLocation, "
                           f"MultiValueAnswer, GeoProximityLocation, or CidrRoutingConfig], but found none "
                           f"in Change with {where}")
    if policies and policies[0] in ("GeoProximityLocation", "CidrRoutingConfig"):
        raise InvalidInput(f"Invalid request: {policies[0]} routing is not supported by miniaws in Change with {where}")
    geo = None
    if wire.get("GeoLocation") is not None:
        geo = _geo(wire["GeoLocation"], where)
    alias = None
    if alias_wire is not None:
        try:
            target = canonical(str(alias_wire.get("DNSName", "")))
        except BadName as exc:
            raise InvalidInput(f"Invalid request: {exc} in Change with {where}") from None
        zone_id = str(alias_wire.get("HostedZoneId", "")).rsplit("/", 1)[-1]
        alias = AliasTarget(zone_id, target, bool(alias_wire.get("EvaluateTargetHealth")))
    failover = wire.get("Failover")
    if failover is not None and failover not in ("PRIMARY", "SECONDARY"):
        raise InvalidInput(f"Invalid request: Failover must be PRIMARY or SECONDARY in Change with {where}")
    weight = wire.get("Weight")
    if weight is not None and not 0 <= int(weight) <= 255:
        raise InvalidInput(f"Invalid request: Weight must be between 0 and 255 in Change with {where}")
    return RecordSet(
        name=name, type=rtype, ttl=int(wire["TTL"]) if "TTL" in wire else None, values=values,
        set_identifier=set_id, weight=int(weight) if weight is not None else None, region=wire.get("Region"),
        failover=failover, geo=geo,
        multivalue=bool(wire["MultiValueAnswer"]) if wire.get("MultiValueAnswer") is not None else None,
        health_check_id=wire.get("HealthCheckId"), alias=alias)


def _geo(wire: dict[str, Any], where: str) -> tuple[tuple[str, str], ...]:
    """https://docs.aws.amazon.com/Route53/latest/APIReference/API_GeoLocation.html: a continent, or a country
    ("*" is the default location) with an optional subdivision."""
    continent, country, sub = wire.get("ContinentCode"), wire.get("CountryCode"), wire.get("SubdivisionCode")
    if continent is not None and (country is not None or sub is not None):
        raise InvalidInput(f"Invalid request: ContinentCode cannot be combined with CountryCode in Change with {where}")
    if continent is None and country is None:
        raise InvalidInput(f"Invalid request: GeoLocation needs ContinentCode or CountryCode in Change with {where}")
    if continent is not None and continent not in CONTINENTS:
        raise InvalidInput(f"Invalid request: Unknown continent code {continent} in Change with {where}")
    if country is not None and country != "*" and not (len(country) == 2 and country.isalpha()):
        raise InvalidInput(f"Invalid request: Unknown country code {country} in Change with {where}")
    if sub is not None and (country is None or country == "*"):
        raise InvalidInput(f"Invalid request: SubdivisionCode requires a CountryCode in Change with {where}")
    out = [(k, str(v)) for k, v in (("ContinentCode", continent), ("CountryCode", country),
                                    ("SubdivisionCode", sub)) if v is not None]
    return tuple(out)


class _Batch:
    """The zone as the batch has changed it so far (an overlay on the stored record sets)."""

    def __init__(self, store: Route53Store, zone: HostedZone, external: Sequence[ExternalNames] = ()) -> None:
        self.store = store
        self.zone = zone
        self.external = external
        self.overlay: dict[RecordKey, RecordSet | None] = {}
        self.messages: list[str] = []

    def get(self, key: RecordKey) -> RecordSet | None:
        if key in self.overlay:
            return self.overlay[key]
        return self.zone.records.get(key)

    def at_name(self, name: str) -> list[RecordSet]:
        found: list[RecordSet] = []
        for sets in self.zone.by_name.get(name, {}).values():
            found.extend(s for s in sets if s.key not in self.overlay)
        found.extend(s for k, s in self.overlay.items() if s is not None and k[0] == name)
        return found

    # -- one change -------------------------------------------------------------------------------
    def change(self, action: str, rrset: RecordSet) -> None:
        zone = self.zone
        if not is_subdomain(rrset.name, zone.name):
            self.messages.append(f"RRSet with DNS name {rrset.name} is not permitted in zone {zone.name}")
            return
        existing = self.get(rrset.key)
        if action == "DELETE":
            if existing is None:
                self.messages.append(f"Tried to delete resource record set {_quote(rrset)} but it was not found")
            elif not existing.same_as(rrset):
                self.messages.append(f"Tried to delete resource record set {_quote(rrset)} but the values provided "
                                     "do not match the current values")
            else:
                self.overlay[rrset.key] = None
            return
        if action == "CREATE" and existing is not None:
            self.messages.append(f"Tried to create resource record set {_quote(rrset)} but it already exists")
            return
        problems = self._check(rrset)
        if problems:
            self.messages.extend(problems)
            return
        self.overlay[rrset.key] = rrset

    def _check(self, rrset: RecordSet) -> list[str]:
        zone, name, rtype = self.zone, rrset.name, rrset.type
        problems: list[str] = []
        if rrset.alias is None:
            seen: set[str] = set()
            for value in rrset.values:
                try:
                    parse_value(rtype, value)
                except BadRecord as exc:
                    problems.append(str(exc))
                if value in seen:
                    problems.append(f"Duplicate Resource Record: '{value}'")
                seen.add(value)
            if rtype in ("CNAME", "SOA") and len(rrset.values) > 1:
                problems.append(f"RRSet of type {rtype} with DNS name {name} has more than one value")
        else:
            problems.extend(self._check_alias(rrset))
        if rtype == "SOA" and name != zone.name:
            problems.append(f"RRSet of type SOA with DNS name {name} is not permitted in zone {zone.name}")
        if rtype == "NS" and name.split(".", 1)[0] == WILDCARD_LABEL:
            problems.append(f"RRSet of type NS with DNS name {name} is not permitted because NS records cannot "
                            "be wildcards")
        if rrset.health_check_id is not None and rrset.health_check_id not in self.store.health_checks:
            raise NoSuchHealthCheck(f"No health check exists with the specified ID {rrset.health_check_id}")
        others = [s for s in self.at_name(name) if s.key != rrset.key]
        if rtype == "CNAME":
            if name == zone.name:
                problems.append(f"RRSet of type CNAME with DNS name {name} is not permitted at apex in zone "
                                f"{zone.name}")
            elif any(s.type != "CNAME" for s in others):
                problems.append(f"RRSet of type CNAME with DNS name {name} is not permitted as it conflicts with "
                                f"other records with the same DNS name in zone {zone.name}")
        elif any(s.type == "CNAME" for s in others):
            # the two spaces before CNAME are in Route 53's own message
            problems.append(f"RRSet of type {rtype} with DNS name {name} is not permitted because a conflicting "
                            f"RRSet of type  CNAME with the same DNS name already exists in zone {zone.name}")
        same_type = [s for s in others if s.type == rtype]
        if same_type:
            problems.extend(self._check_policy(rrset, same_type))
        return problems

    def _check_policy(self, rrset: RecordSet, same_type: list[RecordSet]) -> list[str]:
        name, rtype = rrset.name, rrset.type
        if rrset.set_identifier is None:
            return [f"RRSet with DNS name {name}, type {rtype} cannot be created as other RRSets exist with the "
                    "same name and type."]
        policy = rrset.policy
        head = f'RRSet with DNS name {name}, type {rtype}, SetIdentifier "{rrset.set_identifier}" cannot be created'
        if any(s.policy != policy for s in same_type):
            # Route 53 names the policy of the record set being created: "a non multivalue answer rrset exists"
            return [f"{head} because a non {_POLICY_LABELS[policy]} rrset exists with the same name and type."]
        if policy == "failover" and any(s.failover == rrset.failover for s in same_type):
            return [f"{head} because another {rrset.failover} failover rrset exists with the same name and type."]
        if policy == "geolocation" and any(s.geo == rrset.geo for s in same_type):
            return [f"{head} because another rrset with the same geolocation exists with the same name and type."]
        if policy == "latency" and any(s.region == rrset.region for s in same_type):
            return [f"{head} because another rrset for region {rrset.region} exists with the same name and type."]
        return []

    def _check_alias(self, rrset: RecordSet) -> list[str]:
        alias = rrset.alias
        assert alias is not None
        head = (f"Tried to create an alias that targets {alias.dns_name}, type {rrset.type} in zone "
                f"{alias.hosted_zone_id}")
        if rrset.type in ("SOA", "NS"):
            return [f"{head}, but alias records of type {rrset.type} are not supported"]
        if alias.hosted_zone_id == CLOUDFRONT_ZONE_ID:
            # a distribution's domain name (`<id>.cloudfront.net` as on AWS, or miniaws's own name for it)
            name = alias_target_name(alias.hosted_zone_id, alias.dns_name)
            if rrset.type in ("A", "AAAA") and any(e.addresses(name) is not None for e in self.external):
                return []
            return [f"{head}, but the alias target name does not lie within the target zone"]
        target_zone = self.store.zones.get(alias.hosted_zone_id)
        if target_zone is None:
            # an alias to a load balancer names ELB's zone and the load balancer's DNS name
            if rrset.type in ("A", "AAAA") and not alias.dns_name.endswith(CLOUDFRONT_SUFFIX) \
                    and any(e.addresses(alias.dns_name) is not None for e in self.external):
                return []
            return [f"{head}, but the alias target zone does not exist"]
        if not is_subdomain(alias.dns_name, target_zone.name):
            return [f"{head}, but the alias target name does not lie within the target zone"]
        if target_zone is self.zone:
            present = any(s.type == rrset.type for s in self.at_name(alias.dns_name))
        else:
            present = rrset.type in target_zone.by_name.get(alias.dns_name, {})
        if not present:
            return [f"{head}, but that target was not found"]
        if alias.dns_name == rrset.name and target_zone is self.zone:
            return [f"{head}, but an alias cannot target itself"]
        return []

    # -- the whole batch ----------------------------------------------------------------------------
    def finish(self) -> tuple[list[RecordSet], list[RecordSet]]:
        zone = self.zone
        apex = self.at_name(zone.name)
        if sum(1 for s in apex if s.type == "SOA") != 1:
            self.messages.append("A HostedZone must contain exactly one SOA record.")
        if not any(s.type == "NS" for s in apex):
            self.messages.append("A HostedZone must contain at least one NS record for the zone itself.")
        if self.messages:
            raise InvalidChangeBatch(self.messages)
        removed, added = [], []
        for key, final in self.overlay.items():
            original = zone.records.get(key)
            if original is final:
                continue
            if original is not None:
                removed.append(original)
            if final is not None:
                added.append(final)
        return removed, added


def apply_batch(store: Route53Store, zone: HostedZone, changes: list[dict[str, Any]],
                external: Sequence[ExternalNames] = ()) -> None:
    """Validate every change and store the result, or raise without storing anything. `external` owns names
    outside the hosted zones that aliases may target (load balancers)."""
    batch = _Batch(store, zone, external)
    for change in changes:
        action = str(change.get("Action", ""))
        wire = change.get("ResourceRecordSet") or {}
        if action not in ACTIONS:
            raise InvalidInput(f"Invalid request: unknown action {action!r}")
        batch.change(action, build_record_set(action, wire))
    removed, added = batch.finish()
    store.apply(zone, removed, added)
