"""Record set operations: ChangeResourceRecordSets, ListResourceRecordSets and TestDNSAnswer."""
from __future__ import annotations

from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.route53.api_common import Route53Base, max_items
from miniaws.services.route53.changes import apply_batch
from miniaws.services.route53.errors import InvalidInput
from miniaws.services.route53.names import BadName, canonical
from miniaws.services.route53.records import TYPES

#: ListResourceRecordSets returns up to 300 record sets at a time
LIST_LIMIT = 300


class RecordOperations(Route53Base):
    @operation("ChangeResourceRecordSets")
    def change_resource_record_sets(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html"""
        zone = self.zone(ctx, params.get("HostedZoneId"))
        batch = params.get("ChangeBatch") or {}
        changes = batch.get("Changes") or []
        if not changes:
            raise InvalidInput("Invalid request: the change batch has no changes")
        apply_batch(self.store, zone, changes, self.resolver.external)
        return {"ChangeInfo": self.new_change(ctx, batch.get("Comment")).wire()}

    @operation("ListResourceRecordSets")
    def list_resource_record_sets(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/Route53/latest/APIReference/API_ListResourceRecordSets.html: by name with
        the labels reversed, then type, then set identifier; a page starts at the first record set at or after
        (StartRecordName, StartRecordType, StartRecordIdentifier)."""
        zone = self.zone(ctx, params.get("HostedZoneId"))
        limit = max_items(params.get("MaxItems"), LIST_LIMIT, LIST_LIMIT)
        start_name, start_type = params.get("StartRecordName"), params.get("StartRecordType")
        if start_type is not None and start_name is None:
            raise InvalidInput("The input is not valid: StartRecordType requires StartRecordName")
        if start_type is not None and start_type not in TYPES:
            raise InvalidInput(f"Invalid type: {start_type}")
        name = None
        if start_name is not None:
            try:
                name = canonical(str(start_name))
            except BadName:
                raise InvalidInput(f"Invalid record name: {start_name}") from None
        listing = zone.listing()
        start = zone.listing_start(name, start_type, params.get("StartRecordIdentifier"))
        page = listing[start:start + limit]
        records = [zone.records[(n, t, s)].wire() for _, t, s, n in page]
        result: dict[str, Any] = {"ResourceRecordSets": records, "IsTruncated": start + limit < len(listing),
                                  "MaxItems": str(limit)}
        if result["IsTruncated"]:
            _, rtype, set_id, following = listing[start + limit]
            result["NextRecordName"] = following
            result["NextRecordType"] = rtype
            if set_id:
                result["NextRecordIdentifier"] = set_id
        return result

    @operation("TestDNSAnswer")
    def test_dns_answer(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """What the DNS server answers, obtained by sending it the query (API_TestDNSAnswer.html)."""
        zone = self.zone(ctx, params.get("HostedZoneId"))
        rtype = str(params.get("RecordType", ""))
        if rtype not in TYPES:
            raise InvalidInput(f"Invalid type: {rtype}")
        try:
            name = canonical(str(params.get("RecordName", "")))
        except BadName:
            raise InvalidInput(f"Invalid record name: {params.get('RecordName')}") from None
        mask = params.get("EDNS0ClientSubnetMask")
        subnet_ip = params.get("EDNS0ClientSubnetIP")
        try:
            answer = self.resolver.test_answer(name, rtype, params.get("ResolverIP"), subnet_ip,
                                               int(mask) if mask not in (None, "") else None)
        except ValueError as exc:
            raise InvalidInput(f"Invalid request: {exc}") from None
        answer["Nameserver"] = zone.name_servers[0]
        return answer
