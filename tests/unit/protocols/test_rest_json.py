"""rest-json (Lambda): botocore serializes requests we parse, and parses back the responses and errors we write."""
from __future__ import annotations

import base64
from typing import Any

import pytest
from multidict import CIMultiDict, MultiDict

from miniaws.core.errors import AwsError, InternalFailure
from miniaws.protocols import rest_json
from miniaws.protocols.rest import RestRouter
from miniaws.services.lambda_._spec import SPEC as LAMBDA

from .conftest import Oracle, normalize

ROUTER = RestRouter(LAMBDA)


@pytest.fixture(scope="module")
def lam(oracle: Any) -> Oracle:
    return oracle("lambda")  # type: ignore[no-any-return]


def roundtrip(oracle: Oracle, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    req = oracle.request(operation, params)
    found = ROUTER.match(req.method, req.path, req.first_query, req.headers)
    assert found is not None and found[0] == operation, (req.method, req.path, found)
    return rest_json.parse_request(LAMBDA, operation, found[1], req.query, req.headers, req.body)


CASES: list[tuple[str, dict[str, Any]]] = [
    ("CreateFunction", {
        "FunctionName": "fn", "Runtime": "python3.12", "Role": "arn:aws:iam::000000000000:role/r",
        "Handler": "app.handler", "Code": {"ZipFile": b"PK\x03\x04 zip bytes \xff"}, "Description": "d",
        "Timeout": 30, "MemorySize": 256, "Publish": True, "Environment": {"Variables": {"A": "1", "B": ""}},
        "Tags": {"team": "x"}, "Architectures": ["arm64"], "Layers": ["arn:aws:lambda:us-east-1:1:layer:l:1"],
    }),
    ("CreateFunction", {"FunctionName": "fn", "Role": "r", "Code": {"S3Bucket": "b", "S3Key": "k/code.zip"}}),
    ("Invoke", {"FunctionName": "fn", "InvocationType": "RequestResponse", "LogType": "Tail",
                "Payload": b'{"a": 1}', "Qualifier": "prod", "ClientContext": "e30="}),
    ("Invoke", {"FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:fn:7"}),
    ("GetFunction", {"FunctionName": "fn", "Qualifier": "3"}),
    ("GetFunctionConfiguration", {"FunctionName": "fn"}),
    ("ListFunctions", {"Marker": "m", "MaxItems": 10, "FunctionVersion": "ALL"}),
    ("UpdateFunctionCode", {"FunctionName": "fn", "ZipFile": b"\x00\x01", "Publish": False, "RevisionId": "r"}),
    ("UpdateFunctionConfiguration", {"FunctionName": "fn", "Timeout": 1, "Environment": {"Variables": {}}}),
    ("DeleteFunction", {"FunctionName": "fn", "Qualifier": "1"}),
    ("PublishVersion", {"FunctionName": "fn", "Description": "v", "CodeSha256": "abc"}),
    ("CreateAlias", {"FunctionName": "fn", "Name": "live", "FunctionVersion": "1",
                     "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.25}}}),
    ("UpdateAlias", {"FunctionName": "fn", "Name": "live", "FunctionVersion": "2"}),
    ("GetAlias", {"FunctionName": "fn", "Name": "live"}),
    ("DeleteAlias", {"FunctionName": "fn", "Name": "live"}),
    ("ListAliases", {"FunctionName": "fn", "FunctionVersion": "1", "MaxItems": 2}),
    ("PutFunctionConcurrency", {"FunctionName": "fn", "ReservedConcurrentExecutions": 0}),
    ("GetFunctionConcurrency", {"FunctionName": "fn"}),
    ("TagResource", {"Resource": "arn:aws:lambda:us-east-1:000000000000:function:fn", "Tags": {"k": "v"}}),
    ("UntagResource", {"Resource": "arn:aws:lambda:us-east-1:000000000000:function:fn", "TagKeys": ["a", "b"]}),
    ("ListTags", {"Resource": "arn:aws:lambda:us-east-1:000000000000:function:fn"}),
    ("GetAccountSettings", {}),
]


@pytest.mark.parametrize(("operation", "params"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_request_roundtrip(lam: Oracle, operation: str, params: dict[str, Any]) -> None:
    assert roundtrip(lam, operation, params) == normalize(params)


def test_routes_are_distinct_for_function_subresources() -> None:
    headers: CIMultiDict[str] = CIMultiDict()
    assert ROUTER.match("GET", "/2015-03-31/functions/fn", {}, headers) == ("GetFunction", {"FunctionName": "fn"})
    assert ROUTER.match("GET", "/2015-03-31/functions/fn/configuration", {}, headers)[0] == \
        "GetFunctionConfiguration"  # type: ignore[index]
    assert ROUTER.match("GET", "/2015-03-31/functions/", {}, headers)[0] == "ListFunctions"  # type: ignore[index]
    assert ROUTER.match("POST", "/2015-03-31/functions/a%3Ab/invocations", {}, headers) == \
        ("Invoke", {"FunctionName": "a:b"})


def test_empty_and_malformed_bodies() -> None:
    labels = {"FunctionName": "fn"}
    assert rest_json.parse_request(LAMBDA, "UpdateFunctionConfiguration", labels, MultiDict(), CIMultiDict(),
                                   b"") == labels
    with pytest.raises(rest_json.InvalidRequestContentException):
        rest_json.parse_request(LAMBDA, "UpdateFunctionConfiguration", labels, MultiDict(), CIMultiDict(), b"{")
    with pytest.raises(rest_json.InvalidRequestContentException):
        rest_json.parse_request(LAMBDA, "UpdateFunctionConfiguration", labels, MultiDict(), CIMultiDict(), b"[1]")
    with pytest.raises(rest_json.InvalidRequestContentException):
        rest_json.parse_request(LAMBDA, "UpdateFunctionCode", labels, MultiDict(), CIMultiDict(),
                                b'{"ZipFile": "not base64!"}')
    with pytest.raises(rest_json.ValidationException):
        rest_json.parse_request(LAMBDA, "ListFunctions", {}, MultiDict({"MaxItems": "ten"}), CIMultiDict(), None)


CONFIG = {
    "FunctionName": "fn", "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:fn",
    "Runtime": "python3.12", "Role": "arn:aws:iam::000000000000:role/r", "Handler": "app.handler",
    "CodeSize": 321, "Description": "", "Timeout": 3, "MemorySize": 128,
    "LastModified": "2024-05-06T07:08:09.000+0000", "CodeSha256": "abc=", "Version": "$LATEST",
    "Environment": {"Variables": {"A": "1"}}, "State": "Active", "LastUpdateStatus": "Successful",
    "Architectures": ["x86_64"], "PackageType": "Zip", "RevisionId": "rev",
    "EphemeralStorage": {"Size": 512}, "TracingConfig": {"Mode": "PassThrough"},
}


def check(oracle: Oracle, operation: str, result: dict[str, Any], status: int = 200) -> tuple[dict[str, str], bytes | None]:
    got, headers, body = rest_json.serialize_response(LAMBDA, operation, result)
    assert got == status
    assert oracle.parse(operation, got, headers, body) == result
    return headers, body


def test_function_configuration_and_lists(lam: Oracle) -> None:
    check(lam, "CreateFunction", CONFIG, 201)
    check(lam, "GetFunction", {"Configuration": CONFIG, "Code": {"RepositoryType": "S3", "Location": "http://x/y"},
                               "Tags": {"a": "b"}, "Concurrency": {"ReservedConcurrentExecutions": 2}})
    check(lam, "ListFunctions", {"Functions": [CONFIG, {**CONFIG, "FunctionName": "g"}], "NextMarker": "n"})
    check(lam, "ListAliases", {"Aliases": [{"Name": "live", "FunctionVersion": "1", "AliasArn": "a",
                                            "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.5}}}]})
    check(lam, "GetAccountSettings", {"AccountLimit": {"ConcurrentExecutions": 1000, "TotalCodeSize": 80},
                                      "AccountUsage": {"FunctionCount": 2, "TotalCodeSize": 10}})


def test_invoke_payload_is_the_raw_body_and_headers_carry_the_rest(lam: Oracle) -> None:
    log = base64.b64encode(b"START RequestId: x\n").decode()
    result = {"StatusCode": 200, "FunctionError": "Unhandled", "LogResult": log, "ExecutedVersion": "$LATEST",
              "Payload": b'{"errorMessage": "boom"}'}
    got, headers, body = rest_json.serialize_response(LAMBDA, "Invoke", result)
    assert lam.parse("Invoke", got, headers, body) == {**result, "Payload": result["Payload"].decode()}
    assert body == b'{"errorMessage": "boom"}'
    assert headers["X-Amz-Function-Error"] == "Unhandled" and headers["X-Amz-Log-Result"] == log
    status, _, body = rest_json.serialize_response(LAMBDA, "Invoke", {"StatusCode": 202, "Payload": b""})
    assert status == 202 and body == b""


def test_no_content(lam: Oracle) -> None:
    status, headers, body = rest_json.serialize_response(LAMBDA, "DeleteFunction", {"StatusCode": 204})
    assert (status, body) == (204, None) and "Content-Type" not in headers


class ResourceNotFoundException(AwsError):
    status = 404


class TooManyRequestsException(AwsError):
    status = 429
    json_message_key = "message"


def parse_error(oracle: Oracle, operation: str, status: int, headers: dict[str, str], body: bytes) -> Any:
    return oracle._parser.parse({"status_code": status, "headers": CIMultiDict(headers), "body": body},
                                oracle.model.operation_model(operation).output_shape)


def test_errors_have_the_lambda_shape(lam: Oracle) -> None:
    status, headers, body = rest_json.serialize_error(ResourceNotFoundException("Function not found: arn"))
    assert status == 404 and headers["X-Amzn-ErrorType"] == "ResourceNotFoundException"
    assert body == b'{"Type":"User","Message":"Function not found: arn"}'
    parsed = parse_error(lam, "GetFunction", status, headers, body)
    assert parsed["Error"]["Code"] == "ResourceNotFoundException"
    assert parsed["Error"]["Message"] == "Function not found: arn"

    err = TooManyRequestsException("Rate Exceeded.", headers={"Retry-After": "1"},
                                   Reason="ReservedFunctionConcurrentInvocationLimitExceeded")
    status, headers, body = rest_json.serialize_error(err)
    parsed = parse_error(lam, "Invoke", status, headers, body)
    assert (status, parsed["Error"]["Code"], parsed["Error"]["Message"]) == (429, "TooManyRequestsException",
                                                                              "Rate Exceeded.")
    assert headers["Retry-After"] == "1" and b'"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded"' in body

    status, headers, body = rest_json.serialize_error(InternalFailure())
    assert status == 500 and b'"Type":"Service"' in body
