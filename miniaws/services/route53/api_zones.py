"""Hosted zone operations: Create/Get/List/ListByName/Delete/Count/UpdateComment, GetChange, tags.

https://docs.aws.amazon.com/Route53/latest/APIReference/API_CreateHostedZone.html and the pages beside it.
"""
from __future__ import annotations

import hashlib
from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.route53.api_common import Route53Base, bare_id, max_items, resource_id
from miniaws.services.route53.errors import (HostedZoneAlreadyExists, HostedZoneNotEmpty, InvalidDomainName,
                                             InvalidInput, InvalidVPCId, NoSuchChange)
from miniaws.services.route53.models import HostedZone, RecordSet
from miniaws.services.route53.names import BadName, canonical, sort_key

LOCATION_PREFIX = "https://route53.amazonaws.com/2013-04-01/"
#: TTLs of the records Route 53 creates with a zone
NS_TTL = 172800
SOA_TTL = 900
#: serial 1, refresh 7200, retry 900, expire 1209600, minimum (negative-caching TTL) 86400
SOA_TIMERS = "1 7200 900 1209600 86400"


def delegation_set(zone_id: str) -> list[str]:
    """Four name servers in Route 53's shape (one each under .com, .net, .org and .co.uk), fixed per zone."""
    digest = hashlib.sha256(zone_id.encode()).digest()
    out = []
    for index, tld in enumerate(("com", "net", "org", "co.uk")):
        number = int.from_bytes(digest[index * 4:index * 4 + 2], "big") % 2048
        group = digest[index * 4 + 2] % 64
        out.append(f"ns-{number}.awsdns-{group:02d}.{tld}")
    return out


