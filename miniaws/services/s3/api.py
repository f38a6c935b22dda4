"""The S3 service: bucket, object and multipart operations composed into one Service (split by resource)."""
from __future__ import annotations

from miniaws.services.s3.api_buckets import BucketOperations
from miniaws.services.s3.api_multipart import MultipartOperations
from miniaws.services.s3.api_objects import ObjectOperations


class S3Service(BucketOperations, ObjectOperations, MultipartOperations):
    """S3 as SDKs see it on the one AWS endpoint."""
