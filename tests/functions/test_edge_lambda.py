"""Lambda@Edge with real worker processes: associations validated like CloudFront (published versions in us-east-1,
the quotas), the CloudFront event each trigger receives, requests rewritten and rerouted, responses generated (a
viewer-request one never cached, an origin-request one cached by its TTL), responses changed before caching and on
the way out, and function failures answered 502/503 as CloudFront does."""
from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from multidict import CIMultiDict

from miniaws.testing import MiniAws
from tests.dataplane.edge_support import CACHING_OPTIMIZED, Origin, Reply, custom_origin, legacy
from tests.helpers.lambda_code import ROLE, zipped

pytestmark = pytest.mark.subprocess

EDGE_HANDLERS = '''
import base64, json


def _cf(event):
    return event["Records"][0]["cf"]


def rewrite(event, context):
    request = _cf(event)["request"]
    request["uri"] = "/rewritten" + request["uri"]
    request["querystring"] = "added=1"
    request["headers"]["x-edge"] = [{"key": "X-Edge", "value": _cf(event)["config"]["eventType"]}]
    return request


def deny(event, context):
    request = _cf(event)["request"]
    if "authorization" not in request["headers"]:
        return {"status": "401", "statusDescription": "Unauthorized",
                "headers": {"www-authenticate": [{"key": "WWW-Authenticate", "value": "Basic"}]},
                "body": "no entry"}
    return request


def show_event(event, context):
    return {"status": 200, "headers": {"content-type": [{"key": "Content-Type", "value": "application/json"}],
                                       "cache-control": [{"key": "Cache-Control", "value": "no-store"}]},
            "body": json.dumps(event)}


def generate(event, context):
    cf = _cf(event)
    body = json.dumps({"uri": cf["request"]["uri"], "eventType": cf["config"]["eventType"]}).encode()
    return {"status": "200", "headers": {"content-type": [{"key": "Content-Type", "value": "application/json"}],
                                         "cache-control": [{"key": "Cache-Control", "value": "max-age=60"}]},
            "body": base64.b64encode(body).decode(), "bodyEncoding": "base64"}


def reroute(event, context):
    request = _cf(event)["request"]
    _, _, port, rest = request["uri"].split("/", 3)
    request["origin"] = {"custom": {"domainName": "127.0.0.1", "port": int(port), "protocol": "http", "path": "",
                                    "sslProtocols": ["TLSv1.2"], "readTimeout": 5, "keepaliveTimeout": 5,
                                    "customHeaders": {"x-rerouted": [{"key": "X-Rerouted", "value": "yes"}]}}}
    request["uri"] = "/" + rest
    return request


def stamp(event, context):
    response = _cf(event)["response"]
    response["headers"]["x-stamped"] = [{"key": "X-Stamped", "value": response["status"]}]
    response["headers"]["cache-control"] = [{"key": "Cache-Control", "value": "max-age=300"}]
    return response


def on_the_way_out(event, context):
    response = _cf(event)["response"]
    response["headers"]["x-viewer"] = [{"key": "X-Viewer", "value": _cf(event)["request"]["uri"]}]
    response["status"] = "299"  # viewer-response functions cannot change the status: ignored
    response["body"] = "replaced"
    return response


def touch_host(event, context):
    request = _cf(event)["request"]
    request["headers"]["host"] = [{"key": "Host", "value": "elsewhere.example"}]
    return request


def add_disallowed(event, context):
    request = _cf(event)["request"]
    request["headers"]["x-cache"] = [{"key": "X-Cache", "value": "Hit from cloudfront"}]
    return request


def not_an_object(event, context):
    return "hello"


def fail(event, context):
    raise RuntimeError("edge function broke")
'''

EDGE_ZIP = zipped({"edge.py": EDGE_HANDLERS})


@pytest.fixture(scope="module")
def cf(miniaws: MiniAws) -> Any:
    return miniaws.client("cloudfront")


@pytest.fixture(scope="module")
def edge_port(miniaws: MiniAws) -> int:
    edge = miniaws.server_thread.server.edge
    assert edge is not None
    return edge.port


@pytest.fixture(scope="module")
def origin() -> Iterator[Origin]:
    server = Origin().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def publish(lam: Any) -> Callable[..., str]:
    """Create a function from EDGE_HANDLERS and publish it; returns the version's ARN (…:function:name:1)."""

    def make(handler: str, **params: Any) -> str:
        name = f"edge-{handler.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
        lam.create_function(FunctionName=name, Runtime=params.pop("Runtime", "python3.12"), Role=ROLE,
                            Handler=f"edge.{handler}", Code={"ZipFile": EDGE_ZIP}, **params)
        return str(lam.publish_version(FunctionName=name)["FunctionArn"])

    return make


