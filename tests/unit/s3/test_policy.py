"""Bucket policy evaluation and "is it public", as case tables (no server)."""
from __future__ import annotations

import json
from typing import Any

import pytest

from miniaws.services.s3.policy import Caller, Effect, MalformedPolicy, parse_policy

BUCKET = "b"
ALICE = "arn:aws:iam::111111111111:user/alice"


def caller(action: str = "s3:GetObject", resource: str = "arn:aws:s3:::b/k", *, anonymous: bool = False,
           account: str = "111111111111", arn: str = ALICE, canonical: str = "c" * 64,
           context: dict[str, Any] | None = None) -> Caller:
    """A request; `context` maps condition keys (lower-case, as the evaluator asks) to their values."""
    values = context or {}

    def lookup(key: str) -> list[str] | None:
        value = values.get(key)
        return None if value is None else (value if isinstance(value, list) else [value])

    return Caller(anonymous, canonical, account, arn, action, resource, lookup)


def policy(*statements: dict[str, Any]) -> Any:
    return parse_policy(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}), BUCKET)


def allow(**extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", **extra}


@pytest.mark.parametrize("statement, request_, expected", [
    (allow(), caller(), Effect.ALLOW),
    (allow(), caller(anonymous=True), Effect.ALLOW),
    (allow(Principal={"AWS": "111111111111"}), caller(), Effect.ALLOW),
    (allow(Principal={"AWS": "arn:aws:iam::111111111111:root"}), caller(), Effect.ALLOW),
    (allow(Principal={"AWS": "222222222222"}), caller(), None),
    (allow(Principal={"AWS": ALICE}), caller(), Effect.ALLOW),
    (allow(Principal={"AWS": ALICE}), caller(anonymous=True), None),
    (allow(Principal={"CanonicalUser": "C" * 64}), caller(), Effect.ALLOW),
    (allow(Action="s3:Get*"), caller(), Effect.ALLOW),
    (allow(Action="S3:getobject"), caller(), Effect.ALLOW),  # actions are case-insensitive
    (allow(Action="s3:Put*"), caller(), None),
    (allow(Resource="arn:aws:s3:::b/public/*"), caller(), None),
    (allow(Resource="arn:aws:s3:::b/public/*"), caller(resource="arn:aws:s3:::b/public/x"), Effect.ALLOW),
    (allow(Resource="arn:aws:s3:::b/?"), caller(), Effect.ALLOW),
    ({**allow(), "Effect": "Deny"}, caller(), Effect.DENY),
    ({"Effect": "Deny", "NotPrincipal": {"AWS": ALICE}, "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"},
     caller(), None),
    ({"Effect": "Deny", "NotPrincipal": {"AWS": ALICE}, "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"},
     caller(arn="arn:aws:iam::111111111111:user/bob"), Effect.DENY),
    ({"Effect": "Allow", "Principal": "*", "NotAction": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/*"},
     caller(), Effect.ALLOW),
    ({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b/secret/*"},
     caller(resource="arn:aws:s3:::b/secret/x"), None),
])
def test_principals_actions_resources(statement: dict[str, Any], request_: Caller, expected: Effect | None) -> None:
    assert policy(statement).evaluate(request_) is expected


@pytest.mark.parametrize("condition, context, expected", [
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:sourceip": "10.1.2.3"}, True),
    ({"IpAddress": {"aws:SourceIp": ["192.168.0.0/16", "10.0.0.0/8"]}}, {"aws:sourceip": "10.1.2.3"}, True),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:sourceip": "127.0.0.1"}, False),
    ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:sourceip": "127.0.0.1"}, True),
    ({"IpAddress": {"aws:SourceIp": "::1/128"}}, {"aws:sourceip": "::1"}, True),
    ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:securetransport": "false"}, True),
    ({"Bool": {"aws:SecureTransport": False}}, {"aws:securetransport": "false"}, True),
    ({"StringLike": {"s3:prefix": ["home/*", ""]}}, {"s3:prefix": "home/alice/"}, True),
    ({"StringLike": {"s3:prefix": "home/*"}}, {}, False),  # absent key: no match
    ({"StringLikeIfExists": {"s3:prefix": "home/*"}}, {}, True),
    ({"StringNotEquals": {"s3:prefix": "x"}}, {}, True),  # negated operators match an absent key
    ({"StringEquals": {"s3:ExistingObjectTag/team": "blue"}}, {"s3:existingobjecttag/team": "blue"}, True),
    ({"StringEqualsIgnoreCase": {"aws:username": "ALICE"}}, {"aws:username": "alice"}, True),
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "5"}, True),
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "50"}, False),
    ({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
     {"aws:currenttime": "2024-05-01T00:00:00.000Z"}, True),
    ({"Null": {"s3:x-amz-server-side-encryption": "true"}}, {}, True),
    ({"Null": {"s3:x-amz-server-side-encryption": "false"}}, {}, False),
    ({"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]}},
     {"s3:requestobjecttagkeys": ["c", "b"]}, True),
    ({"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]}},
     {"s3:requestobjecttagkeys": ["c", "b"]}, False),
    ({"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]}}, {}, True),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}, "Bool": {"aws:SecureTransport": "true"}},
     {"aws:sourceip": "10.0.0.1", "aws:securetransport": "false"}, False),  # every operator must hold
])
def test_conditions(condition: dict[str, Any], context: dict[str, Any], expected: bool) -> None:
    found = policy(allow(Condition=condition)).evaluate(caller(context=context))
    assert (found is Effect.ALLOW) is expected


def test_explicit_deny_wins_and_public_statements_can_be_skipped() -> None:
    both = policy(allow(), {**allow(), "Effect": "Deny", "Resource": "arn:aws:s3:::b/secret/*"})
    assert both.evaluate(caller(resource="arn:aws:s3:::b/secret/x")) is Effect.DENY
    assert both.evaluate(caller(resource="arn:aws:s3:::b/other")) is Effect.ALLOW
    assert both.evaluate(caller(resource="arn:aws:s3:::b/other"), skip_public=True) is None


@pytest.mark.parametrize("statement, public", [
    (allow(), True),
    (allow(Principal={"AWS": "*"}), True),
    (allow(Principal={"AWS": "111111111111"}), False),
    (allow(Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}), False),
    (allow(Condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}), True),
    (allow(Condition={"StringEquals": {"aws:SourceAccount": "111111111111"}}), False),
    (allow(Condition={"StringLike": {"aws:SourceArn": "*"}}), True),
    (allow(Condition={"StringEquals": {"s3:prefix": "x"}}), True),  # not a key that limits who calls
    ({**allow(), "Effect": "Deny"}, False),
])
def test_is_public(statement: dict[str, Any], public: bool) -> None:
    assert policy(statement).public is public


@pytest.mark.parametrize("document", [
    "[]", '{"Statement": []}', '{"Version": "2000-01-01", "Statement": [{}]}',
    json.dumps({"Statement": [allow(Principal={"Bogus": "x"})]}),
    json.dumps({"Statement": [allow(Condition={"StringEquals": {"foo:bar": "x"}})]}),
    json.dumps({"Statement": [{**allow(), "NotAction": "s3:PutObject"}]}),
    json.dumps({"Statement": [allow(Resource="arn:aws:s3:::other/*")]}),
    json.dumps({"Statement": [allow(Action=["s3:GetObject", "s3:ListBucket"])]}),
])
def test_malformed(document: str) -> None:
    with pytest.raises(MalformedPolicy):
        parse_policy(document, BUCKET)
