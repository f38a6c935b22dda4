"""RestRouter: every S3 operation botocore can send routes to itself; path-style edge cases."""
from __future__ import annotations

import random
import re
from typing import Any
from urllib.parse import unquote

import pytest
from multidict import CIMultiDict

from miniaws._dev.genspec import ROUTE_SHADOWS, _route
from miniaws.protocols.rest import RestRouter
from miniaws.services.s3._spec import SPEC as S3

from .conftest import Oracle

ROUTER = RestRouter(S3)


def _value(oracle: Oracle, shape: Any, name: str = "") -> Any:
    """A minimal valid value: only required members, one item per required list."""
    kind = shape.type_name
    if kind == "structure":
        return {m: _value(oracle, shape.members[m], m) for m in shape.required_members}
    if kind == "list":
        return [_value(oracle, shape.member)]
    if kind == "map":
        return {}
    if kind in ("integer", "long"):
        return 1
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return 0
    if kind == "blob":
        return b"x"
    if shape.enum:
        return shape.enum[0]
    return {"Bucket": "bucket", "Key": "key"}.get(name, "x")


def _all_operations(*services: str) -> list[tuple[str, str]]:
    import botocore.session

    session = botocore.session.get_session()
    return [(svc, op) for svc in services for op in session.get_service_model(svc).operation_names]


_ROUTERS: dict[str, RestRouter] = {"s3": ROUTER}


@pytest.mark.parametrize(("service", "operation"), _all_operations("s3", "route53", "cloudfront", "lambda"))
def test_every_operation_routes_to_itself(oracle: Any, service: str, operation: str) -> None:
    # S3 against the committed spec; the others (Route 53, CloudFront, and rest-json Lambda, which
    # shares the router) against routes generated in-process
    svc: Oracle = oracle(service)
    if service not in _ROUTERS:
        _ROUTERS[service] = RestRouter(svc.spec())
    op = svc.model.operation_model(operation)
    params = _value(svc, op.input_shape) if op.input_shape is not None else {}
    req = svc.request(operation, params)
    found = _ROUTERS[service].match(req.method, req.path, req.first_query, req.headers)
    assert found is not None, (req.method, req.path, req.first_query)
    # Operations with exactly the wire signature of another (deprecated aliases, ListDirectoryBuckets which
    # only exists on the S3 Express control endpoint) cannot be told apart: they route to the named winner.
    assert found[0] == ROUTE_SHADOWS.get(service, {}).get(operation, operation)
    if service == "s3" and "Bucket" in params and operation != "WriteGetObjectResponse":
        assert found[1]["Bucket"] == "bucket"


def _match(method: str, path: str, query: dict[str, str] | None = None,
           headers: dict[str, str] | None = None) -> tuple[str, dict[str, str]] | None:
    return ROUTER.match(method, path, query or {}, CIMultiDict(headers or {}))


@pytest.mark.parametrize(("method", "path", "expected"), [
    ("GET", "/", ("ListBuckets", {})),
    ("GET", "/b", ("ListObjects", {"Bucket": "b"})),
    ("GET", "/b/", ("ListObjects", {"Bucket": "b"})),
    ("PUT", "/b/", ("CreateBucket", {"Bucket": "b"})),
    ("HEAD", "/b", ("HeadBucket", {"Bucket": "b"})),
    ("HEAD", "/b/k", ("HeadObject", {"Bucket": "b", "Key": "k"})),
    ("GET", "/b/a%2Fb", ("GetObject", {"Bucket": "b", "Key": "a/b"})),
    ("GET", "/b/dir/sub/", ("GetObject", {"Bucket": "b", "Key": "dir/sub/"})),
    ("GET", "/b//lead", ("GetObject", {"Bucket": "b", "Key": "/lead"})),
    ("GET", "/b/a%20b%20c", ("GetObject", {"Bucket": "b", "Key": "a b c"})),
    ("GET", "/b/a+b", ("GetObject", {"Bucket": "b", "Key": "a+b"})),
    ("GET", "/b/%E2%82%AC/%C3%A9t%C3%A9", ("GetObject", {"Bucket": "b", "Key": "€/été"})),
    ("DELETE", "/b", ("DeleteBucket", {"Bucket": "b"})),
    ("DELETE", "/b/k", ("DeleteObject", {"Bucket": "b", "Key": "k"})),
])
def test_path_style_edges(method: str, path: str, expected: tuple[str, dict[str, str]]) -> None:
    assert _match(method, path) == expected