def associations(**by_event: str | tuple[str, bool]) -> dict[str, Any]:
    items = []
    for event, value in by_event.items():
        arn, body = value if isinstance(value, tuple) else (value, False)
        items.append({"EventType": event.replace("_", "-"), "LambdaFunctionARN": arn, "IncludeBody": body})
    return {"Quantity": len(items), "Items": items}


def distribution(cf: Any, origin: Origin, behavior: dict[str, Any], **lambdas: str | tuple[str, bool]) -> str:
    """A distribution in front of `origin` whose default behaviour has these functions; returns its domain name."""
    config = {"CallerReference": uuid.uuid4().hex, "Comment": "", "Enabled": True,
              "Origins": {"Quantity": 1, "Items": [custom_origin(origin)]},
              "DefaultCacheBehavior": {"ViewerProtocolPolicy": "allow-all", **behavior,
                                       "LambdaFunctionAssociations": associations(**lambdas)}}
    return str(cf.create_distribution(DistributionConfig=config)["Distribution"]["DomainName"])


def get(port: int, host: str, path: str, **headers: str) -> tuple[int, CIMultiDict[str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": host, **{k.replace("_", "-"): v for k, v in headers.items()}})
        response = connection.getresponse()
        return response.status, CIMultiDict(response.getheaders()), response.read()
    finally:
        connection.close()


def stats(cf: Any, miniaws: MiniAws, domain: str) -> dict[str, Any]:
    import urllib.request

    ident = domain.split(".", 1)[0].upper()
    with urllib.request.urlopen(f"{miniaws.endpoint_url}/_miniaws/cloudfront/{ident}/stats") as response:
        result: dict[str, Any] = json.loads(response.read())
    return result


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return str(exc.value.response["Error"]["Code"]), str(exc.value.response["Error"]["Message"])


# -- associations --------------------------------------------------------------------------------------------
def test_associations_need_a_published_version_lambda_at_edge_can_run(
        cf: Any, lam: Any, origin: Origin, publish: Callable[..., str]) -> None:
    arn = publish("rewrite")
    unqualified = arn.rsplit(":", 1)[0]
    name = unqualified.rsplit(":", 1)[1]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    behavior = legacy()
    cases = {
        f"{unqualified}:$LATEST": "The function ARN must reference a specific function version. (The ARN must end "
                                  f"with the version number.) ARN: {unqualified}:$LATEST",
        unqualified: "must reference a specific function version",
        f"{unqualified}:live": "must reference a specific function version",
        f"{unqualified}:7": "does not exist",
        arn.replace(":us-east-1:", ":eu-west-1:"): "The function must be in region 'us-east-1'.",
        arn.replace(":000000000000:", ":111111111111:"): "does not exist",
    }
    for bad, message in cases.items():
        with pytest.raises(ClientError) as exc:
            distribution(cf, origin, behavior, viewer_request=bad)
        code, text = error_of(exc)
        assert code == "InvalidLambdaFunctionAssociation" and message in text, (bad, text)
    slow = publish("rewrite", Timeout=10)
    with pytest.raises(ClientError) as exc:
        distribution(cf, origin, behavior, viewer_request=slow)
    assert error_of(exc)[1] == ("The function timeout is larger than the maximum allowed for functions that are "
                                f"triggered by a CloudFront viewer event: 10 Max allowed: 5 Function: {slow}")
    distribution(cf, origin, behavior, origin_request=slow)  # origin events allow 30 s
    with_env = publish("rewrite", Environment={"Variables": {"STAGE": "dev"}})
    with pytest.raises(ClientError) as exc:
        distribution(cf, origin, behavior, origin_request=with_env)
    assert error_of(exc) == ("InvalidLambdaFunctionAssociation",
                             f"The function cannot have environment variables. Function: {with_env}")
    with pytest.raises(ClientError) as exc:
        distribution(cf, origin, behavior, viewer_response=(arn, True))
    assert error_of(exc)[0] == "InvalidLambdaFunctionAssociation"
    # a valid one is stored as given, with IncludeBody filled in, and UpdateDistribution validates the same way
    domain = distribution(cf, origin, behavior, viewer_request=arn)
    ident = domain.split(".", 1)[0].upper()
    current = cf.get_distribution_config(Id=ident)
    config = current["DistributionConfig"]
    assert config["DefaultCacheBehavior"]["LambdaFunctionAssociations"] == {
        "Quantity": 1, "Items": [{"LambdaFunctionARN": arn, "EventType": "viewer-request", "IncludeBody": False}]}
    config["DefaultCacheBehavior"]["LambdaFunctionAssociations"] = associations(viewer_request=unqualified)
    with pytest.raises(ClientError) as exc:
        cf.update_distribution(Id=ident, IfMatch=current["ETag"], DistributionConfig=config)
    assert error_of(exc)[0] == "InvalidLambdaFunctionAssociation"


# -- request functions ---------------------------------------------------------------------------------------
def test_viewer_request_rewrites_before_the_cache(cf: Any, miniaws: MiniAws, edge_port: int, origin: Origin,
                                                  publish: Callable[..., str]) -> None:
    origin.replies["/rewritten/page"] = Reply(body=b"rewritten page", headers={"Cache-Control": "max-age=60"})
    behavior = legacy(ForwardedValues={"QueryString": True, "Cookies": {"Forward": "none"},
                                       "Headers": {"Quantity": 1, "Items": ["X-Edge"]}})
    domain = distribution(cf, origin, behavior, viewer_request=publish("rewrite"))
    first = get(edge_port, domain, "/page?dropped=yes")
    second = get(edge_port, domain, "/page")
    assert (first[0], first[2], first[1]["X-Cache"]) == (200, b"rewritten page", "Miss from cloudfront")
    # the function runs on every request; the rewritten request is the cache key, so the second one is a hit
    assert second[1]["X-Cache"] == "Hit from cloudfront" and origin.hits["/rewritten/page"] == 1
    method, path_qs, headers = [r for r in origin.requests if r[1].startswith("/rewritten/page")][0]
    assert path_qs == "/rewritten/page?added=1" and headers["X-Edge"] == "viewer-request"
    counted = stats(cf, miniaws, domain)
    assert (counted["function_invocations"], counted["function_errors"], counted["hits"]) == (2, 0, 1)


def test_viewer_request_response_is_never_cached(cf: Any, miniaws: MiniAws, edge_port: int, origin: Origin,
                                                 publish: Callable[..., str]) -> None:
    origin.replies["/private"] = Reply(body=b"secret", headers={"Cache-Control": "max-age=60"})
    domain = distribution(cf, origin, legacy(), viewer_request=publish("deny"),
                          viewer_response=publish("on_the_way_out"))
    for _ in range(2):
        status, headers, body = get(edge_port, domain, "/private")
        assert (status, body, headers["WWW-Authenticate"]) == (401, b"no entry", "Basic")
        assert headers["X-Cache"] == "LambdaGeneratedResponse from cloudfront" and "X-Viewer" not in headers
        assert headers["X-Amz-Cf-Id"] and headers["Via"].endswith("(CloudFront)")
    assert origin.hits["/private"] == 0
    status, headers, body = get(edge_port, domain, "/private", Authorization="Basic eDp5")
    assert (status, body, headers["X-Viewer"]) == (200, b"replaced", "/private")  # viewer response ran
    counted = stats(cf, miniaws, domain)
    assert counted["generated_responses"] == 2 and counted["function_invocations"] == 4


def test_the_events_functions_receive(cf: Any, edge_port: int, origin: Origin, publish: Callable[..., str]) -> None:
    shower = publish("show_event")
    domain = distribution(cf, origin, legacy(), viewer_request=(shower, True))
    status, headers, body = get(edge_port, domain, "/some/path?a=1&b=2", X_Custom="one")
    assert status == 200 and headers["X-Cache"] == "LambdaGeneratedResponse from cloudfront"
    cf_event = json.loads(body)["Records"][0]["cf"]
    assert cf_event["config"] == {"distributionDomainName": domain, "distributionId": domain.split(".")[0].upper(),
                                  "eventType": "viewer-request", "requestId": headers["X-Amz-Cf-Id"]}
    request = cf_event["request"]
    assert (request["method"], request["uri"], request["querystring"], request["clientIp"]) == (
        "GET", "/some/path", "a=1&b=2", "127.0.0.1")
    assert request["headers"]["host"] == [{"key": "Host", "value": domain}]
    assert request["headers"]["x-custom"] == [{"key": "X-Custom", "value": "one"}]
    assert request["body"] == {"inputTruncated": False, "action": "read-only", "encoding": "base64", "data": ""}
    assert "connection" not in request["headers"]  # disallowed headers are never shown

    domain = distribution(cf, origin, legacy(), origin_request=shower)
    status, headers, body = get(edge_port, domain, "/o")
    cf_event = json.loads(body)["Records"][0]["cf"]
    assert cf_event["config"]["eventType"] == "origin-request"
    request = cf_event["request"]
    assert request["origin"] == {"custom": {
        "customHeaders": {}, "domainName": "127.0.0.1", "keepaliveTimeout": 5, "path": "", "port": origin.port,
        "protocol": "http", "readTimeout": 5, "sslProtocols": ["TLSv1.2"]}}
    assert request["headers"]["user-agent"] == [{"key": "User-Agent", "value": "Amazon CloudFront"}]
    assert request["headers"]["via"][0]["value"].endswith("(CloudFront)")
    assert request["headers"]["x-forwarded-for"] == [{"key": "X-Forwarded-For", "value": "127.0.0.1"}]
    assert request["headers"]["host"] == [{"key": "Host", "value": "127.0.0.1"}]
    assert "x-amz-cf-id" not in request["headers"] and "body" not in request


def test_origin_request_response_is_cached_by_its_ttl(cf: Any, miniaws: MiniAws, edge_port: int, origin: Origin,
                                                      publish: Callable[..., str]) -> None:
    domain = distribution(cf, origin, {"TargetOriginId": "web", "CachePolicyId": CACHING_OPTIMIZED},
                          origin_request=publish("generate"))
    first = get(edge_port, domain, "/made/here")
    second = get(edge_port, domain, "/made/here")
    assert first[0] == 200 and json.loads(first[2]) == {"uri": "/made/here", "eventType": "origin-request"}
    assert first[1]["X-Cache"] == "LambdaGeneratedResponse from cloudfront"
    assert second[1]["X-Cache"] == "Hit from cloudfront" and second[2] == first[2]
    assert origin.hits["/made/here"] == 0
    counted = stats(cf, miniaws, domain)
    assert (counted["function_invocations"], counted["origin_fetches"], counted["hits"]) == (1, 0, 1)


def test_origin_request_picks_another_origin(cf: Any, edge_port: int, origin: Origin,
                                             publish: Callable[..., str]) -> None:
    other = Origin().start()
    try:
        other.replies["/elsewhere"] = Reply(body=b"from the other origin")
        domain = distribution(cf, origin, legacy(), origin_request=publish("reroute"))
        status, headers, body = get(edge_port, domain, f"/to/{other.port}/elsewhere")
        assert (status, body) == (200, b"from the other origin")
        assert other.hits["/elsewhere"] == 1 and origin.hits[f"/to/{other.port}/elsewhere"] == 0
        assert other.requests[0][2]["X-Rerouted"] == "yes"
    finally:
        other.stop()


# -- response functions --------------------------------------------------------------------------------------
def test_origin_response_changes_what_is_cached_and_viewer_response_what_is_sent(
        cf: Any, miniaws: MiniAws, edge_port: int, origin: Origin, publish: Callable[..., str]) -> None:
    origin.replies["/doc"] = Reply(body=b"original", headers={"Cache-Control": "no-store"})
    domain = distribution(cf, origin, legacy(), origin_response=publish("stamp"),
                          viewer_response=publish("on_the_way_out"))
    first = get(edge_port, domain, "/doc")
    second = get(edge_port, domain, "/doc")
    for status, headers, body in (first, second):
        # the origin said no-store; the origin-response function made it cacheable for 300 s
        assert (status, body, headers["X-Stamped"], headers["X-Viewer"]) == (200, b"replaced", "200", "/doc")
        assert headers["Cache-Control"] == "max-age=300"
    assert (first[1]["X-Cache"], second[1]["X-Cache"]) == ("Miss from cloudfront", "Hit from cloudfront")
    assert origin.hits["/doc"] == 1
    assert stats(cf, miniaws, domain)["function_invocations"] == 3  # origin response once, viewer response twice
    status, headers, _ = get(edge_port, domain, "/missing")
    # the origin answered 404: the viewer-response function does not run
    assert status == 404 and headers["X-Stamped"] == "404" and "X-Viewer" not in headers


# -- failures ------------------------------------------------------------------------------------------------
def test_function_failures_answer_like_cloudfront(cf: Any, miniaws: MiniAws, edge_port: int, origin: Origin,
                                                  publish: Callable[..., str]) -> None:
    origin.replies["/f"] = Reply(body=b"never reached")
    cases = {"fail": (503, "LambdaExecutionError from cloudfront"),
             "touch_host": (502, "LambdaValidationError from cloudfront"),
             "add_disallowed": (502, "LambdaValidationError from cloudfront"),
             "not_an_object": (502, "LambdaValidationError from cloudfront")}
    for handler, (code, x_cache) in cases.items():
        domain = distribution(cf, origin, legacy(), viewer_request=publish(handler))
        status, headers, body = get(edge_port, domain, "/f")
        assert (status, headers["X-Cache"]) == (code, x_cache), handler
        assert b"The Lambda function" in body and headers["X-Amz-Cf-Id"].encode() in body
        assert stats(cf, miniaws, domain)["function_errors"] == 1
    assert origin.hits["/f"] == 0
    domain = distribution(cf, origin, legacy(), origin_response=publish("fail"))
    status, headers, _ = get(edge_port, domain, "/f")
    assert (status, headers["X-Cache"]) == (503, "LambdaExecutionError from cloudfront")
    assert origin.hits["/f"] == 1
