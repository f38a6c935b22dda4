"""query protocol: botocore serializes forms we parse; we write XML botocore parses back the same."""
from __future__ import annotations

from typing import Any

import pytest

from miniaws.core.errors import AwsError, NotImplementedOperation, UnknownOperation, ValidationError
from miniaws.protocols import query
from miniaws.protocols.errors import MissingAction
from miniaws.protocols.xml import parse
from miniaws.services.sts._spec import SPEC as STS

from .conftest import Oracle, normalize

T1 = 1_700_000_000.0


def roundtrip(oracle: Oracle, spec: dict[str, Any], operation: str, params: dict[str, Any]) -> dict[str, Any]:
    form = oracle.request(operation, params).form
    name, parsed = query.parse_request(spec, form)
    assert name == operation
    return parsed


def check(oracle: Oracle, spec: dict[str, Any], operation: str, result: dict[str, Any]) -> bytes:
    body = query.serialize_response(spec, operation, result, "req-1")
    assert oracle.parse(operation, 200, {}, body) == result
    return body


def test_assume_role_request(sts: Oracle) -> None:
    params = {
        "RoleArn": "arn:aws:iam::123456789012:role/demo", "RoleSessionName": "s&1",
        "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}, {"arn": "arn:aws:iam::1:policy/p"}],
        "Policy": '{"Version":"2012-10-17","Statement":[]}', "DurationSeconds": 3600,
        "Tags": [{"Key": "team", "Value": "a b"}, {"Key": "env", "Value": "prod=1"}],
        "TransitiveTagKeys": ["team"], "ExternalId": "ext", "SerialNumber": "sn", "TokenCode": "123456",
        "SourceIdentity": "me", "ProvidedContexts": [{"ProviderArn": "arn:p", "ContextAssertion": "c"}],
    }
    assert roundtrip(sts, STS, "AssumeRole", params) == params


def test_empty_list_and_no_input(sts: Oracle) -> None:
    params = {"RoleArn": "arn:r", "RoleSessionName": "s", "Tags": []}
    assert roundtrip(sts, STS, "AssumeRole", params) == params
    assert roundtrip(sts, STS, "GetCallerIdentity", {}) == {}
    assert roundtrip(sts, STS, "GetSessionToken", {"DurationSeconds": 900, "SerialNumber": "s",
                                                   "TokenCode": "1"}) == {"DurationSeconds": 900,
                                                                          "SerialNumber": "s", "TokenCode": "1"}


def test_list_order_follows_indexes_not_form_order() -> None:
    form = {"Action": "AssumeRole", "RoleArn": "r", "RoleSessionName": "s", "TransitiveTagKeys.member.10": "j",
            "TransitiveTagKeys.member.2": "b", "TransitiveTagKeys.member.1": "a"}
    assert query.parse_request(STS, form)[1]["TransitiveTagKeys"] == ["a", "b", "j"]


def test_bad_integer_is_validation_error() -> None:
    with pytest.raises(ValidationError) as info:
        query.parse_request(STS, {"Action": "GetSessionToken", "DurationSeconds": "an hour"})
    assert "DurationSeconds" in info.value.message and info.value.status == 400


def test_unknown_missing_and_unimplemented_actions() -> None:
    with pytest.raises(UnknownOperation) as unknown:
        query.parse_request(STS, {"Action": "Nope", "Version": "2011-06-15"})
    assert unknown.value.error_code == "InvalidAction"
    assert unknown.value.message == "Could not find operation Nope for version 2011-06-15"
    with pytest.raises(MissingAction):
        query.parse_request(STS, {"Version": "2011-06-15"})
    with pytest.raises(NotImplementedOperation) as unimplemented:
        query.parse_request(STS, {"Action": "GetFederationToken", "Name": "x"})
    assert "GetFederationToken" in unimplemented.value.message