@pytest.mark.parametrize(("method", "path", "query", "headers", "expected"), [
    ("GET", "/b", {"list-type": "2"}, {}, "ListObjectsV2"),
    ("GET", "/b", {"list-type": "1"}, {}, "ListObjects"),
    ("GET", "/b", {"prefix": "a", "delimiter": "/"}, {}, "ListObjects"),
    ("GET", "/b", {"location": ""}, {}, "GetBucketLocation"),
    ("GET", "/b", {"uploads": "", "prefix": "x"}, {}, "ListMultipartUploads"),
    ("GET", "/b/k", {"uploadId": "u"}, {}, "ListParts"),
    ("GET", "/b/k", {"x-id": "GetObject"}, {}, "GetObject"),
    ("GET", "/b/k", {"response-content-type": "text/plain"}, {}, "GetObject"),
    ("PUT", "/b/k", {}, {}, "PutObject"),
    ("PUT", "/b/k", {}, {"X-Amz-Copy-Source": "/src/k"}, "CopyObject"),
    ("PUT", "/b/k", {"partNumber": "1", "uploadId": "u"}, {}, "UploadPart"),
    ("PUT", "/b/k", {"partNumber": "1", "uploadId": "u"}, {"x-amz-copy-source": "s/k"}, "UploadPartCopy"),
    ("PUT", "/b/k", {"x-id": "PutObject"}, {}, "PutObject"),
    ("POST", "/b/k", {"uploads": ""}, {}, "CreateMultipartUpload"),
    ("POST", "/b/k", {"uploadId": "u"}, {}, "CompleteMultipartUpload"),
    ("DELETE", "/b/k", {"uploadId": "u"}, {}, "AbortMultipartUpload"),
    ("POST", "/b", {"delete": ""}, {}, "DeleteObjects"),
    ("PUT", "/b", {"versioning": ""}, {}, "PutBucketVersioning"),
    ("PUT", "/b", {"logging": ""}, {}, "PutBucketLogging"),  # recognised, though not implemented
    ("GET", "/b", {"analytics": "", "id": "a"}, {}, "GetBucketAnalyticsConfiguration"),
    ("GET", "/b", {"analytics": ""}, {}, "ListBucketAnalyticsConfigurations"),
])
def test_disambiguation(method: str, path: str, query: dict[str, str], headers: dict[str, str],
                        expected: str) -> None:
    found = _match(method, path, query, headers)
    assert found is not None and found[0] == expected


def test_no_match() -> None:
    assert _match("PATCH", "/b/k") is None
    assert _match("GET", "") is None
    assert _match("POST", "/b/k") is None  # neither ?uploads nor uploadId: no S3 operation


def test_unimplemented_operations_are_recognised() -> None:
    assert "PutBucketLogging" not in S3["operations"]
    assert {r["name"] for r in S3["routes"]} >= {"PutBucketLogging", "SelectObjectContent"}


def test_x_id_hint_is_never_required() -> None:
    op = {"http": {"method": "GET", "requestUri": "/{Bucket}/{Key+}?x-id=GetObject"}}
    assert _route("GetObject", op, {}) == {"name": "GetObject", "method": "GET", "path": "/{Bucket}/{Key+}"}
    op = {"http": {"method": "POST", "requestUri": "/{Bucket}?select&select-type=2&x-id=Select"}}
    assert _route("Select", op, {})["query"] == {"select": None, "select-type": "2"}


def test_literal_path_beats_label() -> None:
    found = _match("POST", "/WriteGetObjectResponse", {},
                   {"x-amz-request-route": "r", "x-amz-request-token": "t"})
    assert found == ("WriteGetObjectResponse", {})


