"""S3 bucket versioning: PutBucketVersioning, GetBucketVersioning and ListObjectVersions.

The per-write and per-delete semantics live in versions.py; this module configures and lists.
"""
from __future__ import annotations

from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.s3.api_common import S3Base
from miniaws.services.s3.api_objects import _encoder, owner_wire
from miniaws.services.s3.errors import InvalidBucketState, MalformedXML
from miniaws.services.s3.listing import versions_page
from miniaws.services.s3.validation import check_max

_STATES = ("Enabled", "Suspended")
_MFA_STATES = ("Enabled", "Disabled")


class VersioningOperations(S3Base):
    @operation("PutBucketVersioning")
    def put_bucket_versioning(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html"""
        bucket = self.bucket(ctx, params["Bucket"], params)
        configuration = params.get("VersioningConfiguration") or {}
        status, mfa = configuration.get("Status"), configuration.get("MFADelete")
        if (status is not None and status not in _STATES) or (mfa is not None and mfa not in _MFA_STATES):
            raise MalformedXML()
        if status == "Suspended" and bucket.object_lock is not None:
            raise InvalidBucketState("An Object Lock configuration is present on this bucket, so the versioning state "
                                     "cannot be changed.")
        if status is not None:
            bucket.versioning = status
        if mfa is not None:
            # stored and reported; S3 would also require the x-amz-mfa header of the root account's device
            bucket.mfa_delete = mfa
        self.store.save_bucket(bucket)
        return {}

    @operation("GetBucketVersioning")
    def get_bucket_versioning(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """A bucket that never had versioning answers an empty configuration (no Status)."""
        bucket = self.bucket(ctx, params["Bucket"], params)
        result: dict[str, Any] = {}
        if bucket.versioning is not None:
            result["Status"] = bucket.versioning
        if bucket.mfa_delete is not None:
            result["MFADelete"] = bucket.mfa_delete
        return result

    @operation("ListObjectVersions")
    def list_object_versions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html"""
        bucket = self.bucket(ctx, params["Bucket"], params)
        prefix, delimiter = params.get("Prefix") or "", params.get("Delimiter") or ""
        key_marker = params.get("KeyMarker") or None
        version_marker = params.get("VersionIdMarker") or None
        max_keys = check_max(params.get("MaxKeys"), "max-keys")
        encode = _encoder(params)
        page = versions_page(bucket, prefix, delimiter, key_marker, version_marker if key_marker else None, max_keys)
        versions: list[dict[str, Any]] = []
        markers: list[dict[str, Any]] = []
        for version in page.versions:
            entry: dict[str, Any] = {"Key": encode(version.key), "VersionId": version.version_id,
                                     "IsLatest": bucket.versions[version.key][0] is version,
                                     "LastModified": version.last_modified_iso, "Owner": owner_wire(version, bucket)}
            if version.delete_marker:
                markers.append(entry)
                continue
            entry.update(ETag=version.etag, Size=version.size, StorageClass=version.storage_class)
            if version.checksum_algorithm:
                entry["ChecksumAlgorithm"] = [version.checksum_algorithm]
                if version.checksum_type:
                    entry["ChecksumType"] = version.checksum_type
            versions.append(entry)
        result: dict[str, Any] = {
            "Name": bucket.name, "Prefix": encode(prefix), "KeyMarker": encode(key_marker or ""),
            "VersionIdMarker": version_marker or "", "MaxKeys": max_keys, "IsTruncated": page.truncated,
            "Versions": versions, "DeleteMarkers": markers,
            "CommonPrefixes": [{"Prefix": encode(p)} for p in page.prefixes],
        }
        if delimiter:
            result["Delimiter"] = encode(delimiter)
        if page.truncated and page.next_key is not None:
            result["NextKeyMarker"] = encode(page.next_key)
            if page.next_version is not None:
                result["NextVersionIdMarker"] = page.next_version
        if params.get("EncodingType"):
            result["EncodingType"] = params["EncodingType"]
        return result