class ZoneOperations(Route53Base):
    @operation("CreateHostedZone")
    def create_hosted_zone(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        raw_name = str(params.get("Name", ""))
        try:
            name = canonical(raw_name)
        except BadName:
            raise InvalidDomainName(f"{raw_name} is not a valid domain name.") from None
        if name == ".":
            raise InvalidDomainName(f"{raw_name} is not a valid domain name.")
        reference = str(params.get("CallerReference", ""))
        if any(z.caller_reference == reference and z.account_id == ctx.account_id
               for z in self.store.zones.values()):
            raise HostedZoneAlreadyExists("A hosted zone has already been created with the specified caller "
                                          "reference.")
        if params.get("DelegationSetId"):
            raise InvalidInput("miniaws does not support reusable delegation sets")
        config = params.get("HostedZoneConfig") or {}
        vpc = params.get("VPC")
        private = bool(config.get("PrivateZone")) or vpc is not None
        vpcs: list[dict[str, str]] = []
        if private:
            if not vpc or not vpc.get("VPCId"):
                raise InvalidVPCId("A private hosted zone needs a VPC (VPCId and VPCRegion).")
            vpcs.append({"VPCRegion": str(vpc.get("VPCRegion") or ctx.region), "VPCId": str(vpc["VPCId"])})
        zone_id = resource_id("Z")
        servers = delegation_set(zone_id)
        zone = HostedZone(zone_id, name, reference, ctx.clock.now(), ctx.account_id, servers,
                          config.get("Comment"), private, vpcs)
        soa = RecordSet(name, "SOA", SOA_TTL, (f"{servers[0]}. awsdns-hostmaster.amazon.com. {SOA_TIMERS}",))
        ns = RecordSet(name, "NS", NS_TTL, tuple(s + "." for s in servers))
        self.store.add_zone(zone, [soa, ns])
        result: dict[str, Any] = {
            "HostedZone": zone.wire(), "ChangeInfo": self.new_change(ctx).wire(),
            "DelegationSet": {"NameServers": servers}, "Location": LOCATION_PREFIX + "hostedzone/" + zone_id,
        }
        if private:
            result["VPC"] = vpcs[0]
        return result

    @operation("GetHostedZone")
    def get_hosted_zone(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        zone = self.zone(ctx, params.get("Id"))
        result: dict[str, Any] = {"HostedZone": zone.wire()}
        if zone.private:
            result["VPCs"] = zone.vpcs
        else:
            result["DelegationSet"] = {"NameServers": zone.name_servers}
        return result

    @operation("GetHostedZoneCount")
    def get_hosted_zone_count(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"HostedZoneCount": sum(1 for z in self.store.zones.values() if z.account_id == ctx.account_id)}

    @operation("ListHostedZones")
    def list_hosted_zones(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """Zones in the order they were created; Marker is the id of the first zone of the page."""
        limit = max_items(params.get("MaxItems"), 100, 100)
        kind = params.get("HostedZoneType")
        zones = [z for z in self.store.zones.values() if z.account_id == ctx.account_id
                 and (kind is None or (kind == "PrivateHostedZone") == z.private)]
        marker = params.get("Marker")
        start = 0
        if marker:
            ids = [z.id for z in zones]
            if marker not in ids:
                raise InvalidInput(f"Invalid value for Marker: {marker}")
            start = ids.index(marker)
        page = zones[start:start + limit]
        result: dict[str, Any] = {"HostedZones": [z.wire() for z in page], "Marker": marker or "",
                                  "IsTruncated": start + limit < len(zones), "MaxItems": str(limit)}
        if result["IsTruncated"]:
            result["NextMarker"] = zones[start + limit].id
        return result

    @operation("ListHostedZonesByName")
    def list_hosted_zones_by_name(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """Ordered by name with the labels reversed, then by id (API_ListHostedZonesByName.html)."""
        limit = max_items(params.get("MaxItems"), 100, 100)
        dns_name, zone_id = params.get("DNSName"), params.get("HostedZoneId")
        if zone_id and not dns_name:
            raise InvalidInput("Invalid request: HostedZoneId requires DNSName")
        zones = sorted((z for z in self.store.zones.values() if z.account_id == ctx.account_id),
                       key=lambda z: (sort_key(z.name), z.id))
        start = 0
        if dns_name:
            try:
                first = (sort_key(canonical(str(dns_name))), bare_id(zone_id))
            except BadName:
                raise InvalidDomainName(f"{dns_name} is not a valid domain name.") from None
            start = next((i for i, z in enumerate(zones) if (sort_key(z.name), z.id) >= first), len(zones))
        page = zones[start:start + limit]
        result: dict[str, Any] = {"HostedZones": [z.wire() for z in page], "IsTruncated": start + limit < len(zones),
                                  "MaxItems": str(limit)}
        if dns_name:
            result["DNSName"] = dns_name
        if zone_id:
            result["HostedZoneId"] = bare_id(zone_id)
        if result["IsTruncated"]:
            following = zones[start + limit]
            result["NextDNSName"] = following.name
            result["NextHostedZoneId"] = following.id
        return result

    @operation("DeleteHostedZone")
    def delete_hosted_zone(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        zone = self.zone(ctx, params.get("Id"))
        # only the zone's own SOA and NS may remain (API_DeleteHostedZone.html)
        if any(not (rrset.name == zone.name and rrset.type in ("SOA", "NS")) for rrset in zone.records.values()):
            raise HostedZoneNotEmpty()
        self.store.remove_zone(zone)
        return {"ChangeInfo": self.new_change(ctx).wire()}

    @operation("UpdateHostedZoneComment")
    def update_hosted_zone_comment(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        zone = self.zone(ctx, params.get("Id"))
        zone.comment = params.get("Comment")
        self.store.update_zone(zone)
        return {"HostedZone": zone.wire()}

    @operation("GetChange")
    def get_change(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ident = bare_id(params.get("Id"))
        change = self.store.changes.get(ident)
        if change is None:
            raise NoSuchChange(f"A change with the specified change ID does not exist: {ident}")
        return {"ChangeInfo": change.wire()}

    # -- tags -------------------------------------------------------------------------------------
    def _tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> str:
        kind, ident = params.get("ResourceType"), str(params.get("ResourceId", ""))
        if kind == "hostedzone":
            return "hostedzone/" + self.zone(ctx, ident).id
        if kind == "healthcheck":
            return "healthcheck/" + self.health_check(ctx, ident).id
        raise InvalidInput(f"Invalid value for ResourceType: {kind}")

    @operation("ChangeTagsForResource")
    def change_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        resource = self._tag_resource(ctx, params)
        tags = dict(self.store.tags.get(resource, {}))
        for key in params.get("RemoveTagKeys") or ():
            tags.pop(key, None)
        for tag in params.get("AddTags") or ():
            tags[str(tag["Key"])] = str(tag.get("Value", ""))
        if len(tags) > 50:
            raise InvalidInput("A resource can have at most 50 tags")
        self.store.set_tags(resource, tags)
        return {}

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        resource = self._tag_resource(ctx, params)
        kind, ident = resource.split("/", 1)
        tags = self.store.tags.get(resource, {})
        return {"ResourceTagSet": {"ResourceType": kind, "ResourceId": ident,
                                   "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}}
