"""CORS for S3 buckets: validating a CORSConfiguration and matching a request against its rules.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html: the first rule whose AllowedOrigin matches the
Origin header, whose AllowedMethod has the (requested) method and whose AllowedHeader covers every requested header
decides the answer; `*` is a wildcard (at most one per origin or header).
"""
from __future__ import annotations

from typing import Any

from miniaws.services.s3.errors import InvalidRequest, MalformedXML
from miniaws.services.s3.policy import glob_match

METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
MAX_RULES = 100


def check_rules(configuration: dict[str, Any] | None) -> list[dict[str, Any]]:
    rules = (configuration or {}).get("CORSRules") or []
    if not rules or len(rules) > MAX_RULES:
        raise MalformedXML()
    for rule in rules:
        methods, origins = rule.get("AllowedMethods") or [], rule.get("AllowedOrigins") or []
        if not methods or not origins:
            raise MalformedXML()
        for method in methods:
            if method not in METHODS:
                raise InvalidRequest(f"Found unsupported HTTP method in CORS config. Unsupported method is {method}")
        for origin in origins:
            if origin.count("*") > 1:
                raise InvalidRequest(f'AllowedOrigin "{origin}" can not have more than one wildcard.')
        for header in rule.get("AllowedHeaders") or []:
            if header.count("*") > 1:
                raise InvalidRequest(f'AllowedHeader "{header}" can not have more than one wildcard.')
    return list(rules)


def _split(header: str | None) -> list[str]:
    return [h.strip().lower() for h in (header or "").split(",") if h.strip()]


def match_rule(rules: list[dict[str, Any]], origin: str, method: str,
               request_headers: str | None = None) -> dict[str, Any] | None:
    wanted = _split(request_headers)
    for rule in rules:
        if not any(glob_match(allowed, origin) for allowed in rule.get("AllowedOrigins") or ()):
            continue
        if method not in (rule.get("AllowedMethods") or ()):
            continue
        allowed_headers = [h.lower() for h in rule.get("AllowedHeaders") or ()]
        if all(any(glob_match(allowed, header) for allowed in allowed_headers) for header in wanted):
            return rule
    return None


def response_headers(rule: dict[str, Any], origin: str, request_headers: str | None = None) -> dict[str, str]:
    """The Access-Control-* headers S3 sends for a matching rule (preflight and actual requests alike)."""
    wildcard = "*" in (rule.get("AllowedOrigins") or ())
    headers = {
        "Access-Control-Allow-Origin": "*" if wildcard else origin,
        "Access-Control-Allow-Methods": ", ".join(rule.get("AllowedMethods") or ()),
        "Vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
    }
    if not wildcard:
        headers["Access-Control-Allow-Credentials"] = "true"
    wanted = _split(request_headers)
    if wanted:
        headers["Access-Control-Allow-Headers"] = ", ".join(wanted)
    if rule.get("ExposeHeaders"):
        headers["Access-Control-Expose-Headers"] = ", ".join(rule["ExposeHeaders"])
    if rule.get("MaxAgeSeconds") is not None:
        headers["Access-Control-Max-Age"] = str(rule["MaxAgeSeconds"])
    return headers
