"""S3 tagging and object attributes: Put/Get/DeleteObjectTagging, Put/Get/DeleteBucketTagging, GetObjectAttributes.

Tags live on an object version and change in place (no new version, same ETag and Last-Modified, as in S3).
"""
from __future__ import annotations

from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.s3.api_common import S3Base
from miniaws.services.s3.errors import NoSuchTagSet
from miniaws.services.s3.tagging import MAX_BUCKET_TAGS, MAX_OBJECT_TAGS, body_tags, tag_set
from miniaws.services.s3.validation import check_max

_ATTRIBUTES = frozenset({"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"})


class TaggingOperations(S3Base):
    # -- objects --------------------------------------------------------------------------------
    @operation("PutObjectTagging")
    def put_object_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html"""
        bucket, obj = self.read_target(ctx, params)
        obj.tags = body_tags(params.get("Tagging"), MAX_OBJECT_TAGS) or None
        self.store.save_version(bucket, obj)
        self.notify(ctx, bucket, "ObjectTagging:Put", obj.key, obj)
        return self.version_member(bucket, obj)

    @operation("GetObjectTagging")
    def get_object_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket, obj = self.read_target(ctx, params)
        return {"TagSet": tag_set(obj.tags), **self.version_member(bucket, obj)}

    @operation("DeleteObjectTagging")
    def delete_object_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket, obj = self.read_target(ctx, params)
        if obj.tags:
            obj.tags = None
            self.store.save_version(bucket, obj)
        self.notify(ctx, bucket, "ObjectTagging:Delete", obj.key, obj)
        return self.version_member(bucket, obj)

    # -- buckets --------------------------------------------------------------------------------
    @operation("PutBucketTagging")
    def put_bucket_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        bucket.config["tags"] = body_tags(params.get("Tagging"), MAX_BUCKET_TAGS)
        self.store.save_bucket(bucket)
        return {}

    @operation("GetBucketTagging")
    def get_bucket_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        tags = bucket.config.get("tags")
        if not tags:
            raise NoSuchTagSet(BucketName=bucket.name)
        return {"TagSet": tag_set(tags)}

    @operation("DeleteBucketTagging")
    def delete_bucket_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        if bucket.config.pop("tags", None) is not None:
            self.store.save_bucket(bucket)
        return {}

    # -- attributes -----------------------------------------------------------------------------
    @operation("GetObjectAttributes")
    def get_object_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html"""
        bucket, obj = self.read_target(ctx, params)
        wanted = set(params.get("ObjectAttributes") or ()) & _ATTRIBUTES
        result: dict[str, Any] = {"LastModified": obj.last_modified_http, **self.version_member(bucket, obj)}
        if "ETag" in wanted:
            result["ETag"] = obj.etag.strip('"')  # GetObjectAttributes reports the ETag without its quotes
        if "ObjectSize" in wanted:
            result["ObjectSize"] = obj.size
        if "StorageClass" in wanted:
            result["StorageClass"] = obj.storage_class
        if "Checksum" in wanted and obj.checksum_algorithm and obj.checksum_value:
            result["Checksum"] = {"Checksum" + obj.checksum_algorithm: obj.checksum_value,
                                  **({"ChecksumType": obj.checksum_type} if obj.checksum_type else {})}
        if "ObjectParts" in wanted and obj.part_sizes:
            marker = params.get("PartNumberMarker") or 0
            max_parts = check_max(params.get("MaxParts"), "max-parts")
            numbers = list(range(marker + 1, len(obj.part_sizes) + 1))
            page = numbers[:max_parts]
            parts: dict[str, Any] = {"TotalPartsCount": len(obj.part_sizes), "PartNumberMarker": marker,
                                     "MaxParts": max_parts, "IsTruncated": len(numbers) > len(page),
                                     "Parts": [{"PartNumber": n, "Size": obj.part_sizes[n - 1]} for n in page]}
            if page:
                parts["NextPartNumberMarker"] = page[-1]
            result["ObjectParts"] = parts
        return result
