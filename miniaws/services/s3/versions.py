"""Versioning semantics shared by every write and delete: which version id a write gets, and what a DELETE does.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html: with versioning enabled every write adds a
version and a DELETE without a version id adds a delete marker; suspended, writes and deletes replace the "null"
version; a DELETE naming a version removes exactly that version for good.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from miniaws.services.s3.errors import AccessDenied, InvalidArgument
from miniaws.services.s3.models import NULL_VERSION, Bucket, S3Object, S3Store, new_version_id

_VERSION_ID = re.compile(r"^[A-Za-z0-9._]{32}$")


def check_version_id(version_id: str) -> None:
    """S3 rejects a version id it could never have issued before looking anything up."""
    if version_id != NULL_VERSION and not _VERSION_ID.match(version_id):
        raise InvalidArgument("Invalid version id specified", ArgumentName="versionId", ArgumentValue=version_id)


def next_version_id(bucket: Bucket) -> str:
    return new_version_id() if bucket.versioning == "Enabled" else NULL_VERSION


@dataclass(slots=True)
class Deleted:
    """What a DELETE did, for the x-amz-version-id / x-amz-delete-marker headers (or DeleteObjects entries)."""

    version_id: str | None = None
    delete_marker: bool = False


def check_unlocked(obj: S3Object, now: float, bypass_governance: bool) -> None:
    """Object Lock: a version under legal hold or unexpired retention cannot be deleted; GOVERNANCE retention gives
    way to x-amz-bypass-governance-retention (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html).
    """
    if obj.legal_hold == "ON":
        raise AccessDenied("Access Denied because object protected by object lock.")
    if obj.lock_until is not None and obj.lock_until > now:
        if obj.lock_mode == "GOVERNANCE" and bypass_governance:
            return
        raise AccessDenied("Access Denied because object protected by object lock.")


def delete_key(store: S3Store, bucket: Bucket, key: str, version_id: str | None, *, now: float, owner_id: str,
               owner_name: str, bypass_governance: bool = False) -> Deleted:
    """DeleteObject's effect on `key` (or on one version of it)."""
    if version_id is not None:
        check_version_id(version_id)
        target = bucket.find_version(key, version_id)
        if target is None:
            # deleting a version that does not exist succeeds without doing anything (204), as in S3
            return Deleted(version_id, False)
        check_unlocked(target, now, bypass_governance)
        store.remove_version(bucket, target)
        return Deleted(version_id, target.delete_marker)
    if bucket.versioning is None:
        current = bucket.current(key)
        if current is not None:
            store.remove_version(bucket, current)
        return Deleted()
    marker_id = next_version_id(bucket)
    marker = S3Object(key=key, size=0, etag="", last_modified=now, segments=[], version_id=marker_id,
                      delete_marker=True, owner_id=owner_id, owner_name=owner_name)
    store.put_object(bucket, marker)
    return Deleted(marker_id, True)
