"""S3 lifecycle rules: validating a LifecycleConfiguration, and the sweep that applies its expirations.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html and
lifecycle-expire-general-considerations.html: an object expires `Days` after it was created, rounded up to the next
midnight UTC (or on `Date`); in a versioned bucket expiring the current version adds a delete marker;
noncurrent versions expire `NoncurrentDays` after they became noncurrent (keeping `NewerNoncurrentVersions`);
a delete marker with no versions left goes with ExpiredObjectDeleteMarker; incomplete multipart uploads are
aborted `DaysAfterInitiation` after they started. Object Lock still protects locked versions. Transitions are
stored, not applied (miniaws has one storage tier).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from miniaws.services.s3.errors import InvalidArgument, InvalidRequest, MalformedXML
from miniaws.services.s3.models import Bucket, S3Object

DAY = 86400.0
MAX_RULES = 1000
_ACTIONS = ("Expiration", "Transitions", "NoncurrentVersionExpiration", "NoncurrentVersionTransitions",
            "AbortIncompleteMultipartUpload")


def _positive(value: Any, message: str) -> None:
    if not isinstance(value, int) or value < 1:
        raise InvalidArgument(message)


def check_configuration(configuration: dict[str, Any] | None) -> list[dict[str, Any]]:
    rules = (configuration or {}).get("Rules") or []
    if not rules or len(rules) > MAX_RULES:
        raise MalformedXML()
    ids: set[str] = set()
    for rule in rules:
        if rule.get("Status") not in ("Enabled", "Disabled"):
            raise MalformedXML()
        rule_id = rule.get("ID")
        if rule_id is not None:
            if len(rule_id) > 255:
                raise InvalidArgument("ID length should not exceed allowed limit of 255")
            if rule_id in ids:
                raise InvalidArgument("Rule ID must be unique. Found same ID for more than one rule")
            ids.add(rule_id)
        rule_filter = rule.get("Filter")
        if rule_filter is not None and rule.get("Prefix") is not None:
            raise MalformedXML()
        if rule_filter is not None and len([k for k, v in rule_filter.items() if v is not None]) > 1:
            raise MalformedXML()
        if not any(rule.get(action) for action in _ACTIONS):
            raise InvalidRequest("At least one action needs to be specified in a rule")
        expiration = rule.get("Expiration")
        if expiration is not None:
            given = [k for k in ("Days", "Date", "ExpiredObjectDeleteMarker") if expiration.get(k) is not None]
            if len(given) != 1:
                raise MalformedXML()
            if "Days" in given:
                _positive(expiration["Days"], "'Days' for Expiration action must be a positive integer")
            if "Date" in given and float(expiration["Date"]) % DAY:
                raise InvalidArgument("'Date' must be at midnight GMT")
        noncurrent = rule.get("NoncurrentVersionExpiration")
        if noncurrent is not None:
            _positive(noncurrent.get("NoncurrentDays"),
                      "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")
        abort = rule.get("AbortIncompleteMultipartUpload")
        if abort is not None:
            _positive(abort.get("DaysAfterInitiation"),
                      "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
            if rule_filter is not None and (rule_filter.get("Tag") or (rule_filter.get("And") or {}).get("Tags")):
                raise InvalidRequest("AbortIncompleteMultipartUpload cannot be specified with Tags.")
    return list(rules)


def due(start: float, days: int) -> float:
    """`days` after `start`, rounded up to the next midnight UTC (when S3's lifecycle acts)."""
    return math.ceil((start + days * DAY) / DAY) * DAY


def _prefix(rule: dict[str, Any]) -> str:
    rule_filter = rule.get("Filter") or {}
    return str(rule.get("Prefix") or rule_filter.get("Prefix") or (rule_filter.get("And") or {}).get("Prefix") or "")


def matches(rule: dict[str, Any], key: str, obj: S3Object | None) -> bool:
    if not key.startswith(_prefix(rule)):
        return False
    rule_filter = rule.get("Filter") or {}
    conditions = dict(rule_filter.get("And") or {}, **{k: v for k, v in rule_filter.items() if k != "And"})
    tags = list(conditions.get("Tags") or []) + ([conditions["Tag"]] if conditions.get("Tag") else [])
    if tags and (obj is None or any((obj.tags or {}).get(t["Key"]) != t.get("Value") for t in tags)):
        return False
    if obj is not None and conditions.get("ObjectSizeGreaterThan") is not None:
        if not obj.size > conditions["ObjectSizeGreaterThan"]:
            return False
    if obj is not None and conditions.get("ObjectSizeLessThan") is not None:
        if not obj.size < conditions["ObjectSizeLessThan"]:
            return False
    return True


@dataclass(slots=True)
class Expired:
    """One thing the sweep found due: expire the current version, remove a version, or abort an upload."""

    kind: str  # "current" | "version" | "upload"
    key: str
    target: Any  # the S3Object (version) or Upload


def due_now(bucket: Bucket, rules: list[dict[str, Any]], now: float) -> list[Expired]:
    """Everything the bucket's enabled rules make due at `now` (applied by the caller)."""
    found: list[Expired] = []
    claimed: set[int] = set()

    def claim(kind: str, key: str, target: Any) -> None:
        if id(target) not in claimed:
            claimed.add(id(target))
            found.append(Expired(kind, key, target))

    for rule in rules:
        if rule.get("Status") != "Enabled":
            continue
        expiration = rule.get("Expiration") or {}
        noncurrent = rule.get("NoncurrentVersionExpiration") or {}
        prefix = _prefix(rule)
        for key, stack in bucket.versions.items():
            if not key.startswith(prefix):
                continue
            current = stack[0]
            if not current.delete_marker and matches(rule, key, current) and not current.locked(now):
                days, date = expiration.get("Days"), expiration.get("Date")
                if (days is not None and now >= due(current.last_modified, days)) or (
                        date is not None and now >= float(date)):
                    claim("current", key, current)
            if expiration.get("ExpiredObjectDeleteMarker") and len(stack) == 1 and current.delete_marker:
                claim("version", key, current)
            if noncurrent.get("NoncurrentDays"):
                keep = noncurrent.get("NewerNoncurrentVersions") or 0
                for index in range(1, len(stack)):
                    version = stack[index]
                    if index <= keep or version.locked(now) or not matches(rule, key, version):
                        continue
                    # a version becomes noncurrent when the next newer one is written
                    if now >= due(stack[index - 1].last_modified, noncurrent["NoncurrentDays"]):
                        claim("version", key, version)
        abort = rule.get("AbortIncompleteMultipartUpload") or {}
        if abort.get("DaysAfterInitiation"):
            for upload in bucket.uploads.values():
                if upload.key.startswith(prefix) and now >= due(upload.initiated, abort["DaysAfterInitiation"]):
                    claim("upload", upload.key, upload)
    return found
