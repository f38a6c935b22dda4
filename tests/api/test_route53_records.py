"""ChangeResourceRecordSets and ListResourceRecordSets through boto3: atomic batches, Route 53's
InvalidChangeBatch messages, exact-match DELETE, UPSERT, routing-policy fields, aliases, ordering and paging."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import make_client


@pytest.fixture(scope="module")
def r53(endpoint: str) -> Any:
    return make_client(endpoint, "route53")


@pytest.fixture
def zone(r53: Any) -> tuple[str, str]:
    name = f"rec-{uuid.uuid4().hex[:10]}.test."
    created = r53.create_hosted_zone(Name=name, CallerReference=uuid.uuid4().hex)
    return created["HostedZone"]["Id"], name


def a_record(name: str, *values: str, ttl: int = 60, **extra: Any) -> dict[str, Any]:
    return {"Name": name, "Type": "A", "TTL": ttl, "ResourceRecords": [{"Value": v} for v in values], **extra}


def change(r53: Any, zone_id: str, *changes: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={
        "Changes": [{"Action": action, "ResourceRecordSet": rrset} for action, rrset in changes]})
    return result


def records(r53: Any, zone_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return found


def refused(r53: Any, zone_id: str, *changes: tuple[str, dict[str, Any]]) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        change(r53, zone_id, *changes)
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def test_create_then_duplicate_create_is_refused_with_route53s_message(r53: Any, zone: tuple[str, str]) -> None:
    zone_id, name = zone
    change(r53, zone_id, ("CREATE", a_record("www." + name, "192.0.2.1")))
    code, message = refused(r53, zone_id, ("CREATE", a_record("WWW." + name.rstrip("."), "192.0.2.9")))
    assert code == "InvalidChangeBatch"
    assert message == f"[Tried to create resource record set [name='www.{name}', type='A'] but it already exists]"


def test_a_batch_is_atomic(r53: Any, zone: tuple[str, str]) -> None:
    zone_id, name = zone
    before = records(r53, zone_id)
    code, message = refused(r53, zone_id, ("CREATE", a_record("ok." + name, "192.0.2.1")),
                            ("CREATE", a_record("bad." + name, "999.1.1.1")))
    assert code == "InvalidChangeBatch"
    assert "ARRDATAIllegalIPv4Address" in message and "'999.1.1.1'" in message
    assert records(r53, zone_id) == before  # the valid first change was not applied either


def test_every_problem_of_a_batch_is_reported(r53: Any, zone: tuple[str, str]) -> None:
    zone_id, name = zone
    _, message = refused(r53, zone_id, ("DELETE", a_record("gone." + name, "192.0.2.1")),
                         ("CREATE", {"Name": name, "Type": "CNAME", "TTL": 60,
                                     "ResourceRecords": [{"Value": "elsewhere.test"}]}),
                         ("CREATE", a_record("www.other-zone.test", "192.0.2.1")))
    assert message == (f"[Tried to delete resource record set [name='gone.{name}', type='A'] but it was not found, "
                       f"RRSet of type CNAME with DNS name {name} is not permitted at apex in zone {name}, "
                       f"RRSet with DNS name www.other-zone.test. is not permitted in zone {name}]")


def test_cname_cannot_share_a_name(r53: Any, zone: tuple[str, str]) -> None:
    zone_id, name = zone
    change(r53, zone_id, ("CREATE", a_record("both." + name, "192.0.2.1")))
    cname = {"Name": "both." + name, "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "x.test"}]}
    _, message = refused(r53, zone_id, ("CREATE", cname))
    assert message == (f"[RRSet of type CNAME with DNS name both.{name} is not permitted as it conflicts with other "
                       f"records with the same DNS name in zone {name}]")
    change(r53, zone_id, ("CREATE", {**cname, "Name": "alias." + name}))
    _, message = refused(r53, zone_id, ("CREATE", a_record("alias." + name, "192.0.2.2")))
    assert message == (f"[RRSet of type A with DNS name alias.{name} is not permitted because a conflicting RRSet "
                       f"of type  CNAME with the same DNS name already exists in zone {name}]")


def test_delete_must_match_exactly_and_delete_then_create_replaces(r53: Any, zone: tuple[str, str]) -> None:
    zone_id, name = zone
    change(r53, zone_id, ("CREATE", a_record("www." + name, "192.0.2.1", "192.0.2.2")))
    _, message = refused(r53, zone_id, ("DELETE", a_record("www." + name, "192.0.2.1")))
    assert message == (f"[Tried to delete resource record set [name='www.{name}', type='A'] but the values provided "
                       "do not match the current values]")
    change(r53, zone_id, ("DELETE", a_record("www." + name, "192.0.2.2", "192.0.2.1")),
           ("CREATE", a_record("www." + name, "192.0.2.3", ttl=30)))
    (www,) = [r for r in records(r53, zone_id) if r["Name"] == "www." + name]
    assert www["TTL"] == 30 and www["ResourceRecords"] == [{"Value": "192.0.2.3"}]


def test_upsert_creates_then_replaces(r53: Any, zone: tuple[str, str]) -> None:
    zone_id, name = zone
    change(r53, zone_id, ("UPSERT", {"Name": "txt." + name, "Type": "TXT", "TTL": 300,
                                     "ResourceRecords": [{"Value": '"v=spf1 -all"'}]}))
    change(r53, zone_id, ("UPSERT", {"Name": "txt." + name, "Type": "TXT", "TTL": 60,
                                     "ResourceRecords": [{"Value": '"one" "two"'}, {"Value": '"three"'}]}))
    (txt,) = [r for r in records(r53, zone_id) if r["Type"] == "TXT"]
    assert txt["TTL"] == 60 and [v["Value"] for v in txt["ResourceRecords"]] == ['"one" "two"', '"three"']


@pytest.mark.parametrize("rtype,value,fragment", [
    ("A", "1.2.3", "ARRDATAIllegalIPv4Address"),
    ("AAAA", "2001:db8::zz", "AAAARRDATAIllegalIPv6Address"),
    ("TXT", "no quotes", "InvalidCharacterString"),
    ("TXT", '"' + "x" * 256 + '"', "CharacterStringTooLong"),
    ("MX", "mail.example.test", "MXRRDATANotTwoFields"),
    ("SRV", "1 2 mail.example.test", "SRVRRDATANotFourFields"),
])
def test_values_are_validated_per_type(r53: Any, zone: tuple[str, str], rtype: str, value: str,
                                       fragment: str) -> None:
    zone_id, name = zone
    code, message = refused(r53, zone_id, ("CREATE", {"Name": "v." + name, "Type": rtype, "TTL": 60,
                                                      "ResourceRecords": [{"Value": value}]}))
    assert code == "InvalidChangeBatch"
    assert message.startswith("[Invalid Resource Record: FATAL problem: " + fragment)


def test_every_supported_type_round_trips(r53: Any, zone: tuple[str, str]) -> None:
    zone_id, name = zone
    values = {"AAAA": "2001:db8::1", "CAA": '0 issue "amazon.com"', "MX": "10 mail.example.test",
              "PTR": "host.example.test", "SPF": '"v=spf1 -all"', "SRV": "10 5 5060 sip.example.test",
              "TXT": '"hello" "world"', "NS": "ns1.example.test"}
    change(r53, zone_id, *[("CREATE", {"Name": f"{t.lower()}.{name}", "Type": t, "TTL": 60,
                                       "ResourceRecords": [{"Value": v}]}) for t, v in values.items()])
    got = {r["Type"]: r["ResourceRecords"][0]["Value"] for r in records(r53, zone_id) if r["Name"] != name}
    assert got == values


def test_structural_errors_are_invalid_input(r53: Any, zone: tuple[str, str]) -> None:
    zone_id, name = zone
    code, message = refused(r53, zone_id, ("CREATE", {"Name": "x." + name, "Type": "A",
                                                      "ResourceRecords": [{"Value": "192.0.2.1"}]}))
    assert code == "InvalidInput" and "Missing field 'TTL'" in message
    code, message = refused(r53, zone_id, ("CREATE", a_record("x." + name, "192.0.2.1", Weight=10)))
    assert code == "InvalidInput" and "Missing field 'SetIdentifier'" in message


def test_routing_policy_fields_round_trip(r53: Any, zone: tuple[str, str]) -> None:
    zone_id, name = zone
    change(r53, zone_id,
           ("CREATE", a_record("w." + name, "192.0.2.1", SetIdentifier="blue", Weight=200)),
           ("CREATE", a_record("w." + name, "192.0.2.2", SetIdentifier="green", Weight=0)),
           ("CREATE", a_record("lat." + name, "192.0.2.3", SetIdentifier="eu", Region="eu-west-1")),
           ("CREATE", a_record("geo." + name, "192.0.2.4", SetIdentifier="de", GeoLocation={"CountryCode": "DE"})),
           ("CREATE", a_record("geo." + name, "192.0.2.5", SetIdentifier="any", GeoLocation={"CountryCode": "*"})),
           ("CREATE", a_record("mv." + name, "192.0.2.6", SetIdentifier="one", MultiValueAnswer=True)),
           ("CREATE", a_record("fo." + name, "192.0.2.7", SetIdentifier="main", Failover="PRIMARY")),
           ("CREATE", a_record("fo." + name, "192.0.2.8", SetIdentifier="spare", Failover="SECONDARY")))
    by_id = {(r["Name"], r.get("SetIdentifier")): r for r in records(r53, zone_id)}
    assert by_id[("w." + name, "blue")]["Weight"] == 200
    assert by_id[("w." + name, "green")]["Weight"] == 0
    assert by_id[("lat." + name, "eu")]["Region"] == "eu-west-1"
    assert by_id[("geo." + name, "any")]["GeoLocation"] == {"CountryCode": "*"}
    assert by_id[("mv." + name, "one")]["MultiValueAnswer"] is True
    assert by_id[("fo." + name, "spare")]["Failover"] == "SECONDARY"
    # a record of another policy (or none) cannot join the group
    _, message = refused(r53, zone_id, ("CREATE", a_record("w." + name, "192.0.2.9", SetIdentifier="red",
                                                           Region="us-east-1")))
    assert message == (f'[RRSet with DNS name w.{name}, type A, SetIdentifier "red" cannot be created because a '
                       "non latency rrset exists with the same name and type.]")
    _, message = refused(r53, zone_id, ("CREATE", a_record("w." + name, "192.0.2.9")))
    assert message == (f"[RRSet with DNS name w.{name}, type A cannot be created as other RRSets exist with the same "
                       "name and type.]")


def test_alias_targets_must_exist(r53: Any, zone: tuple[str, str]) -> None:
    zone_id, name = zone
    bare = zone_id.split("/")[-1]
    alias = {"Name": name, "Type": "A",
             "AliasTarget": {"HostedZoneId": bare, "DNSName": "www." + name, "EvaluateTargetHealth": False}}
    _, message = refused(r53, zone_id, ("CREATE", alias))
    assert message == (f"[Tried to create an alias that targets www.{name}, type A in zone {bare}, but that target "
                       "was not found]")
    # the target may be created in the same batch, before the alias
    change(r53, zone_id, ("CREATE", a_record("www." + name, "192.0.2.1")), ("CREATE", alias))
    (apex,) = [r for r in records(r53, zone_id) if r["Name"] == name and r["Type"] == "A"]
    assert apex["AliasTarget"] == {"HostedZoneId": bare, "DNSName": "www." + name, "EvaluateTargetHealth": False}
    assert "TTL" not in apex and "ResourceRecords" not in apex


def test_soa_and_apex_ns_must_remain(r53: Any, zone: tuple[str, str]) -> None:
    zone_id, name = zone
    soa = next(r for r in records(r53, zone_id) if r["Type"] == "SOA")
    _, message = refused(r53, zone_id, ("DELETE", soa))
    assert message == "[A HostedZone must contain exactly one SOA record.]"
    value = soa["ResourceRecords"][0]["Value"].rsplit(" ", 1)[0] + " 60"
    change(r53, zone_id, ("UPSERT", {**soa, "ResourceRecords": [{"Value": value}]}))
    assert next(r for r in records(r53, zone_id) if r["Type"] == "SOA")["ResourceRecords"][0]["Value"] == value


def test_listing_order_escapes_and_pages(r53: Any, zone: tuple[str, str]) -> None:
    zone_id, name = zone
    names = ["b." + name, "a.b." + name, "*." + name, "z." + name, "a-1." + name]
    change(r53, zone_id, *[("CREATE", a_record(n, "192.0.2.1")) for n in names],
           ("CREATE", {"Name": "b." + name, "Type": "TXT", "TTL": 60, "ResourceRecords": [{"Value": '"t"'}]}),
           ("CREATE", a_record("w." + name, "192.0.2.2", SetIdentifier="two", Weight=1)),
           ("CREATE", a_record("w." + name, "192.0.2.3", SetIdentifier="one", Weight=1)))
    listed = [(r["Name"], r["Type"], r.get("SetIdentifier")) for r in records(r53, zone_id)]
    # reversed labels compared as ASCII ("\\052" before letters); then type; then set identifier
    assert listed == [(name, "NS", None), (name, "SOA", None), ("\\052." + name, "A", None),
                      ("a-1." + name, "A", None), ("b." + name, "A", None), ("b." + name, "TXT", None),
                      ("a.b." + name, "A", None),
                      ("w." + name, "A", "one"), ("w." + name, "A", "two"), ("z." + name, "A", None)]
    page = r53.list_resource_record_sets(HostedZoneId=zone_id, MaxItems="3")
    assert page["IsTruncated"] and len(page["ResourceRecordSets"]) == 3
    assert (page["NextRecordName"], page["NextRecordType"]) == ("a-1." + name, "A")
    nxt = r53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=page["NextRecordName"],
                                        StartRecordType=page["NextRecordType"], MaxItems="4")
    assert [(r["Name"], r["Type"]) for r in nxt["ResourceRecordSets"]] == [
        ("a-1." + name, "A"), ("b." + name, "A"), ("b." + name, "TXT"), ("a.b." + name, "A")]
    assert (nxt["NextRecordName"], nxt["NextRecordIdentifier"]) == ("w." + name, "one")
    paginator = r53.get_paginator("list_resource_record_sets")
    every = [r for p in paginator.paginate(HostedZoneId=zone_id, PaginationConfig={"PageSize": 2})
             for r in p["ResourceRecordSets"]]
    assert [(r["Name"], r["Type"], r.get("SetIdentifier")) for r in every] == listed
    with pytest.raises(ClientError) as err:
        r53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordType="A")
    assert err.value.response["Error"]["Code"] == "InvalidInput"


def test_change_info_and_count(r53: Any, zone: tuple[str, str]) -> None:
    zone_id, name = zone
    result = r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={
        "Comment": "add www",
        "Changes": [{"Action": "CREATE", "ResourceRecordSet": a_record("www." + name, "192.0.2.1")}]})
    info = result["ChangeInfo"]
    assert info["Status"] == "INSYNC" and info["Comment"] == "add www" and info["Id"].startswith("/change/C")
    assert r53.get_hosted_zone(Id=zone_id)["HostedZone"]["ResourceRecordSetCount"] == 3


def test_health_check_must_exist(r53: Any, zone: tuple[str, str]) -> None:
    zone_id, name = zone
    with pytest.raises(ClientError) as err:
        change(r53, zone_id, ("CREATE", a_record("hc." + name, "192.0.2.1", SetIdentifier="a", Weight=1,
                                                 HealthCheckId=str(uuid.uuid4()))))
    assert err.value.response["Error"]["Code"] == "NoSuchHealthCheck"


def test_dns_answer_reports_what_the_server_answers(r53: Any, zone: tuple[str, str]) -> None:
    zone_id, name = zone
    change(r53, zone_id, ("CREATE", a_record("www." + name, "192.0.2.1", "192.0.2.2")),
           ("CREATE", {"Name": "c." + name, "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "www." + name}]}))
    answer = r53.test_dns_answer(HostedZoneId=zone_id, RecordName="www." + name, RecordType="A")
    assert answer["ResponseCode"] == "NOERROR" and answer["Protocol"] == "UDP"
    assert sorted(answer["RecordData"]) == ["192.0.2.1", "192.0.2.2"]
    assert answer["Nameserver"] == r53.get_hosted_zone(Id=zone_id)["DelegationSet"]["NameServers"][0]
    missing = r53.test_dns_answer(HostedZoneId=zone_id, RecordName="nope." + name, RecordType="A")
    assert missing["ResponseCode"] == "NXDOMAIN" and missing["RecordData"] == []
    chased = r53.test_dns_answer(HostedZoneId=zone_id, RecordName="c." + name, RecordType="A")
    assert sorted(chased["RecordData"]) == ["192.0.2.1", "192.0.2.2"]
