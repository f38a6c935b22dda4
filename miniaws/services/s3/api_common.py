"""What every S3 operation shares: the service's wiring (KMS for SSE-KMS included), bucket and version lookup with
authorization, CopySource, and sending event notifications."""
from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import unquote

import orjson

from miniaws.config import Config
from miniaws.core.clock import Clock
from miniaws.core.context import RequestContext
from miniaws.core.ids import host_id
from miniaws.services.base import Service
from miniaws.services.kms.rootkey import ROOT_KEY_FILE, RootKey
from miniaws.services.s3._spec import SPEC
from miniaws.services.s3.access import Decision, authorize_request
from miniaws.services.s3.errors import (AccessDenied, InvalidArgument, InvalidRequest, MethodNotAllowed, NoSuchBucket,
                                        NoSuchKey, NoSuchVersion)
from miniaws.services.s3.models import NULL_VERSION, Bucket, Owner, S3Object, S3Store, Segment
from miniaws.services.s3.notifications import (Destinations, FunctionInvoker, QueueSender, TopicPublisher, deliver,
                                               event_record, targets)
from miniaws.services.s3 import body as bodies
from miniaws.services.s3.settings import ObjectSettings, object_settings
from miniaws.services.s3.sse import EnvelopeKey, Keyring, KmsKeys
from miniaws.services.s3.sse_requests import rewrap
from miniaws.services.s3.versions import check_version_id
from miniaws.state.blobs import BlobStore
from miniaws.state.journal import Journal


