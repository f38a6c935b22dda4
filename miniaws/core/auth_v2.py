"""S3's legacy Signature Version 2 (HMAC-SHA1): the `AWS AKID:signature` header and presigned URLs with
AWSAccessKeyId/Expires/Signature, which boto3 and the AWS CLI v1 still produce by default for S3 presigning.

String to sign, per https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html:
    VERB \\n Content-MD5 \\n Content-Type \\n Date-or-Expires \\n CanonicalizedAmzHeaders CanonicalizedResource
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Final
from urllib.parse import unquote

from miniaws.core.errors import AccessDenied, IncompleteSignature, InvalidAccessKeyId, SignatureDoesNotMatch

#: query parameters that are part of the signed resource (sub-resources and response overrides)
SIGNED_SUBRESOURCES: Final = frozenset({
    "accelerate", "acl", "analytics", "cors", "delete", "inventory", "legal-hold", "lifecycle", "location",
    "logging", "metrics", "notification", "object-lock", "partNumber", "policy", "replication",
    "requestPayment", "response-cache-control", "response-content-disposition", "response-content-encoding",
    "response-content-language", "response-content-type", "response-expires", "restore", "retention",
    "select", "select-type", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning",
    "versions", "website", "encryption", "ownershipControls", "publicAccessBlock", "intelligent-tiering",
})


def is_sigv2(authorization: str | None, raw_query: str) -> bool:
    if authorization:
        return authorization.startswith("AWS ")
    return "AWSAccessKeyId=" in raw_query and "Signature=" in raw_query


def verify_sigv2(method: str, raw_path: str, raw_query: str, headers: Mapping[str, str],
                 secrets: Mapping[str, str], now: float, virtual_bucket: str | None = None) -> str:
    """Verify a SigV2-signed S3 request; returns the access key or raises the error S3 gives."""
    pairs = [piece.partition("=") for piece in raw_query.split("&") if piece] if raw_query else []
    query = {unquote(k): unquote(v) for k, _, v in pairs}
    lowered: dict[str, list[str]] = {}
    for name, value in headers.items():
        lowered.setdefault(name.lower(), []).append(value)
    authorization = lowered.get("authorization", [""])[0]
    if authorization:
        access_key, sep, signature = authorization[4:].strip().rpartition(":")
        if not sep or not access_key:
            raise IncompleteSignature("AWS authorization header is malformed")
        has_amz_date = "x-amz-date" in lowered
        when = "" if has_amz_date else lowered.get("date", [""])[0]
    else:
        access_key, signature = query.get("AWSAccessKeyId", ""), query.get("Signature", "")
        when = query.get("Expires", "")
        try:
            expires = int(when)
        except ValueError:
            raise AccessDenied("Query-string authentication requires the Signature, Expires and AWSAccessKeyId "
                               "parameters") from None
        if now > expires:
            raise AccessDenied("Request has expired", Expires=str(expires), ServerTime=str(int(now)))
    secret = secrets.get(access_key)
    if secret is None:
        raise InvalidAccessKeyId(AWSAccessKeyId=access_key)
    string_to_sign = "\n".join([
        method,
        lowered.get("content-md5", [""])[0].strip(),
        lowered.get("content-type", [""])[0].strip(),
        when,
        "",
    ]) + _amz_headers(lowered) + _resource(raw_path, query, virtual_bucket)
    expected = base64.b64encode(hmac.new(secret.encode(), string_to_sign.encode("utf-8"), hashlib.sha1).digest())
    if not hmac.compare_digest(expected, signature.encode()):
        raise SignatureDoesNotMatch(AWSAccessKeyId=access_key, StringToSign=string_to_sign,
                                    SignatureProvided=signature)
    return access_key


def _amz_headers(lowered: Mapping[str, list[str]]) -> str:
    lines = []
    for name in sorted(n for n in lowered if n.startswith("x-amz-")):
        values = ",".join(" ".join(v.split()) for v in lowered[name])
        lines.append(f"{name}:{values}\n")
    return "".join(lines)


def _resource(raw_path: str, query: Mapping[str, str], virtual_bucket: str | None) -> str:
    resource = ("/" + virtual_bucket + raw_path) if virtual_bucket else raw_path
    signed = sorted(k for k in query if k in SIGNED_SUBRESOURCES)
    if signed:
        resource += "?" + "&".join(f"{k}={query[k]}" if query[k] else k for k in signed)
    return resource
