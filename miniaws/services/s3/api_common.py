"""What every S3 operation shares: the service's wiring, bucket lookup with ownership checks, and CopySource."""
from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import unquote

from miniaws.config import Config
from miniaws.core.clock import Clock
from miniaws.core.context import RequestContext
from miniaws.services.base import Service
from miniaws.services.s3._spec import SPEC
from miniaws.services.s3.errors import AccessDenied, InvalidArgument, NoSuchBucket, NoSuchKey
from miniaws.services.s3.models import Bucket, Owner, S3Object, S3Store
from miniaws.state.blobs import BlobStore
from miniaws.state.journal import Journal


class S3Base(Service):
    name = "s3"
    protocol = "rest-xml"
    spec = SPEC
    #: operations whose body the service reads itself, streaming (the gateway must not buffer it)
    streaming_input: ClassVar[frozenset[str]] = frozenset({"PutObject", "UploadPart"})

    def __init__(self, config: Config, clock: Clock, journal: Journal, blobs: BlobStore) -> None:
        self.config = config
        self.clock = clock
        self.blobs = blobs
        self.store = S3Store(journal, blobs)
        self.enforce = config.auth == "enforce"

    # -- lifecycle ------------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        self.store.restore(rows)

    def referenced_blobs(self) -> set[str]:
        return {seg.blob_id for seg in self.store.all_segments()}

    def reset(self) -> None:
        self.store.reset()

    # -- shared lookups -------------------------------------------------------------------------
    @staticmethod
    def owner_of(ctx: RequestContext) -> Owner:
        return Owner(ctx.principal.canonical_id, ctx.principal.display_name)

    def bucket(self, ctx: RequestContext, name: str) -> Bucket:
        """The bucket, if it exists and the caller may use it (owner-only until ACLs/policies land)."""
        bucket = self.store.buckets.get(name)
        if bucket is None:
            raise NoSuchBucket(BucketName=name)
        self.authorize(ctx, bucket)
        return bucket

    def authorize(self, ctx: RequestContext, bucket: Bucket) -> None:
        # With auth enforced every access key is its own principal: another principal's bucket is private.
        if self.enforce and (ctx.principal.anonymous or ctx.principal.canonical_id != bucket.owner.id):
            raise AccessDenied()

    @staticmethod
    def object(bucket: Bucket, key: str) -> S3Object:
        obj = bucket.objects.get(key)
        if obj is None:
            raise NoSuchKey(Key=key)
        return obj

    def copy_source(self, ctx: RequestContext, params: dict[str, Any]) -> tuple[Bucket, S3Object]:
        """Resolve x-amz-copy-source (`bucket/key` or `/bucket/key`, URL-encoded, optional ?versionId=)."""
        raw = str(params.get("CopySource", ""))
        path, _, query = raw.partition("?")
        source = unquote(path).lstrip("/")
        bucket_name, sep, key = source.partition("/")
        if not sep or not bucket_name or not key:
            raise InvalidArgument("Invalid copy source object key", ArgumentName="x-amz-copy-source",
                                  ArgumentValue=raw)
        if query and not query.startswith("versionId="):
            raise InvalidArgument("Invalid copy source encoding", ArgumentName="x-amz-copy-source",
                                  ArgumentValue=raw)
        if query and query != "versionId=null":
            # unversioned buckets hold only the null version; S3 rejects any other id this way
            raise InvalidArgument("Invalid version id specified", ArgumentName="versionId",
                                  ArgumentValue=query.partition("=")[2])
        bucket = self.bucket(ctx, bucket_name)
        return bucket, self.object(bucket, key)
