"""S3 ACL and ownership operations: Get/PutBucketAcl, Get/PutObjectAcl, Put/Get/DeleteBucketOwnershipControls.

With ObjectOwnership BucketOwnerEnforced (the default since April 2023) ACLs are disabled: reading one shows the
bucket owner's full control, and setting one fails with AccessControlListNotSupported unless it grants the owner
full control and nothing else (https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html).
"""
from __future__ import annotations

from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.s3 import acl
from miniaws.services.s3.api_common import S3Base
from miniaws.services.s3.errors import (AccessControlListNotSupported, InvalidArgument,
                                        InvalidBucketAclWithObjectOwnership, MalformedXML,
                                        MissingSecurityHeader, OwnershipControlsNotFoundError)
from miniaws.services.s3.models import Bucket, Owner, S3Object
from miniaws.services.s3.settings import check_public_acl

OWNERSHIPS = ("BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter")


def check_ownership(value: Any) -> str:
    if value not in OWNERSHIPS:
        raise InvalidArgument("Invalid x-amz-object-ownership header", ArgumentName="x-amz-object-ownership",
                              ArgumentValue=str(value))
    return str(value)


def _object_owner(bucket: Bucket, obj: S3Object) -> Owner:
    if bucket.ownership == "BucketOwnerEnforced" or not obj.owner_id or obj.owner_id == bucket.owner.id:
        return bucket.owner
    return Owner(obj.owner_id, obj.owner_name)


class AclOperations(S3Base):
    def _grants(self, params: dict[str, Any], owner_id: str, bucket_owner_id: str) -> list[acl.Grant]:
        """The ACL a Put*Acl request sets: an AccessControlPolicy body, or x-amz-acl / x-amz-grant-* headers."""
        body = params.get("AccessControlPolicy")
        if body is not None:
            return acl.policy_grants(body)
        grants = acl.requested_grants(params, owner_id, bucket_owner_id)
        if grants is None:
            raise MissingSecurityHeader(MissingHeaderName="x-amz-acl")
        return grants

    # -- buckets --------------------------------------------------------------------------------
    @operation("GetBucketAcl")
    def get_bucket_acl(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        grants = None if bucket.ownership == "BucketOwnerEnforced" else bucket.acl
        return acl.acl_wire(grants, bucket.owner)

    @operation("PutBucketAcl")
    def put_bucket_acl(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html"""
        bucket = self.bucket(ctx, params["Bucket"], params)
        grants = self._grants(params, bucket.owner.id, bucket.owner.id)
        if bucket.ownership == "BucketOwnerEnforced":
            if not acl.owner_only(grants, bucket.owner.id):
                raise AccessControlListNotSupported()
            return {}
        check_public_acl(bucket, grants)
        bucket.acl = grants
        self.store.save_bucket(bucket)
        return {}

    # -- objects --------------------------------------------------------------------------------
    @operation("GetObjectAcl")
    def get_object_acl(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket, obj = self.read_target(ctx, params)
        grants = None if bucket.ownership == "BucketOwnerEnforced" else obj.acl
        owner = _object_owner(bucket, obj)
        return acl.acl_wire(grants, owner)

    @operation("PutObjectAcl")
    def put_object_acl(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html"""
        bucket, obj = self.read_target(ctx, params)
        owner = _object_owner(bucket, obj)
        grants = self._grants(params, owner.id, bucket.owner.id)
        if bucket.ownership == "BucketOwnerEnforced":
            if not acl.owner_only(grants, owner.id):
                raise AccessControlListNotSupported()
            return {}
        check_public_acl(bucket, grants)
        obj.acl = grants
        self.store.save_version(bucket, obj)
        self.notify(ctx, bucket, "ObjectAcl:Put", obj.key, obj)
        return {}

    # -- ownership controls ---------------------------------------------------------------------
    @operation("PutBucketOwnershipControls")
    def put_bucket_ownership_controls(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        rules = (params.get("OwnershipControls") or {}).get("Rules") or []
        if len(rules) != 1:
            raise MalformedXML()
        ownership = rules[0].get("ObjectOwnership")
        if ownership not in OWNERSHIPS:
            raise MalformedXML()
        if ownership == "BucketOwnerEnforced" and not acl.owner_only(bucket.acl, bucket.owner.id):
            # the bucket ACL must first be reset to private (the ACLs it grants would silently stop applying)
            raise InvalidBucketAclWithObjectOwnership()
        bucket.ownership = str(ownership)
        self.store.save_bucket(bucket)
        return {}

    @operation("GetBucketOwnershipControls")
    def get_bucket_ownership_controls(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        if bucket.ownership is None:
            raise OwnershipControlsNotFoundError(BucketName=bucket.name)
        return {"OwnershipControls": {"Rules": [{"ObjectOwnership": bucket.ownership}]}}

    @operation("DeleteBucketOwnershipControls")
    def delete_bucket_ownership_controls(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        bucket.ownership = None
        self.store.save_bucket(bucket)
        return {}