class S3Base(Service):
    name = "s3"
    protocol = "rest-xml"
    spec = SPEC
    #: operations whose body the service reads itself, streaming (the gateway must not buffer it)
    streaming_input: ClassVar[frozenset[str]] = frozenset({"PutObject", "UploadPart"})

    def __init__(self, config: Config, clock: Clock, journal: Journal, blobs: BlobStore, *,
                 queues: QueueSender | None = None, topics: TopicPublisher | None = None,
                 functions: FunctionInvoker | None = None, kms: KmsKeys | None = None) -> None:
        self.config = config
        self.clock = clock
        self.blobs = blobs
        # SSE-S3's own keys are wrapped by the data directory's root key, the one KMS key material uses
        root = RootKey(None if config.ephemeral else config.data_path.resolve() / ROOT_KEY_FILE)
        #: server-side encryption keys: SSE-S3's own, KMS data keys (in-process calls to `kms`), SSE-C checks
        self.keyring = Keyring(journal, root, kms)
        self.store = S3Store(journal, blobs, self.keyring)
        self.enforce = config.auth == "enforce"
        #: event notification targets, wired by the composition root (notifications.py)
        self.destinations = Destinations(queues, topics, functions)

    # -- lifecycle ------------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        self.keyring.restore(rows)
        self.store.restore(rows)

    def referenced_blobs(self) -> set[str]:
        return {seg.blob_id for seg in self.store.all_segments()}

    def reset(self) -> None:
        self.store.reset()
        self.keyring.reset()

    # -- shared lookups -------------------------------------------------------------------------
    @staticmethod
    def owner_of(ctx: RequestContext) -> Owner:
        return Owner(ctx.principal.canonical_id, ctx.principal.display_name)

    def find_bucket(self, name: str) -> Bucket:
        bucket = self.store.buckets.get(name)
        if bucket is None:
            raise NoSuchBucket(BucketName=name)
        return bucket

    def bucket(self, ctx: RequestContext, name: str, params: dict[str, Any] | None = None,
               action: str | None = None, key: str | None = None) -> Bucket:
        """The bucket, if it exists and the caller may perform `action` (default: the operation's) on it."""
        bucket = self.find_bucket(name)
        self.authorize(ctx, bucket, key=key, params=params, action=action)
        return bucket

    def authorize(self, ctx: RequestContext, bucket: Bucket, *, key: str | None = None, obj: S3Object | None = None,
                  params: dict[str, Any] | None = None, action: str | None = None) -> None:
        """Raise AccessDenied unless the caller may perform `action` on the bucket (or on `key` in it).

        With auth off every request is allowed (like every local emulator); with auth enforced, access.py decides
        from ownership, the bucket policy, ACLs and the public access block, as S3 does.
        """
        if not self.enforce:
            return
        if authorize_request(ctx, bucket, key, obj, params or {}, action) is not Decision.ALLOW:
            raise AccessDenied()

    def read_target(self, ctx: RequestContext, params: dict[str, Any], *,
                    action: str | None = None) -> tuple[Bucket, S3Object]:
        """The authorized bucket and the object version a request addresses (`VersionId`, else the current one).

        A current delete marker reads as NoSuchKey (404) and a delete marker named by id as MethodNotAllowed (405),
        both with x-amz-delete-marker: true, as S3 answers.
        """
        bucket = self.find_bucket(params["Bucket"])
        key = params["Key"]
        version_id = params.get("VersionId")
        if version_id is not None:
            check_version_id(version_id)
            obj = bucket.find_version(key, version_id)
        else:
            obj = bucket.current(key)
        self.authorize(ctx, bucket, key=key, obj=obj, params=params, action=action)
        if obj is None:
            if version_id is not None:
                raise NoSuchVersion(Key=key, VersionId=version_id)
            raise NoSuchKey(Key=key)
        if obj.delete_marker:
            headers = {"x-amz-delete-marker": "true", "x-amz-version-id": obj.version_id}
            if version_id is None:
                raise NoSuchKey(Key=key, headers=headers)
            headers["Last-Modified"] = obj.last_modified_http
            raise MethodNotAllowed(Method=ctx.request.method if ctx.request is not None else "GET",
                                   ResourceType="DeleteMarker", headers=headers)
        return bucket, obj

    def check_bypass(self, ctx: RequestContext, bucket: Bucket, key: str, params: dict[str, Any]) -> None:
        """x-amz-bypass-governance-retention needs its own permission, s3:BypassGovernanceRetention."""
        if params.get("BypassGovernanceRetention"):
            self.authorize(ctx, bucket, key=key, params=params, action="s3:BypassGovernanceRetention")

    @staticmethod
    def new_object_settings(ctx: RequestContext, bucket: Bucket, params: dict[str, Any], *,
                            copy_of: S3Object | None = None) -> ObjectSettings:
        return object_settings(ctx, bucket, params, copy_of=copy_of)

    def notify(self, ctx: RequestContext | None, bucket: Bucket, event: str, key: str, obj: S3Object | None = None,
               version_id: str | None = None) -> None:
        """Send `event` (e.g. "ObjectCreated:Put") on `key` to every matching notification destination.
        `ctx` is None for events S3 itself causes (lifecycle expiration)."""
        found = targets(bucket, event, key)
        if not found:
            return
        now = self.clock.now()
        if ctx is None:
            principal, source_ip, rid, region = "AmazonS3", "s3.amazonaws.com", "", bucket.region
        else:
            key_id = ctx.principal.access_key
            principal = f"AWS:{key_id}" if key_id else "Anonymous"
            remote = ctx.request.remote if ctx.request is not None else None
            source_ip, rid, region = remote or "127.0.0.1", ctx.request_id, bucket.region
        sequencer = obj.seq if obj is not None else self.store.next_sequence()
        for kind, arn, configuration_id in found:
            record = event_record(bucket, event, key, obj, configuration_id=configuration_id, now=now, region=region,
                                  principal_id=principal, source_ip=source_ip, request_id=rid, host_id=host_id(),
                                  version_id=version_id or (obj.version_id if obj is not None else None),
                                  sequencer=sequencer)
            deliver(self.destinations, kind, arn, orjson.dumps({"Records": [record]}))

    @staticmethod
    def version_member(bucket: Bucket, obj: S3Object) -> dict[str, str]:
        """x-amz-version-id: sent once a bucket has a versioning state ("null" for null versions), never before."""
        return {"VersionId": obj.version_id} if bucket.versioning is not None else {}

    async def copied_segments(self, segments: list[Segment], size: int, target: EnvelopeKey,
                              customer_key: bytes | None) -> list[Segment]:
        """A copy's body (CopyObject, UploadPartCopy), referenced: the source's ciphertext under blob keys re-wrapped
        for `target`, or, when part of the source was stored before encryption at rest, a new body encrypted for
        `target` (read and written in streaming pieces), as is a small body sealed whole under another key."""
        if all(seg.wrapped is not None for seg in segments):
            rewrapped = rewrap(segments, target, customer_key)
            if rewrapped is not None:
                return self.store.share(rewrapped)
        stream = bodies.SegmentStream(self.blobs, segments, 0, size, customer_key)
        ingested = await bodies.ingest_chunks(stream.chunks(), self.blobs, seal=target)
        return self.store.adopt(ingested.blob_id, ingested.size, ingested.wrapped, target.envelope)

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
        version_id = unquote(query.partition("=")[2]) if query else None
        target = {"Bucket": bucket_name, "Key": key}
        if version_id is not None:
            target["VersionId"] = version_id
        try:
            return self.read_target(ctx, target, action="s3:GetObjectVersion" if version_id else "s3:GetObject")
        except MethodNotAllowed:
            # https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html: a delete marker is not a source
            raise InvalidRequest("The source of a copy request may not specifically refer to a delete marker by "
                                 "version id.") from None


def source_version_member(bucket: Bucket, obj: S3Object) -> dict[str, str]:
    """x-amz-copy-source-version-id, for a source in a bucket with a versioning state."""
    return {"CopySourceVersionId": obj.version_id} if bucket.versioning is not None else {}


async def raw_body(ctx: RequestContext) -> bytes:
    """The request body as received (the gateway has read it already; aiohttp keeps it): for string payloads such
    as PutBucketPolicy's JSON document, which the rest-xml codec leaves unbound."""
    if ctx.request is None:
        return b""
    return await ctx.request.read()


__all__ = ["S3Base", "NULL_VERSION", "raw_body", "source_version_member"]
