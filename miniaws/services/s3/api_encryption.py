"""S3 default bucket encryption: Put/Get/DeleteBucketEncryption.

Since January 2023 every bucket has a default encryption configuration, SSE-S3 (AES256), and deleting the
configuration resets it to that (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketEncryption.html),
so GetBucketEncryption always answers. The configuration is stored here; SSE-KMS objects come with the KMS
integration (S3Object.encryption).
"""
from __future__ import annotations

from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.s3.api_common import S3Base
from miniaws.services.s3.errors import InvalidArgument, MalformedXML

ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
DEFAULT_ENCRYPTION: dict[str, Any] = {
    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]}


def check_encryption(configuration: dict[str, Any] | None) -> dict[str, Any]:
    rules = (configuration or {}).get("Rules") or []
    if len(rules) != 1:
        raise MalformedXML()
    default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
    algorithm = default.get("SSEAlgorithm")
    if algorithm not in ALGORITHMS:
        raise MalformedXML()
    if default.get("KMSMasterKeyID") and not str(algorithm).startswith("aws:kms"):
        raise InvalidArgument("a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or "
                              "aws:kms:dsse", ArgumentName="ApplyServerSideEncryptionByDefault")
    return {"Rules": [dict(rules[0], BucketKeyEnabled=bool(rules[0].get("BucketKeyEnabled")))]}


class EncryptionOperations(S3Base):
    @operation("PutBucketEncryption")
    def put_bucket_encryption(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        bucket.config["encryption"] = check_encryption(params.get("ServerSideEncryptionConfiguration"))
        self.store.save_bucket(bucket)
        return {}

    @operation("GetBucketEncryption")
    def get_bucket_encryption(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        return {"ServerSideEncryptionConfiguration": bucket.config.get("encryption") or DEFAULT_ENCRYPTION}

    @operation("DeleteBucketEncryption")
    def delete_bucket_encryption(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        if bucket.config.pop("encryption", None) is not None:
            self.store.save_bucket(bucket)
        return {}
