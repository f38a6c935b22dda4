"""What the load balancer answers itself: redirects with placeholders, fixed responses, error pages; and the
ALB event and response mapping of lambda targets."""
from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from multidict import CIMultiDict

from miniaws.dataplane.lb import functions
from miniaws.dataplane.lb.responses import Origin, error, fixed, redirect

ORIGIN = Origin("http", "shop.example.com", 10080, "/cart/items", "page=2")


@pytest.mark.parametrize("config, location", [
    ({"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
     "https://shop.example.com/cart/items?page=2"),
    ({"Host": "www.#{host}", "Path": "/new/#{path}", "Query": "from=#{port}", "StatusCode": "HTTP_302"},
     "http://www.shop.example.com:10080/new/cart/items?from=10080"),
    ({"Path": "/", "Query": "", "StatusCode": "HTTP_302"}, "http://shop.example.com:10080/"),
    ({"Protocol": "HTTP", "Port": "80", "Path": "/x", "StatusCode": "HTTP_301"}, "http://shop.example.com/x?page=2"),
])
def test_redirect_location(config: dict[str, str], location: str) -> None:
    reply = redirect({"Protocol": "#{protocol}", "Port": "#{port}", "Host": "#{host}", "Path": "/#{path}",
                      "Query": "#{query}", **config}, ORIGIN)
    assert reply.headers["Location"] == location
    assert reply.status == (301 if config["StatusCode"] == "HTTP_301" else 302)


def test_redirect_to_another_listener_uses_its_bound_port() -> None:
    reply = redirect({"Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}", "Query": "",
                      "StatusCode": "HTTP_301"}, ORIGIN, {443: 10443}.get)
    assert reply.headers["Location"] == "https://shop.example.com:10443/cart/items"


def test_fixed_and_error_replies() -> None:
    reply = fixed({"StatusCode": "404", "ContentType": "application/json", "MessageBody": '{"ok":false}'})
    assert (reply.status, reply.body) == (404, b'{"ok":false}')
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    page = error(503)
    assert b"503 Service Temporarily Unavailable" in page.body and page.headers["Server"] == "awselb/2.0"


def test_lambda_event_single_and_multi_value() -> None:
    headers = CIMultiDict([("Host", "x"), ("Accept", "a"), ("Accept", "b"), ("Content-Type", "text/plain")])
    single = orjson.loads(functions.event("tg", "POST", "/p", "a=1&a=2&b=%20", headers, b"hi", False))
    assert single["queryStringParameters"] == {"a": "2", "b": "%20"}
    assert single["headers"]["accept"] == "b" and single["body"] == "hi" and not single["isBase64Encoded"]
    assert single["requestContext"] == {"elb": {"targetGroupArn": "tg"}}
    multi = orjson.loads(functions.event("tg", "GET", "/p", "a=1&a=2", headers, b"", True))
    assert multi["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert multi["multiValueHeaders"]["accept"] == ["a", "b"]
    binary = orjson.loads(functions.event("tg", "PUT", "/", "", CIMultiDict({"Content-Type": "image/png"}),
                                          b"\x89PNG", False))
    assert binary["isBase64Encoded"] and base64.b64decode(binary["body"]) == b"\x89PNG"


@pytest.mark.parametrize("result, multi, expected", [
    ({"statusCode": 201, "headers": {"X-A": "1"}, "body": "made"}, False, (201, [("X-A", "1")], b"made")),
    ({"statusCode": 200, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}, "body": ""}, True,
     (200, [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")], b"")),
    ({"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}, False,
     (200, [], b"\x00\x01")),
])
def test_lambda_response(result: dict[str, Any], multi: bool, expected: tuple[Any, ...]) -> None:
    assert functions.response(orjson.dumps(result), multi) == expected


@pytest.mark.parametrize("payload", [b"not json", b"[1]", b'{"body": "no status"}', b'{"statusCode": "x"}',
                                     b'{"statusCode": 200, "body": "' + b"x" * (1024 * 1024) + b'"}'])
def test_malformed_lambda_response(payload: bytes) -> None:
    with pytest.raises(functions.BadFunctionResponse):
        functions.response(payload, False)


def test_lambda_health_check_event_and_verdict() -> None:
    event = orjson.loads(functions.health_event("arn:tg", "/ping", multi_value=False))
    assert event == {"requestContext": {"elb": {"targetGroupArn": "arn:tg"}}, "httpMethod": "GET", "path": "/ping",
                     "queryStringParameters": {}, "headers": {"user-agent": "ELB-HealthChecker/2.0"}, "body": "",
                     "isBase64Encoded": False}
    multi = orjson.loads(functions.health_event("arn:tg", "/", multi_value=True))
    assert multi["multiValueHeaders"] == {"user-agent": ["ELB-HealthChecker/2.0"]}
    codes = ((200, 200),)
    assert functions.health_verdict(b'{"statusCode": 200}', False, codes) == (True, "HTTP Status Code 200")
    assert functions.health_verdict(b'{"statusCode": 503}', False, codes) == (False, "HTTP Status Code 503")
    assert functions.health_verdict(b'{"errorMessage": "x"}', True, codes)[0] is False
    assert functions.health_verdict(b'"not a response"', False, codes)[0] is False
