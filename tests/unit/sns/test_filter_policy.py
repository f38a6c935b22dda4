"""Filter policies as case tables: every operator on message attributes and on the message body, nesting,
`$or`, and the validation errors AWS answers with (examples follow the Developer Guide's "Amazon SNS message
filtering" pages)."""
from __future__ import annotations

from typing import Any

import orjson
import pytest

from miniaws.services.sns.filter_policy import FilterInput, FilterPolicyError, parse


def _s(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def _n(value: str) -> dict[str, str]:
    return {"DataType": "Number", "StringValue": value}


# the Developer Guide's running example: a store's order event
ATTRIBUTES = {
    "store": _s("example_corp"),
    "event": _s("order_placed"),
    "customer_interests": {"DataType": "String.Array", "StringValue": '["soccer", "rugby", "hockey"]'},
    "price_usd": _n("210.75"),
    "source_ip": _s("10.0.0.12"),
    "encrypted": {"DataType": "Binary", "BinaryValue": b"\x00"},
    "flags": {"DataType": "String.Array", "StringValue": '[true, 3, null, "x"]'},
}

ATTRIBUTE_CASES: list[tuple[dict[str, Any], bool]] = [
    # exact strings, OR within a key, AND across keys
    ({"store": ["example_corp"]}, True),
    ({"store": ["other_corp"]}, False),
    ({"store": ["other_corp", "example_corp"]}, True),
    ({"store": ["example_corp"], "event": ["order_cancelled"]}, False),
    ({"store": ["example_corp"], "event": ["order_placed"]}, True),
    ({"missing": ["x"]}, False),
    # String.Array: any element
    ({"customer_interests": ["rugby"]}, True),
    ({"customer_interests": ["tennis"]}, False),
    ({"flags": [True]}, True),
    ({"flags": [3]}, True),
    ({"flags": [None]}, True),
    ({"flags": ["true"]}, False),
    # strings never equal numbers and numbers never equal strings
    ({"price_usd": ["210.75"]}, False),
    ({"price_usd": [210.75]}, True),
    ({"store": [0]}, False),
    # prefix / suffix / equals-ignore-case
    ({"event": [{"prefix": "order_"}]}, True),
    ({"event": [{"prefix": "Order_"}]}, False),
    ({"event": [{"prefix": {"equals-ignore-case": "ORDER_"}}]}, True),
    ({"event": [{"suffix": "_placed"}]}, True),
    ({"event": [{"suffix": {"equals-ignore-case": "_PLACED"}}]}, True),
    ({"event": [{"suffix": "_shipped"}]}, False),
    ({"store": [{"equals-ignore-case": "EXAMPLE_CORP"}]}, True),
    ({"store": [{"equals-ignore-case": "EXAMPLE"}]}, False),
    # anything-but: single, list, numbers, prefix, suffix, equals-ignore-case; never matches an absent key
    ({"store": [{"anything-but": "other_corp"}]}, True),
    ({"store": [{"anything-but": "example_corp"}]}, False),
    ({"store": [{"anything-but": ["a", "example_corp"]}]}, False),
    ({"store": [{"anything-but": ["a", "b"]}]}, True),
    ({"price_usd": [{"anything-but": [100, 210.75]}]}, False),
    ({"price_usd": [{"anything-but": 100}]}, True),
    ({"event": [{"anything-but": {"prefix": "order"}}]}, False),
    ({"event": [{"anything-but": {"prefix": "invoice"}}]}, True),
    ({"event": [{"anything-but": {"suffix": "placed"}}]}, False),
    ({"store": [{"anything-but": {"equals-ignore-case": ["EXAMPLE_CORP"]}}]}, False),
    ({"store": [{"anything-but": {"equals-ignore-case": "OTHER"}}]}, True),
    ({"customer_interests": [{"anything-but": ["rugby"]}]}, True),
    ({"missing": [{"anything-but": "x"}]}, False),
    # numeric
    ({"price_usd": [{"numeric": ["=", 210.75]}]}, True),
    ({"price_usd": [{"numeric": ["=", 210.7]}]}, False),
    ({"price_usd": [{"numeric": [">", 210]}]}, True),
    ({"price_usd": [{"numeric": [">=", 210.75]}]}, True),
    ({"price_usd": [{"numeric": ["<", 210.75]}]}, False),
    ({"price_usd": [{"numeric": ["<=", 210.75]}]}, True),
    ({"price_usd": [{"numeric": [">", 0, "<=", 150]}]}, False),
    ({"price_usd": [{"numeric": [">=", 200, "<", 300]}]}, True),
    ({"store": [{"numeric": [">", 0]}]}, False),
    # exists
    ({"store": [{"exists": True}]}, True),
    ({"missing": [{"exists": True}]}, False),
    ({"missing": [{"exists": False}]}, True),
    ({"store": [{"exists": False}]}, False),
    ({"encrypted": [{"exists": True}]}, False),  # binary attributes take no part in filtering
    # cidr
    ({"source_ip": [{"cidr": "10.0.0.0/24"}]}, True),
    ({"source_ip": [{"cidr": "10.0.1.0/24"}]}, False),
    ({"source_ip": [{"cidr": "2001:db8::/32"}]}, False),
    ({"store": [{"cidr": "10.0.0.0/8"}]}, False),
    # mixed rules in one key are ORed
    ({"store": ["x", {"prefix": "example"}]}, True),
    ({"missing": ["x", {"exists": False}]}, True),
    # $or across keys
    ({"$or": [{"store": ["nope"]}, {"event": ["order_placed"]}]}, True),
    ({"$or": [{"store": ["nope"]}, {"event": ["nope"]}]}, False),
    ({"store": ["example_corp"], "$or": [{"price_usd": [{"numeric": [">", 500]}]}, {"event": ["order_placed"]}]},
     True),
]


@pytest.mark.parametrize("policy, expected", ATTRIBUTE_CASES, ids=[orjson.dumps(c[0]).decode()[:60]
                                                                   for c in ATTRIBUTE_CASES])
def test_attribute_scope(policy: dict[str, Any], expected: bool) -> None:
    compiled = parse(orjson.dumps(policy).decode())
    assert compiled is not None
    assert compiled.matches(FilterInput(ATTRIBUTES), "body is not looked at") is expected


BODY = orjson.dumps({
    "order": {"id": 17, "status": "placed", "total": 42.5, "country": "DE",
              "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-7", "qty": 1}],
              "tags": ["gift", "express"], "coupon": None},
    "customer": {"email": "Jane@Example.com", "ip": "192.168.1.20", "vip": True},
}).decode()

