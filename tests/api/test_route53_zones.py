"""Route 53 hosted zones through boto3: creation makes SOA and NS, CallerReference, listing orders and pages,
deletion refuses non-empty zones, changes are INSYNC, comments and tags."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import make_client


@pytest.fixture(scope="module")
def r53(endpoint: str) -> Any:
    return make_client(endpoint, "route53")


def unique(prefix: str = "zone") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}.test"


def create(r53: Any, name: str, **kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = r53.create_hosted_zone(Name=name, CallerReference=uuid.uuid4().hex, **kwargs)
    return result


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_create_makes_soa_and_ns_records_and_answers_201(r53: Any) -> None:
    name = unique()
    created = create(r53, name.upper(), HostedZoneConfig={"Comment": "first"})
    zone = created["HostedZone"]
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert zone["Name"] == name + "."  # stored in lower case with the trailing dot
    assert zone["Id"].startswith("/hostedzone/Z")
    assert zone["Config"] == {"Comment": "first", "PrivateZone": False}
    assert zone["ResourceRecordSetCount"] == 2
    assert created["Location"].endswith(zone["Id"])
    servers = created["DelegationSet"]["NameServers"]
    assert len(servers) == 4 and all(".awsdns-" in s for s in servers)
    assert created["ChangeInfo"]["Status"] == "INSYNC"

    records = r53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    assert [(r["Name"], r["Type"], r["TTL"]) for r in records] == [(name + ".", "NS", 172800),
                                                                  (name + ".", "SOA", 900)]
    assert [v["Value"] for v in records[0]["ResourceRecords"]] == [s + "." for s in servers]
    soa = records[1]["ResourceRecords"][0]["Value"].split()
    assert soa[0] == servers[0] + "." and soa[2:] == ["1", "7200", "900", "1209600", "86400"]


def test_same_caller_reference_is_refused(r53: Any) -> None:
    reference = uuid.uuid4().hex
    r53.create_hosted_zone(Name=unique(), CallerReference=reference)
    with pytest.raises(ClientError) as err:
        r53.create_hosted_zone(Name=unique(), CallerReference=reference)
    assert error_code(err) == "HostedZoneAlreadyExists"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_invalid_zone_name(r53: Any) -> None:
    with pytest.raises(ClientError) as err:
        create(r53, "bad..name.test")
    assert error_code(err) == "InvalidDomainName"


def test_get_and_missing_zone(r53: Any) -> None:
    created = create(r53, unique())
    got = r53.get_hosted_zone(Id=created["HostedZone"]["Id"])
    assert got["HostedZone"]["Id"] == created["HostedZone"]["Id"]
    assert got["DelegationSet"] == created["DelegationSet"]
    with pytest.raises(ClientError) as err:
        r53.get_hosted_zone(Id="ZNOSUCHZONE000000000")
    assert error_code(err) == "NoSuchHostedZone"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_private_zone_keeps_its_vpc(r53: Any) -> None:
    vpc = {"VPCRegion": "eu-west-1", "VPCId": "vpc-0123456789abcdef0"}
    created = create(r53, unique("private"), VPC=vpc, HostedZoneConfig={"PrivateZone": True})
    assert created["HostedZone"]["Config"]["PrivateZone"] is True
    assert created["VPC"] == vpc
    got = r53.get_hosted_zone(Id=created["HostedZone"]["Id"])
    assert got["VPCs"] == [vpc]


def test_list_hosted_zones_pages_with_markers(r53: Any) -> None:
    ids = {create(r53, unique("page"))["HostedZone"]["Id"] for _ in range(3)}
    seen: list[str] = []
    kwargs: dict[str, Any] = {"MaxItems": "2"}
    while True:
        page = r53.list_hosted_zones(**kwargs)
        assert len(page["HostedZones"]) <= 2 and page["MaxItems"] == "2"
        seen.extend(z["Id"] for z in page["HostedZones"])
        if not page["IsTruncated"]:
            break
        kwargs["Marker"] = page["NextMarker"]
    assert ids <= set(seen) and len(seen) == len(set(seen))
    assert r53.get_hosted_zone_count()["HostedZoneCount"] == len(seen)


def test_list_by_name_orders_by_reversed_labels(r53: Any) -> None:
    tld = "t" + uuid.uuid4().hex[:8]
    for name in (f"b.base.{tld}", f"base.{tld}", f"a.base.{tld}", f"z-base.{tld}"):
        create(r53, name)
    listed = r53.list_hosted_zones_by_name(DNSName=f"base.{tld}")
    got = [z["Name"] for z in listed["HostedZones"]]
    # labels reversed: tld.base. < tld.base.a. < tld.base.b. < tld.z-base.
    assert got[:4] == [f"base.{tld}.", f"a.base.{tld}.", f"b.base.{tld}.", f"z-base.{tld}."]
    assert listed["DNSName"] == f"base.{tld}"
    first = r53.list_hosted_zones_by_name(DNSName=f"base.{tld}", MaxItems="1")
    assert first["IsTruncated"] and first["NextDNSName"] == f"a.base.{tld}."
    following = r53.list_hosted_zones_by_name(DNSName=first["NextDNSName"], HostedZoneId=first["NextHostedZoneId"],
                                              MaxItems="1")
    assert following["HostedZones"][0]["Name"] == f"a.base.{tld}."


def test_delete_refuses_a_zone_with_records_then_succeeds(r53: Any) -> None:
    name = unique()
    zone_id = create(r53, name)["HostedZone"]["Id"]
    record = {"Name": "www." + name, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]}
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={
        "Changes": [{"Action": "CREATE", "ResourceRecordSet": record}]})
    with pytest.raises(ClientError) as err:
        r53.delete_hosted_zone(Id=zone_id)
    assert error_code(err) == "HostedZoneNotEmpty"
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={
        "Changes": [{"Action": "DELETE", "ResourceRecordSet": record}]})
    deleted = r53.delete_hosted_zone(Id=zone_id)
    assert deleted["ChangeInfo"]["Status"] == "INSYNC"
    with pytest.raises(ClientError) as err:
        r53.get_hosted_zone(Id=zone_id)
    assert error_code(err) == "NoSuchHostedZone"


def test_get_change_and_the_waiter(r53: Any) -> None:
    created = create(r53, unique())
    change_id = created["ChangeInfo"]["Id"]
    assert r53.get_change(Id=change_id)["ChangeInfo"]["Status"] == "INSYNC"
    r53.get_waiter("resource_record_sets_changed").wait(Id=change_id, WaiterConfig={"Delay": 1, "MaxAttempts": 2})
    with pytest.raises(ClientError) as err:
        r53.get_change(Id="CNOSUCHCHANGE")
    assert error_code(err) == "NoSuchChange"


def test_update_comment(r53: Any) -> None:
    zone_id = create(r53, unique())["HostedZone"]["Id"]
    updated = r53.update_hosted_zone_comment(Id=zone_id, Comment="now with a comment")
    assert updated["HostedZone"]["Config"]["Comment"] == "now with a comment"
    assert r53.get_hosted_zone(Id=zone_id)["HostedZone"]["Config"]["Comment"] == "now with a comment"


def test_tags_on_a_zone(r53: Any) -> None:
    zone_id = create(r53, unique())["HostedZone"]["Id"].split("/")[-1]
    r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id,
                                 AddTags=[{"Key": "team", "Value": "dns"}, {"Key": "env", "Value": "lab"}])
    r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id, RemoveTagKeys=["env"])
    tags = r53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id)["ResourceTagSet"]
    assert tags == {"ResourceType": "hostedzone", "ResourceId": zone_id, "Tags": [{"Key": "team", "Value": "dns"}]}
    with pytest.raises(ClientError) as err:
        r53.list_tags_for_resource(ResourceType="hostedzone", ResourceId="ZNOSUCHZONE000000000")
    assert error_code(err) == "NoSuchHostedZone"
