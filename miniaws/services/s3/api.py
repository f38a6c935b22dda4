"""The S3 service: its operations, split by resource, composed into one Service."""
from __future__ import annotations

from collections.abc import Mapping

from miniaws.services.s3.api_acl import AclOperations
from miniaws.services.s3.api_buckets import BucketOperations
from miniaws.services.s3.api_cors import CorsOperations
from miniaws.services.s3.api_encryption import EncryptionOperations
from miniaws.services.s3.api_lifecycle import LifecycleOperations
from miniaws.services.s3.api_lock import LockOperations
from miniaws.services.s3.api_multipart import MultipartOperations
from miniaws.services.s3.api_notifications import NotificationOperations
from miniaws.services.s3.api_objects import ObjectOperations
from miniaws.services.s3.api_policy import PolicyOperations
from miniaws.services.s3.api_tagging import TaggingOperations
from miniaws.services.s3.api_versioning import VersioningOperations
from miniaws.services.s3.api_website import WebsiteOperations
from miniaws.services.s3.post_upload import PostUploadOperations


class S3Service(BucketOperations, ObjectOperations, MultipartOperations, VersioningOperations, AclOperations,
                PolicyOperations, TaggingOperations, CorsOperations, PostUploadOperations, LockOperations,
                EncryptionOperations, WebsiteOperations, NotificationOperations, LifecycleOperations):
    """S3 as SDKs see it on the one AWS endpoint."""

    @staticmethod
    def route_unmodelled(method: str, path: str, headers: Mapping[str, str],
                         website_endpoint: bool = False) -> tuple[str, dict[str, str]] | None:
        """(operation, params) for the S3 requests botocore's model has no operation for: a page of a website
        endpoint, a CORS preflight (OPTIONS /bucket[/key]) and a browser upload (POST /bucket, multipart/form-data).
        The gateway asks when its router finds nothing; `path` is path-style (a virtual-hosted bucket moved in)."""
        bucket, _, rest = path.lstrip("/").partition("/")
        if not bucket:
            return None
        if website_endpoint:
            return "WebsiteRequest", {"Bucket": bucket, "Key": rest.partition("?")[0]}
        if method == "OPTIONS":
            return "OptionsObject", {"Bucket": bucket}
        if (method == "POST" and not rest
                and headers.get("Content-Type", "").lower().startswith("multipart/form-data")):
            return "PostObject", {"Bucket": bucket}
        return None
