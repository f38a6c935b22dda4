"""S3 bucket operations: CreateBucket (with ObjectOwnership, ACL, Object Lock), DeleteBucket, HeadBucket, ListBuckets,
GetBucketLocation."""
from __future__ import annotations

from typing import Any

from miniaws.core.context import RequestContext
from miniaws.core.timestamps import iso8601_ms
from miniaws.services.base import operation
from miniaws.services.s3 import acl
from miniaws.services.s3.api_acl import check_ownership
from miniaws.services.s3.api_common import S3Base
from miniaws.services.s3.errors import (AccessDenied, BucketAlreadyExists, BucketAlreadyOwnedByYou, BucketNotEmpty,
                                        IllegalLocationConstraintException,
                                        InvalidBucketAclWithBlockPublicAccessError,
                                        InvalidBucketAclWithObjectOwnership, InvalidLocationConstraint)
from miniaws.services.s3.listing import decode_token, encode_token
from miniaws.services.s3.models import DEFAULT_OWNERSHIP, DEFAULT_PUBLIC_ACCESS_BLOCK, Bucket
from miniaws.services.s3.validation import REGIONS, check_bucket_name, check_max


class BucketOperations(S3Base):
    @operation("CreateBucket")
    def create_bucket(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html"""
        name = params["Bucket"]
        self._refuse_anonymous(ctx)
        check_bucket_name(name)
        configuration = params.get("CreateBucketConfiguration") or {}
        constraint = configuration.get("LocationConstraint") or None
        region = self._bucket_region(ctx, constraint)
        existing = self.store.buckets.get(name)
        if existing is not None:
            if existing.owner.id != ctx.principal.canonical_id:
                raise BucketAlreadyExists(BucketName=name)
            # us-east-1 keeps its legacy answer: re-creating your own bucket succeeds
            if region == "us-east-1" and existing.region == "us-east-1":
                return {"Location": "/" + name}
            raise BucketAlreadyOwnedByYou(BucketName=name)
        owner = self.owner_of(ctx)
        ownership = check_ownership(params.get("ObjectOwnership") or DEFAULT_OWNERSHIP)
        grants = acl.requested_grants(params, owner.id, owner.id)
        if ownership == "BucketOwnerEnforced" and not acl.owner_only(grants, owner.id):
            raise InvalidBucketAclWithObjectOwnership()
        if acl.is_public(grants):
            # new buckets come with every Block Public Access setting on (S3's default since April 2023)
            raise InvalidBucketAclWithBlockPublicAccessError()
        bucket = Bucket(name, region, ctx.clock.now(), owner, ctx.account_id, ownership=ownership,
                        acl=grants if ownership != "BucketOwnerEnforced" else None,
                        public_access_block=dict(DEFAULT_PUBLIC_ACCESS_BLOCK))
        if params.get("ObjectLockEnabledForBucket"):
            # Object Lock needs versioning, which S3 turns on with it
            bucket.object_lock, bucket.versioning = {"ObjectLockEnabled": "Enabled"}, "Enabled"
        self.store.add_bucket(bucket)
        location = "/" + name if region == "us-east-1" else f"http://{name}.s3.localhost/"
        return {"Location": location}

    def _refuse_anonymous(self, ctx: RequestContext) -> None:
        # With auth enforced an unsigned request has no principal to own a bucket or to list buckets for:
        # S3 answers 403 AccessDenied to anonymous CreateBucket and ListBuckets (bucket-level operations
        # check ownership in S3Base.authorize; these two have no bucket to check against).
        if self.enforce and ctx.principal.anonymous:
            raise AccessDenied()

    @staticmethod
    def _bucket_region(ctx: RequestContext, constraint: str | None) -> str:
        if constraint is None:
            if ctx.region != "us-east-1":
                raise IllegalLocationConstraintException(
                    "The unspecified location constraint is incompatible for the region specific endpoint this "
                    "request was sent to.")
            return "us-east-1"
        if constraint == "us-east-1" or constraint not in REGIONS:
            raise InvalidLocationConstraint(LocationConstraint=constraint)
        region = "eu-west-1" if constraint == "EU" else constraint
        if region != ctx.region:
            raise IllegalLocationConstraintException(
                f"The {constraint} location constraint is incompatible for the region specific endpoint this "
                "request was sent to.")
        return region

    @operation("DeleteBucket")
    def delete_bucket(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"])
        if bucket.versions:  # noncurrent versions and delete markers count too
            raise BucketNotEmpty(BucketName=bucket.name)
        self.store.remove_bucket(bucket)
        return {}

    @operation("HeadBucket")
    def head_bucket(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"])
        return {"BucketRegion": bucket.region, "AccessPointAlias": False}

    @operation("GetBucketLocation")
    def get_bucket_location(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"])
        # us-east-1 buckets report an empty LocationConstraint (null), as S3 does
        return {"LocationConstraint": None if bucket.region == "us-east-1" else bucket.region}

    @operation("ListBuckets")
    def list_buckets(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """Buckets owned by the caller (auth enforced) or by the caller's account (auth off), by name."""
        self._refuse_anonymous(ctx)
        prefix = params.get("Prefix") or ""
        region = params.get("BucketRegion")
        limit = check_max(params.get("MaxBuckets"), "max-buckets", default=10000, ceiling=10000)
        token = params.get("ContinuationToken")
        after = decode_token(token) if token else None
        if self.enforce:
            mine = [b for b in self.store.buckets.values() if b.owner.id == ctx.principal.canonical_id]
        else:
            mine = [b for b in self.store.buckets.values() if b.account_id == ctx.account_id]
        chosen = sorted((b for b in mine if b.name.startswith(prefix) and (region is None or b.region == region)
                         and (after is None or b.name > after)), key=lambda b: b.name)
        page = chosen[:limit]
        result: dict[str, Any] = {
            "Buckets": [{"Name": b.name, "CreationDate": iso8601_ms(b.created), "BucketRegion": b.region}
                        for b in page],
            "Owner": self.owner_of(ctx).wire(),
        }
        if prefix:
            result["Prefix"] = prefix
        if len(chosen) > limit and page:
            result["ContinuationToken"] = encode_token(page[-1].name)
        return result
