"""Route 53 alias records to CloudFront distributions (AliasTarget HostedZoneId Z2FDTNDATAQYW2, DNSName the
distribution's domain name as `<id>.cloudfront.net` or miniaws's `<id>.cloudfront.localhost`): they answer A with
the edge listener's address; an unknown distribution is InvalidChangeBatch, as on AWS."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from dnslib import RCODE

from miniaws.server import ServerThread
from tests.api.conftest import make_client
from tests.dataplane.conftest import a_values, ask, change, dig, needs_dig, new_zone

CLOUDFRONT_ZONE = "Z2FDTNDATAQYW2"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


def _distribution(server: ServerThread) -> tuple[str, str]:
    cf = make_client(server.endpoint_url, "cloudfront")
    created = cf.create_distribution(DistributionConfig={
        "CallerReference": uuid.uuid4().hex, "Comment": "alias", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "web", "DomainName": "origin.example.com",
            "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "web", "ViewerProtocolPolicy": "allow-all",
                                 "CachePolicyId": CACHING_DISABLED}})["Distribution"]
    return created["Id"], created["DomainName"]


def _alias(name: str, target: str, rtype: str = "A", zone: str = CLOUDFRONT_ZONE) -> dict[str, Any]:
    return {"Name": name, "Type": rtype,
            "AliasTarget": {"HostedZoneId": zone, "DNSName": target, "EvaluateTargetHealth": False}}


def _edge_host(server: ServerThread) -> str:
    assert server.server.edge is not None
    return "127.0.0.1"  # the edge binds the configured host, 127.0.0.1 in these tests


def test_alias_to_a_distribution_answers_the_edge_address(server: ServerThread, r53: Any, dns_port: int) -> None:
    ident, domain = _distribution(server)
    assert domain == ident.lower() + ".cloudfront.localhost"
    assert _edge_host(server) in server.server.edge.url  # type: ignore[union-attr]
    # the distribution's own name answers from miniaws's DNS
    own = ask(dns_port, domain)
    assert own.header.rcode == RCODE.NOERROR and a_values(own) == ["127.0.0.1"]
    zone_id, name = new_zone(r53)
    change(r53, zone_id, _alias("www." + name, f"{ident.lower()}.cloudfront.net"),
           _alias(name, domain + "."))
    for owner in ("www." + name, name):
        response = ask(dns_port, owner)
        assert response.header.aa and a_values(response) == ["127.0.0.1"], response
        assert [str(rr.rname) for rr in response.rr] == [owner]
    listed = r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    www = next(r for r in listed if r["Name"] == "www." + name)
    assert www["AliasTarget"]["DNSName"] == f"{ident.lower()}.cloudfront.net."
    assert www["AliasTarget"]["HostedZoneId"] == CLOUDFRONT_ZONE
    # no AAAA: the edge listens on an IPv4 address
    aaaa = ask(dns_port, "www." + name, "AAAA")
    assert aaaa.header.rcode == RCODE.NOERROR and not aaaa.rr


@needs_dig
def test_dig_an_alias_to_a_distribution(server: ServerThread, r53: Any, dns_port: int) -> None:
    ident, _ = _distribution(server)
    zone_id, name = new_zone(r53)
    change(r53, zone_id, _alias("cdn." + name, f"{ident}.cloudfront.net"))
    assert dig(dns_port, "+short", "cdn." + name).split() == ["127.0.0.1"]


def test_alias_to_an_unknown_distribution_is_rejected(server: ServerThread, r53: Any) -> None:
    zone_id, name = new_zone(r53)
    for target in ("enosuchdistrib.cloudfront.net", "enosuchdistrib.cloudfront.localhost"):
        with pytest.raises(ClientError) as caught:
            change(r53, zone_id, _alias("www." + name, target))
        error = caught.value.response["Error"]
        assert error["Code"] == "InvalidChangeBatch"
        assert "does not lie within the target zone" in error["Message"]
    ident, domain = _distribution(server)
    with pytest.raises(ClientError) as caught:  # a CNAME cannot alias a distribution
        change(r53, zone_id, _alias("txt." + name, domain, rtype="CNAME"))
    assert caught.value.response["Error"]["Code"] == "InvalidChangeBatch"
    with pytest.raises(ClientError) as caught:  # nor does a distribution live in another zone id
        change(r53, zone_id, _alias("other." + name, domain, zone="Z35SXDOTRQ7X7K"))
    assert caught.value.response["Error"]["Code"] == "InvalidChangeBatch"


def test_deleting_the_distribution_empties_the_alias(server: ServerThread, r53: Any, dns_port: int) -> None:
    ident, domain = _distribution(server)
    zone_id, name = new_zone(r53)
    change(r53, zone_id, _alias("gone." + name, domain))
    assert a_values(ask(dns_port, "gone." + name)) == ["127.0.0.1"]  # cached now
    cf = make_client(server.endpoint_url, "cloudfront")
    current = cf.get_distribution_config(Id=ident)
    disabled = cf.update_distribution(Id=ident, IfMatch=current["ETag"],
                                      DistributionConfig={**current["DistributionConfig"], "Enabled": False})
    cf.delete_distribution(Id=ident, IfMatch=disabled["ETag"])
    after = ask(dns_port, "gone." + name)
    assert after.header.rcode == RCODE.NOERROR and not after.rr
    assert ask(dns_port, domain).header.rcode == RCODE.REFUSED
