"""Object Lock rules: what a write may ask for, the bucket's default retention, and how retention may change.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html: COMPLIANCE retention can be extended
but never shortened or removed; GOVERNANCE gives way to x-amz-bypass-governance-retention (with the
s3:BypassGovernanceRetention permission); a legal hold blocks deletion until it is turned OFF. Dates come from
the injected clock.
"""
from __future__ import annotations

from typing import Any

from miniaws.services.s3.errors import AccessDenied, InvalidArgument, InvalidRequest, MalformedXML
from miniaws.services.s3.models import Bucket, S3Object

MODES = ("GOVERNANCE", "COMPLIANCE")
HOLD_STATES = ("ON", "OFF")
DAY = 86400.0


def _missing_configuration() -> InvalidRequest:
    return InvalidRequest("Bucket is missing Object Lock Configuration")


def require_lock(bucket: Bucket) -> None:
    if bucket.object_lock is None:
        raise _missing_configuration()


def check_mode(mode: Any) -> str:
    if mode not in MODES:
        raise InvalidArgument("Unknown wormMode directive.", ArgumentName="x-amz-object-lock-mode",
                              ArgumentValue=str(mode))
    return str(mode)


def check_until(until: Any, now: float) -> float:
    if not isinstance(until, (int, float)) or until <= now:
        raise InvalidArgument("The retain until date must be in the future!",
                              ArgumentName="x-amz-object-lock-retain-until-date", ArgumentValue=str(until))
    return float(until)


def check_configuration(configuration: dict[str, Any] | None) -> dict[str, Any]:
    """A PutObjectLockConfiguration body, validated; stored as sent."""
    configuration = configuration or {}
    if configuration.get("ObjectLockEnabled") != "Enabled":
        raise MalformedXML()
    rule = configuration.get("Rule")
    if rule is not None:
        retention = rule.get("DefaultRetention") or {}
        days, years = retention.get("Days"), retention.get("Years")
        if retention.get("Mode") not in MODES or (days is None) == (years is None):
            raise MalformedXML()
        period = days if days is not None else years
        if not isinstance(period, int) or period <= 0:
            raise InvalidArgument("Default retention period must be a positive integer value",
                                  ArgumentName="DefaultRetention")
    return configuration


def write_lock(bucket: Bucket, params: dict[str, Any], now: float) -> tuple[str | None, float | None, str | None]:
    """(mode, retain-until, legal hold) for a new object version: the request's x-amz-object-lock-* headers, else
    the bucket's default retention."""
    mode, until, hold = (params.get("ObjectLockMode"), params.get("ObjectLockRetainUntilDate"),
                         params.get("ObjectLockLegalHoldStatus"))
    if mode is None and until is None and hold is None:
        return (*default_retention(bucket, now), None)
    require_lock(bucket)
    if (mode is None) != (until is None):
        raise InvalidArgument("x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
    if hold is not None and hold not in HOLD_STATES:
        raise InvalidArgument("Legal Hold must be either of 'ON' or 'OFF'", ArgumentName="x-amz-object-lock-legal-hold",
                              ArgumentValue=str(hold))
    if mode is None:
        mode, until = default_retention(bucket, now)
        return mode, until, hold
    return check_mode(mode), check_until(until, now), hold


def default_retention(bucket: Bucket, now: float) -> tuple[str | None, float | None]:
    retention = ((bucket.object_lock or {}).get("Rule") or {}).get("DefaultRetention")
    if not retention:
        return None, None
    days = retention.get("Days")
    period = days * DAY if days is not None else retention["Years"] * 365 * DAY
    return retention["Mode"], now + period


def check_retention_change(obj: S3Object, mode: str | None, until: float | None, now: float, bypass: bool) -> None:
    """PutObjectRetention on a version that is already under retention: only ever stricter, unless GOVERNANCE is
    bypassed."""
    if obj.lock_until is None or obj.lock_until <= now:
        return
    stricter = until is not None and until >= obj.lock_until and (
        mode == obj.lock_mode or mode == "COMPLIANCE")
    if stricter:
        return
    if obj.lock_mode == "GOVERNANCE" and bypass:
        return
    raise AccessDenied("Access Denied because object protected by object lock.")


def check_integrity_header(headers: Any, params: dict[str, Any]) -> None:
    """PutObject with Object Lock parameters must carry Content-MD5 or a flexible checksum (S3 requires one)."""
    if all(params.get(m) is None for m in ("ObjectLockMode", "ObjectLockRetainUntilDate",
                                           "ObjectLockLegalHoldStatus")):
        return
    names = {name.lower() for name in headers}
    if "content-md5" in names or "x-amz-trailer" in names or any(n.startswith("x-amz-checksum-") for n in names):
        return
    raise InvalidRequest("Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with "
                         "Object Lock parameters")
