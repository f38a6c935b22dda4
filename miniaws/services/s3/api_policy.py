"""S3 bucket policies and Block Public Access: Put/Get/DeleteBucketPolicy, GetBucketPolicyStatus,
Put/Get/DeletePublicAccessBlock. Evaluation is in access.py; validation in policy.py.
"""
from __future__ import annotations

from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.s3.api_common import S3Base, raw_body
from miniaws.services.s3.errors import AccessDenied, NoSuchBucketPolicy, NoSuchPublicAccessBlockConfiguration
from miniaws.services.s3.policy import parse_policy

_BLOCK_SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


class PolicyOperations(S3Base):
    @operation("PutBucketPolicy")
    async def put_bucket_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html"""
        bucket = self.bucket(ctx, params["Bucket"], params)
        text = (await raw_body(ctx)).decode("utf-8", "replace")
        policy = parse_policy(text, bucket.name)
        if policy.public and (bucket.public_access_block or {}).get("BlockPublicPolicy"):
            raise AccessDenied(f"User: arn:aws:iam::{ctx.principal.account_id}:user/{ctx.principal.access_key} is "
                               f"not authorized to perform: s3:PutBucketPolicy on resource: "
                               f'"arn:aws:s3:::{bucket.name}" because public policies are blocked by the '
                               "BlockPublicPolicy block public access setting.")
        bucket.policy, bucket.parsed_policy = text, policy
        self.store.save_bucket(bucket)
        return {}

    @operation("GetBucketPolicy")
    def get_bucket_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        if bucket.policy is None:
            raise NoSuchBucketPolicy(BucketName=bucket.name)
        return {"Policy": bucket.policy}

    @operation("DeleteBucketPolicy")
    def delete_bucket_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        bucket.policy, bucket.parsed_policy = None, None
        self.store.save_bucket(bucket)
        return {}

    @operation("GetBucketPolicyStatus")
    def get_bucket_policy_status(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """IsPublic by S3's rules: an Allow to everyone not limited by a fixed-value condition."""
        bucket = self.bucket(ctx, params["Bucket"], params)
        if bucket.policy is None:
            raise NoSuchBucketPolicy(BucketName=bucket.name)
        if bucket.parsed_policy is None:
            bucket.parsed_policy = parse_policy(bucket.policy, bucket.name)
        return {"PolicyStatus": {"IsPublic": bucket.parsed_policy.public}}

    # -- Block Public Access --------------------------------------------------------------------
    @operation("PutPublicAccessBlock")
    def put_public_access_block(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        configuration = params.get("PublicAccessBlockConfiguration") or {}
        bucket.public_access_block = {name: bool(configuration.get(name)) for name in _BLOCK_SETTINGS}
        self.store.save_bucket(bucket)
        return {}

    @operation("GetPublicAccessBlock")
    def get_public_access_block(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        if bucket.public_access_block is None:
            raise NoSuchPublicAccessBlockConfiguration(BucketName=bucket.name)
        return {"PublicAccessBlockConfiguration": dict(bucket.public_access_block)}

    @operation("DeletePublicAccessBlock")
    def delete_public_access_block(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        bucket.public_access_block = None
        self.store.save_bucket(bucket)
        return {}
