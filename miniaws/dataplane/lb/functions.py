"""Lambda targets, sans-IO: the request as ALB's event JSON, and the function's result back as an HTTP response.

https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html: header names are
lower-cased; query parameters are passed as received (not decoded); with `lambda.multi_value_headers.enabled` the
event carries `multiValueHeaders` / `multiValueQueryStringParameters` and the function answers the same way;
bodies that are not text go base64-encoded with `isBase64Encoded`. A result that is not a JSON object with a
`statusCode`, or a function error, is a 502; so is a response over 1 MB. With health checks enabled the function
also gets ALB's health check event (GET of the health check path with ELB's user agent) every interval.
"""
from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Protocol

import orjson
from multidict import CIMultiDict

#: ALB's limit on a Lambda function's response (https://docs.aws.amazon.com/elasticloadbalancing/latest/
#: application/lambda-functions.html#respond-to-load-balancer)
MAX_RESPONSE_BYTES = 1024 * 1024
#: ELB's health check user agent (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/
#: target-group-health-checks.html)
HEALTH_USER_AGENT = "ELB-HealthChecker/2.0"
_TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml",
               "application/x-www-form-urlencoded", "application/ecmascript")


class FunctionInvoker(Protocol):
    """What the load balancer needs from Lambda (the Lambda service implements it; DESIGN §1)."""

    async def invoke_for_target(self, function_arn: str, payload: bytes) -> tuple[bytes, bool]:
        """Invoke synchronously: (result payload, True when the function failed)."""


class BadFunctionResponse(Exception):
    """The function's result cannot be turned into an HTTP response (the client gets a 502)."""


def is_text(headers: Mapping[str, str]) -> bool:
    if headers.get("Content-Encoding"):
        return False
    content_type = (headers.get("Content-Type") or "").lower()
    return not content_type or content_type.startswith(_TEXT_TYPES)


def event(tg_arn: str, method: str, path: str, query: str, headers: CIMultiDict[str], body: bytes,
          multi_value: bool) -> bytes:
    """The ALB event a lambda target receives for this request."""
    out: dict[str, Any] = {"requestContext": {"elb": {"targetGroupArn": tg_arn}}, "httpMethod": method,
                           "path": path}
    pairs = []
    for part in query.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((key, value))
    if multi_value:
        params: dict[str, list[str]] = {}
        for key, value in pairs:
            params.setdefault(key, []).append(value)
        grouped: dict[str, list[str]] = {}
        for name, value in headers.items():
            grouped.setdefault(name.lower(), []).append(value)
        out["multiValueQueryStringParameters"] = params
        out["multiValueHeaders"] = grouped
    else:
        # single-value: the last value of a repeated parameter or header wins, as ALB sends it
        out["queryStringParameters"] = dict(pairs)
        out["headers"] = {name.lower(): value for name, value in headers.items()}
    text = is_text(headers)
    out["body"] = body.decode("utf-8", "replace") if text else base64.b64encode(body).decode()
    out["isBase64Encoded"] = not text
    return orjson.dumps(out)


def response(payload: bytes, multi_value: bool) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) from the function's result."""
    if len(payload) > MAX_RESPONSE_BYTES:
        raise BadFunctionResponse("response larger than 1 MB")
    try:
        result = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise BadFunctionResponse("result is not JSON") from None
    if not isinstance(result, dict) or "statusCode" not in result:
        raise BadFunctionResponse("result has no statusCode")
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        raise BadFunctionResponse("statusCode is not a number") from None
    if not 100 <= status <= 599:
        raise BadFunctionResponse("statusCode out of range")
    headers: list[tuple[str, str]] = []
    if multi_value:
        for name, values in (result.get("multiValueHeaders") or {}).items():
            for value in values if isinstance(values, list) else [values]:
                headers.append((str(name), str(value)))
    else:
        for name, value in (result.get("headers") or {}).items():
            headers.append((str(name), str(value)))
    raw = result.get("body")
    if raw is None:
        body = b""
    elif result.get("isBase64Encoded"):
        try:
            body = base64.b64decode(str(raw))
        except ValueError:
            raise BadFunctionResponse("body is not valid base64") from None
    else:
        body = str(raw).encode()
    return status, headers, body


def health_event(tg_arn: str, path: str, multi_value: bool) -> bytes:
    """The event a health check sends a lambda target (lambda-functions.html#enable-health-checks-lambda)."""
    out: dict[str, Any] = {"requestContext": {"elb": {"targetGroupArn": tg_arn}}, "httpMethod": "GET",
                           "path": path}
    if multi_value:
        out["multiValueQueryStringParameters"] = {}
        out["multiValueHeaders"] = {"user-agent": [HEALTH_USER_AGENT]}
    else:
        out["queryStringParameters"] = {}
        out["headers"] = {"user-agent": HEALTH_USER_AGENT}
    out["body"] = ""
    out["isBase64Encoded"] = False
    return orjson.dumps(out)


def health_verdict(payload: bytes, failed: bool, codes: tuple[tuple[int, int], ...]) -> tuple[bool, str]:
    """(healthy, detail) for a health check invocation's outcome: a function error or a result that is not an
    HTTP response fails; otherwise the status code must match the target group's matcher. Details use the
    health checker's wording, which DescribeTargetHealth maps to its reason codes."""
    if failed:
        return False, "Lambda function error"
    try:
        status, _, _ = response(payload, multi_value=False)
    except BadFunctionResponse as exc:
        return False, f"Invalid function response: {exc}"
    detail = f"HTTP Status Code {status}"
    return any(low <= status <= high for low, high in codes), detail