@pytest.mark.parametrize("path", ["/2013-04-01/hostedzone/Z1/rrset", "/2013-04-01/hostedzone/Z1/rrset/"])
def test_trailing_slash_is_optional(oracle: Any, path: str) -> None:
    router = RestRouter(oracle("route53").spec())
    assert router.match("GET", path, {}, CIMultiDict()) == ("ListResourceRecordSets", {"Id": "Z1"})
    assert router.match("GET", "/2013-04-01/hostedzonecount", {}, CIMultiDict()) == ("GetHostedZoneCount", {})


# -- the query-key index against the linear scan it replaced ------------------------------------------
def _linear_match(router: RestRouter, method: str, path: str, query: dict[str, str],
                  headers: CIMultiDict[str]) -> tuple[str, dict[str, str]] | None:
    """The matcher before the index: every route of every template whose path matches, in priority order."""
    for template in router._by_method.get(method.upper(), ()):
        found = template.regex.fullmatch(path)
        if found is None:
            continue
        for route in (template.routes if query else template.plain_routes):
            if route.accepts(query, headers):
                return route.name, {name: unquote(value) for name, value in zip(template.labels, found.groups())}
    return None


_PRESIGNED = {"X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Credential": "AK/20260101/us-east-1/s3/aws4_request",
              "X-Amz-Signature": "00"}


def _specs() -> list[tuple[str, dict[str, Any]]]:
    from miniaws.services.cloudfront._spec import SPEC as CLOUDFRONT
    from miniaws.services.lambda_._spec import SPEC as LAMBDA
    from miniaws.services.route53._spec import SPEC as ROUTE53

    return [("s3", S3), ("route53", ROUTE53), ("cloudfront", CLOUDFRONT), ("lambda", LAMBDA)]


@pytest.mark.parametrize(("service", "spec"), _specs(), ids=[name for name, _ in _specs()])
def test_indexed_match_equals_linear_scan_for_every_route(service: str, spec: dict[str, Any]) -> None:
    router = RestRouter(spec)
    routes = [r for r in spec["routes"] if "shadowedBy" not in r]
    rng = random.Random(3)
    checked = 0
    for route in routes:
        path = route["path"].replace("{Key+}", "dir/a%2Fb%20c").replace("+}", "}")
        path = re.sub(r"\{[^}]+\}", "x1", path)
        own: dict[str, str] = {key: ("" if value is None else value) for key, value in route.get("query", {}).items()}
        own.update({key: "v" for key in route.get("requiredQuery", ())})
        needed = {name: "h" for name in route.get("requiredHeaders", ())}
        other = rng.choice(routes)
        theirs = {key: ("" if value is None else value) for key, value in other.get("query", {}).items()}
        theirs.update({key: "w" for key in other.get("requiredQuery", ())})
        wrong = {key: "not-" + value for key, value in own.items() if value}  # a literal value that differs
        queries: list[dict[str, str]] = [{}, own, {**own, **_PRESIGNED}, _PRESIGNED, {**own, **theirs},
                                         {**theirs, **own}, theirs, {**own, **wrong}]
        queries += [{k: v for k, v in own.items() if k != dropped} for dropped in own]  # one key missing
        for query in queries:
            for headers in (CIMultiDict(), CIMultiDict(needed), CIMultiDict({**needed, "x-amz-copy-source": "s/k"})):
                method = route["method"]
                assert router.match(method, path, query, headers) == \
                    _linear_match(router, method, path, query, headers), (method, path, query, dict(headers))
                checked += 1
    assert checked > 10 * len(routes)


def test_a_presigned_object_request_checks_only_the_plain_routes() -> None:
    # the hot path: X-Amz-* keys select no query-keyed route, so PutObject is found among the 2 plain candidates
    template = next(t for t in ROUTER._by_method["PUT"] if t.labels == ["Bucket", "Key"])
    assert [r.name for r in template.candidates(_PRESIGNED)] == ["CopyObject", "PutObject"]
    assert {r.name for r in template.candidates({**_PRESIGNED, "uploadId": "u", "partNumber": "1"})} >= \
        {"UploadPart", "UploadPartCopy"}
    assert len(template.routes) > 8