BODY_CASES: list[tuple[dict[str, Any], bool]] = [
    ({"order": {"status": ["placed"]}}, True),
    ({"order": {"status": ["shipped"]}}, False),
    ({"order": {"id": [17]}}, True),
    ({"order": {"id": ["17"]}}, False),
    ({"order": {"total": [{"numeric": [">", 40, "<", 50]}]}}, True),
    ({"order": {"items": {"sku": ["B-7"]}}}, True),  # arrays of objects: any element
    ({"order": {"items": {"qty": [{"numeric": [">=", 3]}]}}}, False),
    ({"order": {"tags": ["express"]}}, True),
    ({"order": {"coupon": [None]}}, True),
    ({"customer": {"vip": [True]}}, True),
    ({"customer": {"vip": ["true"]}}, False),
    ({"customer": {"email": [{"equals-ignore-case": "jane@example.com"}]}}, True),
    ({"customer": {"email": [{"suffix": "@example.com"}]}}, False),
    ({"customer": {"ip": [{"cidr": "192.168.0.0/16"}]}}, True),
    ({"customer": {"phone": [{"exists": False}]}}, True),
    ({"customer": {"phone": [{"exists": True}]}}, False),
    ({"order": [{"exists": True}]}, False),  # exists looks at leaves only; `order` is an object
    ({"order": {"country": [{"anything-but": ["US", "CA"]}]}, "customer": {"vip": [True]}}, True),
    ({"$or": [{"order": {"country": ["US"]}}, {"customer": {"vip": [True]}}]}, True),
    ({"order": {"$or": [{"country": ["US"]}, {"status": ["placed"]}]}}, True),
    ({"order": {"$or": [{"country": ["US"]}, {"status": ["void"]}]}}, False),
    ({"missing": {"deeper": ["x"]}}, False),
]


@pytest.mark.parametrize("policy, expected", BODY_CASES, ids=[orjson.dumps(c[0]).decode()[:60] for c in BODY_CASES])
def test_body_scope(policy: dict[str, Any], expected: bool) -> None:
    compiled = parse(orjson.dumps(policy).decode(), "MessageBody")
    assert compiled is not None
    assert compiled.matches(FilterInput({}), BODY) is expected


def test_body_scope_needs_a_json_object_body() -> None:
    compiled = parse('{"a": [{"exists": false}]}', "MessageBody")
    assert compiled is not None
    assert compiled.matches(FilterInput({}), "plain text") is False
    assert compiled.matches(FilterInput({}), "[1, 2]") is False
    assert compiled.matches(FilterInput({}), "{}") is True


def test_empty_policies_filter_nothing() -> None:
    assert parse(None) is None
    assert parse("") is None
    assert parse("{}") is None


