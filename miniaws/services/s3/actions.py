"""S3's IAM actions: which action each operation needs, and which actions apply to objects rather than buckets.

https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html
"""
from __future__ import annotations

from typing import Any

#: actions whose resource is an object ARN (arn:aws:s3:::bucket/key)
OBJECT_ACTIONS = frozenset({
    "AbortMultipartUpload", "BypassGovernanceRetention", "DeleteObject", "DeleteObjectTagging",
    "DeleteObjectVersion", "DeleteObjectVersionTagging", "GetObject", "GetObjectAcl", "GetObjectAttributes",
    "GetObjectLegalHold", "GetObjectRetention", "GetObjectTagging", "GetObjectTorrent", "GetObjectVersion",
    "GetObjectVersionAcl", "GetObjectVersionAttributes", "GetObjectVersionForReplication",
    "GetObjectVersionTagging", "GetObjectVersionTorrent", "InitiateReplication", "ListMultipartUploadParts",
    "ObjectOwnerOverrideToBucketOwner", "PutObject", "PutObjectAcl", "PutObjectLegalHold", "PutObjectRetention",
    "PutObjectTagging", "PutObjectVersionAcl", "PutObjectVersionTagging", "ReplicateDelete", "ReplicateObject",
    "ReplicateTags", "RestoreObject",
})

#: actions whose resource is the bucket ARN (arn:aws:s3:::bucket)
BUCKET_ACTIONS = frozenset({
    "CreateBucket", "DeleteBucket", "DeleteBucketOwnershipControls", "DeleteBucketPolicy", "DeleteBucketWebsite",
    "GetAccelerateConfiguration", "GetAnalyticsConfiguration", "GetBucketAcl", "GetBucketCORS",
    "GetBucketLocation", "GetBucketLogging", "GetBucketNotification", "GetBucketObjectLockConfiguration",
    "GetBucketOwnershipControls", "GetBucketPolicy", "GetBucketPolicyStatus", "GetBucketPublicAccessBlock",
    "GetBucketRequestPayment", "GetBucketTagging", "GetBucketVersioning", "GetBucketWebsite",
    "GetEncryptionConfiguration", "GetIntelligentTieringConfiguration", "GetInventoryConfiguration",
    "GetLifecycleConfiguration", "GetMetricsConfiguration", "GetReplicationConfiguration", "ListBucket",
    "ListBucketMultipartUploads", "ListBucketVersions", "PutAccelerateConfiguration", "PutAnalyticsConfiguration",
    "PutBucketAcl", "PutBucketCORS", "PutBucketLogging", "PutBucketNotification", "PutBucketObjectLockConfiguration",
    "PutBucketOwnershipControls", "PutBucketPolicy", "PutBucketPublicAccessBlock", "PutBucketRequestPayment",
    "PutBucketTagging", "PutBucketVersioning", "PutBucketWebsite", "PutEncryptionConfiguration",
    "PutIntelligentTieringConfiguration", "PutInventoryConfiguration", "PutLifecycleConfiguration",
    "PutMetricsConfiguration", "PutReplicationConfiguration", "ListAllMyBuckets", "GetBucketAbac",
})

#: operations whose action is not simply "s3:" + the operation name
_ACTIONS = {
    "HeadBucket": "ListBucket", "ListObjects": "ListBucket", "ListObjectsV2": "ListBucket",
    "ListObjectVersions": "ListBucketVersions", "ListMultipartUploads": "ListBucketMultipartUploads",
    "HeadObject": "GetObject", "CopyObject": "PutObject", "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject", "UploadPartCopy": "PutObject", "CompleteMultipartUpload": "PutObject",
    "PostObject": "PutObject", "ListParts": "ListMultipartUploadParts", "DeleteObjects": "DeleteObject",
    "GetBucketCors": "GetBucketCORS", "PutBucketCors": "PutBucketCORS", "DeleteBucketCors": "PutBucketCORS",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock", "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeleteBucketOwnershipControls": "PutBucketOwnershipControls", "DeleteBucketTagging": "PutBucketTagging",
    "GetBucketEncryption": "GetEncryptionConfiguration", "PutBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
    "PutObjectLockConfiguration": "PutBucketObjectLockConfiguration",
}
#: the version-specific action when the request names a versionId
_VERSIONED = {
    "GetObject": "GetObjectVersion", "DeleteObject": "DeleteObjectVersion", "GetObjectAcl": "GetObjectVersionAcl",
    "PutObjectAcl": "PutObjectVersionAcl", "GetObjectTagging": "GetObjectVersionTagging",
    "PutObjectTagging": "PutObjectVersionTagging", "DeleteObjectTagging": "DeleteObjectVersionTagging",
    "GetObjectAttributes": "GetObjectVersionAttributes",
}


def action_for(operation: str, params: dict[str, Any]) -> str:
    """The IAM action an S3 operation is authorized as (e.g. GetObject with a versionId: s3:GetObjectVersion)."""
    name = _ACTIONS.get(operation, operation)
    if params.get("VersionId") is not None:
        name = _VERSIONED.get(name, name)
    return "s3:" + name
