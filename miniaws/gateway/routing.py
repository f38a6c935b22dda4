"""Which service a request is for (DESIGN §3): SigV4 credential scope → X-Amz-Target → Host → S3.

Table-driven: one dict per signal, no if-chain per service.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

from miniaws.core.auth import CredentialScope, credential_scope

#: SigV4 signing name → miniaws service name
SIGNING_NAMES: dict[str, str] = {
    "s3": "s3",
    "sqs": "sqs",
    "sns": "sns",
    "kms": "kms",
    "lambda": "lambda",
    "route53": "route53",
    "cloudfront": "cloudfront",
    "elasticloadbalancing": "elbv2",
    "sts": "sts",
    "logs": "logs",
}

#: X-Amz-Target prefix (before the dot) → service
TARGET_PREFIXES: dict[str, str] = {
    "AmazonSQS": "sqs",
    "TrentService": "kms",
    "Logs_20140328": "logs",
}

# Virtual-hosted-style S3: `<bucket>.s3.localhost`, `<bucket>.localhost`, `<bucket>.s3.<region>.amazonaws.com`.
# `*.localhost` names resolve to loopback on every OS (RFC 6761), so no hosts-file edits are needed.
_HOST_SUFFIXES = (".localhost", ".localhost.localstack.cloud", ".amazonaws.com")

@dataclass(slots=True)
class Route:
    service: str
    scope: CredentialScope | None
    #: bucket from a virtual-hosted-style Host header, if any
    vhost_bucket: str | None = None
    #: S3 only: the Host is a static-website endpoint (`<bucket>.s3-website.localhost`), served as a website
    website: bool = False


def bucket_from_host(host: str) -> str | None:
    """The bucket named by a virtual-hosted-style Host header, or None for path style."""
    if host.startswith("["):
        return None
    name = host.rsplit(":", 1)[0].lower()
    for suffix in _HOST_SUFFIXES:
        if name.endswith(suffix):
            prefix = name[: -len(suffix)]
            break
    else:
        return None
    labels = prefix.split(".")
    # the right-most "s3" / "s3-<region>" label separates the bucket from the endpoint
    for index in range(len(labels) - 1, -1, -1):
        if labels[index] == "s3" or labels[index].startswith("s3-"):
            return ".".join(labels[:index]) or None
    if suffix == ".amazonaws.com":
        return None
    return prefix or None


def is_website_host(host: str) -> bool:
    """S3 website endpoints have an `s3-website` or `s3-website-<region>` label (https://docs.aws.amazon.com/
    AmazonS3/latest/userguide/WebsiteEndpoints.html); `<bucket>.s3-website.localhost` is the local form."""
    if "s3-website" not in host:
        return False
    labels = host.rsplit(":", 1)[0].lower().split(".")
    return any(label == "s3-website" or label.startswith("s3-website-") for label in labels)


def resolve(headers: Mapping[str, str], query: Mapping[str, str]) -> Route:
    scope = credential_scope(headers.get("Authorization"), query)
    service: str | None = None
    if scope is not None and scope.service:
        service = SIGNING_NAMES.get(scope.service)
    if service is None:
        target = headers.get("X-Amz-Target")
        if target:
            service = TARGET_PREFIXES.get(target.split(".", 1)[0])
    if service is None:
        service = "s3"
    vhost = None
    website = False
    if service == "s3":
        vhost, website = _s3_host(headers.get("Host", ""))
    return Route(service, scope, vhost, website)


@lru_cache(maxsize=256)
def _s3_host(host: str) -> tuple[str | None, bool]:
    """(virtual-hosted bucket, website endpoint) of a Host header: clients send the same few hosts again and again,
    and the suffix and label scans cost a few µs of every S3 request. Pure, so one bounded cache serves all."""
    return bucket_from_host(host), is_website_host(host)