INVALID: list[tuple[Any, str, str]] = [
    ("not json", "MessageAttributes", "FilterPolicy: failed to parse JSON."),
    ({"a": []}, "MessageAttributes", "FilterPolicy: Empty arrays are not allowed"),
    ({"a": "x"}, "MessageAttributes", 'FilterPolicy: "a" must be an object or an array'),
    ({"a": {"b": ["x"]}}, "MessageAttributes",
     "Filter policy scope MessageAttributes does not support nested filter policy"),
    ({k: ["x"] for k in "abcdef"}, "MessageAttributes", "FilterPolicy: Filter policy can not have more than 5 keys"),
    ({"a": list(range(10)), "b": list(range(10)), "c": list(range(2))}, "MessageAttributes",
     "FilterPolicy: Filter policy is too complex"),
    ({"a": [[1]]}, "MessageAttributes", "FilterPolicy: Match value must be String, number, true, false, or null"),
    ({"a": [{"prefix": "x", "suffix": "y"}]}, "MessageAttributes",
     "FilterPolicy: Only one key allowed in match expression"),
    ({"a": [{"wildcard": "x*"}]}, "MessageAttributes", "FilterPolicy: Unrecognized match type wildcard"),
    ({"a": [{"prefix": 1}]}, "MessageAttributes", "FilterPolicy: prefix match pattern must be a string"),
    ({"a": [{"suffix": None}]}, "MessageAttributes", "FilterPolicy: suffix match pattern must be a string"),
    ({"a": [{"equals-ignore-case": 5}]}, "MessageAttributes",
     "FilterPolicy: equals-ignore-case match pattern must be a string"),
    ({"a": [{"exists": "yes"}]}, "MessageAttributes",
     "FilterPolicy: exists match pattern must be either true or false."),
    ({"a": [{"anything-but": {"wildcard": "x"}}]}, "MessageAttributes",
     "FilterPolicy: Unsupported anything-but pattern: wildcard"),
    ({"a": [{"anything-but": [True]}]}, "MessageAttributes",
     "FilterPolicy: Inside anything but list, start|null|boolean is not supported."),
    ({"a": [{"numeric": []}]}, "MessageAttributes", "FilterPolicy: Invalid member in numeric match: ]"),
    ({"a": [{"numeric": [1, 2]}]}, "MessageAttributes", "FilterPolicy: Invalid member in numeric match: 1"),
    ({"a": [{"numeric": ["!=", 2]}]}, "MessageAttributes", "FilterPolicy: Unrecognized numeric range operator: !="),
    ({"a": [{"numeric": ["=", "2"]}]}, "MessageAttributes", "FilterPolicy: Value of equals must be numeric"),
    ({"a": [{"numeric": ["<", 1, ">", 0]}]}, "MessageAttributes",
     "FilterPolicy: Too many elements in numeric expression"),
    ({"a": [{"numeric": [">", 1, ">", 5]}]}, "MessageAttributes", "FilterPolicy: Bad numeric range operator: >"),
    ({"a": [{"numeric": [">", 1, "<", "5"]}]}, "MessageAttributes", "FilterPolicy: Value of < must be numeric"),
    ({"a": [{"numeric": [">", 5, "<", 1]}]}, "MessageAttributes", "FilterPolicy: Bottom must be less than top"),
    ({"a": [{"numeric": [">", 1, "<", 5, 6]}]}, "MessageAttributes",
     "FilterPolicy: Too many terms in numeric range expression"),
    ({"a": [{"cidr": 10}]}, "MessageAttributes", "FilterPolicy: prefix match pattern must be a string"),
    ({"a": [{"cidr": "10.0.0.0"}]}, "MessageAttributes", "FilterPolicy: Malformed CIDR, one '/' required"),
    ({"a": [{"cidr": "10.0.0.0/x"}]}, "MessageAttributes",
     "FilterPolicy: Malformed CIDR, mask bits must be an integer"),
    ({"a": [{"cidr": "10.0.0.300/8"}]}, "MessageAttributes", "FilterPolicy: Nonstandard IP address: 10.0.0.300"),
]


@pytest.mark.parametrize("policy, scope, message", INVALID, ids=[c[2][:50] for c in INVALID])
def test_invalid_policies(policy: Any, scope: str, message: str) -> None:
    text = policy if isinstance(policy, str) else orjson.dumps(policy).decode()
    with pytest.raises(FilterPolicyError) as err:
        parse(text, scope)
    assert str(err.value) == message


def test_nested_policies_count_their_depth() -> None:
    # the Developer Guide's example: 4 values three levels deep and 3 values two levels deep = 3·4·2·3 = 72
    ok = {"key_a": {"key_b": {"key_c": ["v1", "v2", "v3", "v4"]}}, "key_d": {"key_e": ["v1", "v2", "v3"]}}
    assert parse(orjson.dumps(ok).decode(), "MessageBody") is not None
    too_complex = {**ok, "key_f": ["v1", "v2", "v3"]}  # 72 · 3 = 216
    with pytest.raises(FilterPolicyError, match="too complex"):
        parse(orjson.dumps(too_complex).decode(), "MessageBody")
