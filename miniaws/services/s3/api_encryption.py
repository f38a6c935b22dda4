"""S3 default bucket encryption: Put/Get/DeleteBucketEncryption.

Since January 2023 every bucket has a default encryption configuration, SSE-S3 (AES256), and deleting the
configuration resets it to that (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketEncryption.html),
so GetBucketEncryption always answers. Since April 2026 the default also blocks SSE-C writes; a rule's
BlockedEncryptionTypes NONE allows them. Writes apply the configuration in sse_requests.py.
"""
from __future__ import annotations

from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.s3.api_common import S3Base
from miniaws.services.s3.errors import InvalidArgument, MalformedXML
from miniaws.services.s3.sse_requests import ALGORITHMS, DEFAULT_ENCRYPTION, SSE_C

#: BlockedEncryptionTypes values (botocore's EncryptionType enum)
ENCRYPTION_TYPES = ("NONE", SSE_C)


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
    blocked = rules[0].get("BlockedEncryptionTypes")
    if blocked is not None:
        kinds = (blocked or {}).get("EncryptionType") or []
        if any(kind not in ENCRYPTION_TYPES for kind in kinds):
            raise MalformedXML()
        if "NONE" in kinds and len(set(kinds)) > 1:
            raise InvalidArgument("NONE cannot be combined with other blocked encryption types",
                                  ArgumentName="BlockedEncryptionTypes")
    # KMSMasterKeyID is not checked against KMS here: "Amazon S3 doesn't validate the KMS key ID provided in
    # PutBucketEncryption requests" (API_PutBucketEncryption); writes then fail with KMS.NotFoundException
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