def test_sts_responses(sts: Oracle) -> None:
    body = check(sts, STS, "GetCallerIdentity", {"UserId": "AIDAEXAMPLE", "Account": "123456789012",
                                                 "Arn": "arn:aws:iam::123456789012:user/me"})
    root = parse(body)
    assert root.tag == "GetCallerIdentityResponse" and root.attrs == {"xmlns": "https://sts.amazonaws.com/doc/2011-06-15/"}
    assert [c.tag for c in root.children] == ["GetCallerIdentityResult", "ResponseMetadata"]
    assert sts.parse("GetCallerIdentity", 200, {}, body) is not None
    check(sts, STS, "AssumeRole", {
        "Credentials": {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "s/k+", "SessionToken": "tok<&>",
                        "Expiration": T1},
        "AssumedRoleUser": {"AssumedRoleId": "AROA:s", "Arn": "arn:aws:sts::1:assumed-role/demo/s"},
        "PackedPolicySize": 6, "SourceIdentity": "me"})
    check(sts, STS, "GetSessionToken", {"Credentials": {"AccessKeyId": "a", "SecretAccessKey": "b",
                                                        "SessionToken": "c", "Expiration": T1 + 0.5}})


def test_response_metadata_request_id(sts: Oracle) -> None:
    body = query.serialize_response(STS, "GetCallerIdentity", {"Account": "1"}, "rid-9")
    parsed = sts._parser.parse({"status_code": 200, "headers": {}, "body": body},
                               sts.model.operation_model("GetCallerIdentity").output_shape)
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-9"


class ExpiredTokenException(AwsError):
    status = 400


class Throttling(AwsError):
    status = 503
    sender_fault = False


@pytest.mark.parametrize(("error", "kind"), [(ExpiredTokenException("The token expired"), "Sender"),
                                             (Throttling("slow down"), "Receiver")])
def test_errors(sts: Oracle, error: AwsError, kind: str) -> None:
    status, headers, body = query.serialize_error(STS, error, "rid")
    assert status == error.status and headers == {"Content-Type": "text/xml"}
    parsed = sts._parser.parse({"status_code": status, "headers": headers, "body": body},
                               sts.model.operation_model("AssumeRole").output_shape)
    assert parsed["Error"] == {"Type": kind, "Code": error.error_code, "Message": error.message}
    assert parsed["ResponseMetadata"]["RequestId"] == "rid"


def test_sns_maps(oracle: Any) -> None:
    # maps: `Attributes.entry.1.key/value` and named keys `MessageAttributes.entry.1.Name/Value.DataType`
    sns = oracle("sns")
    spec = sns.spec("CreateTopic", "Publish", "GetTopicAttributes", "ListTopics")
    params = {"Name": "t", "Attributes": {"DisplayName": "d", "FifoTopic": "false"},
              "Tags": [{"Key": "k", "Value": "v"}]}
    assert roundtrip(sns, spec, "CreateTopic", params) == params
    params = {"TopicArn": "arn:t", "Message": "m", "MessageAttributes": {
        "a": {"DataType": "String", "StringValue": "1"}, "b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}}}
    assert roundtrip(sns, spec, "Publish", params) == params
    check(sns, spec, "GetTopicAttributes", {"Attributes": {"TopicArn": "arn:t", "Policy": "{}"}})
    check(sns, spec, "ListTopics", {"Topics": [{"TopicArn": "a"}, {"TopicArn": "b"}], "NextToken": "n"})
    check(sns, spec, "Publish", {"MessageId": "m", "SequenceNumber": "1"})


def test_flattened_lists(oracle: Any) -> None:
    # SimpleDB: flattened lists named by their member (`Attribute.1.Name`), in requests and responses
    sdb = oracle("sdb")
    spec = sdb.spec("PutAttributes", "GetAttributes", "ListDomains")
    params = {"DomainName": "d", "ItemName": "i", "Attributes": [
        {"Name": "a", "Value": "1", "Replace": True}, {"Name": "b", "Value": "2"}],
              "Expected": {"Name": "a", "Exists": False}}
    assert roundtrip(sdb, spec, "PutAttributes", params) == params
    params = {"DomainName": "d", "ItemName": "i", "AttributeNames": ["a", "b"], "ConsistentRead": True}
    assert roundtrip(sdb, spec, "GetAttributes", params) == params
    check(sdb, spec, "GetAttributes", {"Attributes": [{"Name": "a", "Value": "1"}, {"Name": "b", "Value": "2"}]})
    check(sdb, spec, "ListDomains", {"DomainNames": ["x", "y"], "NextToken": "t"})


def test_parsed_types_are_plain(sts: Oracle) -> None:
    _, params = query.parse_request(STS, {"Action": "GetSessionToken", "DurationSeconds": "900"})
    assert params == {"DurationSeconds": 900} and normalize(params) == params
