"""Custom origin names that fall in a Route 53 hosted zone resolve through miniaws's own DNS, honouring the record's
TTL: changing the record moves edge traffic once the old answer expires (on the fake clock)."""
from __future__ import annotations

import uuid

from tests.api.conftest import make_client
from tests.dataplane.edge_support import CACHING_DISABLED, Edge, Origin, Reply


def test_origin_name_in_a_hosted_zone_follows_the_record() -> None:
    edge = Edge()
    first = Origin("127.0.0.1").start()
    second = Origin("127.0.0.2", first.port).start()
    try:
        r53 = make_client(edge.thread.endpoint_url, "route53")
        zone_name = f"edge-{uuid.uuid4().hex[:8]}.test."
        zone = r53.create_hosted_zone(Name=zone_name, CallerReference=uuid.uuid4().hex)["HostedZone"]["Id"]

        def point(address: str) -> None:
            r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
                "Action": "UPSERT", "ResourceRecordSet": {"Name": "origin." + zone_name, "Type": "A", "TTL": 60,
                                                          "ResourceRecords": [{"Value": address}]}}]})

        point("127.0.0.1")
        _, host = edge.distribution([{
            "Id": "web", "DomainName": "origin." + zone_name.rstrip("."),
            "CustomOriginConfig": {"HTTPPort": first.port, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only"}}],
            {"TargetOriginId": "web", "CachePolicyId": CACHING_DISABLED})
        # Connection: close, so each request opens a new connection and resolves the name again
        for origin, body in ((first, b"first"), (second, b"second")):
            origin.replies["/who"] = Reply(body=body, headers={"Connection": "close"})
        assert edge.get(host, "/who")[2] == b"first"
        point("127.0.0.2")
        assert edge.get(host, "/who")[2] == b"first"  # the answer is cached for its 60 s TTL
        edge.clock.advance(61)
        assert edge.get(host, "/who")[2] == b"second"
        assert second.requests[-1][2]["Host"] == f"origin.{zone_name.rstrip('.')}:{first.port}"
    finally:
        first.stop()
        second.stop()
        edge.stop()
