"""S3 object operations: Put, Get, Head, Delete, DeleteObjects, Copy, ListObjects v1 and v2.

Bodies are encrypted at rest (sse.py); the SSE headers of writes and the SSE-C key of reads are in sse_requests.py.
"""
from __future__ import annotations

import hashlib
from typing import Any

from miniaws.core import checksums
from miniaws.core.context import RequestContext
from miniaws.protocols.rest_xml import prerender_item
from miniaws.services.base import operation
from miniaws.services.s3 import body as bodies
from miniaws.services.s3.api_common import S3Base, source_version_member
from miniaws.services.s3.conditions import check_read, check_write, copy_source_conditions, parse_range
from miniaws.services.s3.errors import (AwsError, InvalidArgument, InvalidPartNumber, InvalidRequest, MalformedXML,
                                        MetadataTooLarge, NoSuchKey)
from miniaws.services.s3.listing import decode_token, encode_token, list_page, url_encode
from miniaws.services.s3.lock import check_integrity_header
from miniaws.services.s3.models import CONTENT_MEMBERS, Bucket, S3Object
from miniaws.services.s3.sse import MODE_S3
from miniaws.services.s3.sse_requests import object_members, read_key, write_protection
from miniaws.services.s3.validation import check_key, check_max
from miniaws.services.s3.versions import Deleted, delete_key, next_version_id

MAX_METADATA_BYTES = 2048
MAX_DELETE_KEYS = 1000


def content_settings(ctx: RequestContext, params: dict[str, Any]) -> dict[str, str]:
    """CacheControl, ContentDisposition, ContentEncoding, ContentLanguage and Expires exactly as sent."""
    stored: dict[str, str] = {}
    for member in CONTENT_MEMBERS:
        value = params.get(member)
        if value is None:
            continue
        if member == "Expires":
            raw = ctx.request.headers.get("Expires") if ctx.request is not None else None
            stored[member] = raw or str(value)
            continue
        if member == "ContentEncoding":
            # aws-chunked is transfer framing, not a property of the object (S3 strips it)
            parts = [p.strip() for p in str(value).split(",") if p.strip() and p.strip().lower() != "aws-chunked"]
            if not parts:
                continue
            value = ",".join(parts)
        stored[member] = str(value)
    return stored


def check_metadata(metadata: dict[str, str]) -> None:
    size = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
    if size > MAX_METADATA_BYTES:
        raise MetadataTooLarge(Size=str(size), MaxSizeAllowed=str(MAX_METADATA_BYTES))


encryption_members = object_members


def object_headers(obj: S3Object, checksum_mode: bool) -> dict[str, Any]:
    """The output members GetObject and HeadObject share."""
    out: dict[str, Any] = {
        "ETag": obj.etag,
        "LastModified": obj.last_modified_http,
        "ContentType": obj.content_type,
        "AcceptRanges": "bytes",
        **encryption_members(obj),
    }
    if obj.tags:
        out["TagCount"] = len(obj.tags)
    if obj.lock_mode is not None and obj.lock_until is not None:
        out["ObjectLockMode"] = obj.lock_mode
        out["ObjectLockRetainUntilDate"] = obj.lock_until
    if obj.legal_hold is not None:
        out["ObjectLockLegalHoldStatus"] = obj.legal_hold
    if obj.metadata:
        out["Metadata"] = obj.metadata
    out.update(obj.content)
    if obj.storage_class != "STANDARD":
        out["StorageClass"] = obj.storage_class
    if obj.part_sizes:
        out["PartsCount"] = len(obj.part_sizes)
    if checksum_mode and obj.checksum_algorithm and obj.checksum_value:
        out["Checksum" + obj.checksum_algorithm] = obj.checksum_value
        if obj.checksum_type:
            out["ChecksumType"] = obj.checksum_type
    return out


def checksum_members(algorithm: str | None, value: str | None, checksum_type: str | None) -> dict[str, Any]:
    if not algorithm or not value:
        return {}
    out: dict[str, Any] = {"Checksum" + algorithm: value}
    if checksum_type:
        out["ChecksumType"] = checksum_type
    return out


class ObjectOperations(S3Base):
    # -- writes ---------------------------------------------------------------------------------
    @operation("PutObject")
    async def put_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html"""
        bucket = self.bucket(ctx, params["Bucket"], params, key=params["Key"])
        key = params["Key"]
        check_key(key)
        metadata = params.get("Metadata") or {}
        check_metadata(metadata)
        if_match, if_none_match = params.get("IfMatch"), params.get("IfNoneMatch")
        check_write(bucket.objects.get(key), if_match, if_none_match, key)
        stamp = self.new_object_settings(ctx, bucket, params)
        assert ctx.request is not None
        check_integrity_header(ctx.request.headers, params)
        protection = write_protection(self.keyring, ctx.account_id, bucket, key, params)
        ingested = await bodies.ingest(ctx.request, self.blobs, params, ctx.extras.get("verified"),
                                       seal=protection.key)
        segments = self.store.adopt(ingested.blob_id, ingested.size, ingested.wrapped, protection.envelope)
        try:
            # the bucket or the key may have changed while the body streamed in
            bucket = self.bucket(ctx, params["Bucket"], params, key=key)
            check_write(bucket.objects.get(key), if_match, if_none_match, key)
        except BaseException:
            self.store.release(segments)
            raise
        checksum_type = "FULL_OBJECT" if ingested.checksum_algorithm else None
        obj = S3Object(key=key, size=ingested.size, etag=protection.etag(ingested.md5), last_modified=ctx.clock.now(),
                       segments=segments, content_type=params.get("ContentType") or "binary/octet-stream",
                       metadata=metadata, content=content_settings(ctx, params),
                       checksum_algorithm=ingested.checksum_algorithm, checksum_value=ingested.checksum_value,
                       checksum_type=checksum_type, storage_class=params.get("StorageClass") or "STANDARD",
                       version_id=next_version_id(bucket), envelope=protection.envelope)
        stamp.encryption = protection.stored
        stamp.apply(obj)
        self.store.put_object(bucket, obj)
        self.notify(ctx, bucket, "ObjectCreated:Put", key, obj)
        return {"ETag": obj.etag, **protection.response, "Size": obj.size, **self.version_member(bucket, obj),
                **checksum_members(obj.checksum_algorithm, obj.checksum_value, checksum_type)}

    @operation("CopyObject")
    async def copy_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html"""
        source_bucket, source = self.copy_source(ctx, params)
        check_read(source, *copy_source_conditions(params), copy_source=True)
        source_key = read_key(source.envelope, params, "CopySource")
        bucket = self.bucket(ctx, params["Bucket"], params, key=params["Key"])
        key = params["Key"]
        check_key(key)
        directive = params.get("MetadataDirective") or "COPY"
        if directive not in ("COPY", "REPLACE"):
            raise InvalidArgument("Unknown metadata directive.", ArgumentName="x-amz-metadata-directive",
                                  ArgumentValue=directive)
        requested = params.get("ChecksumAlgorithm")
        if requested:
            requested = str(requested).upper()
        storage_class = params.get("StorageClass") or source.storage_class
        if (source_bucket is bucket and source.key == key and directive == "COPY" and not requested
                and storage_class == source.storage_class and source is bucket.current(key)
                and not params.get("WebsiteRedirectLocation") and not _asks_encryption(params)):
            raise InvalidRequest("This copy request is illegal because it is trying to copy an object to itself "
                                 "without changing the object's metadata, storage class, website redirect location "
                                 "or encryption attributes.")
        if directive == "REPLACE":
            metadata = params.get("Metadata") or {}
            check_metadata(metadata)
            content_type = params.get("ContentType") or "binary/octet-stream"
            content = content_settings(ctx, params)
        else:
            metadata, content_type, content = dict(source.metadata), source.content_type, dict(source.content)
        algorithm, value, checksum_type = source.checksum_algorithm, source.checksum_value, source.checksum_type
        if requested and (requested != algorithm or checksum_type != "FULL_OBJECT"):
            value = await self._checksum_of(source, requested, source_key)
            algorithm, checksum_type = requested, "FULL_OBJECT"
        elif checksum_type == "COMPOSITE":
            # a copy is a single-part object: S3 recomputes a full-object checksum for it
            value = await self._checksum_of(source, algorithm or "CRC32", source_key)
            checksum_type = "FULL_OBJECT"
        check_write(bucket.objects.get(key), params.get("IfMatch"), params.get("IfNoneMatch"), key)
        stamp = self.new_object_settings(ctx, bucket, params, copy_of=source)
        # a copy is encrypted as its request or its bucket's default says, never as its source was
        protection = write_protection(self.keyring, ctx.account_id, bucket, key, params)
        if protection.envelope.mode != MODE_S3:
            etag = protection.etag(b"")
        elif source.part_sizes or (source.envelope is not None and source.envelope.mode != MODE_S3):
            # a multipart source's "-N" ETag, or an SSE-KMS / SSE-C source's, is not an MD5: an SSE-S3 copy's is
            etag = f'"{await self._md5_of(source, source_key)}"'
        else:
            etag = source.etag
        # the source may have been deleted or overwritten while its checksum was computed: share what we read;
        # re-wrapping the blob keys under the copy's envelope re-encrypts it without copying a byte
        segments = await self.copied_segments(source.segments, source.size, protection.key, source_key)
        obj = S3Object(key=key, size=source.size, etag=etag,
                       last_modified=ctx.clock.now(), segments=segments,
                       content_type=content_type, metadata=metadata, content=content, checksum_algorithm=algorithm,
                       checksum_value=value, checksum_type=checksum_type, part_sizes=None,
                       storage_class=storage_class, version_id=next_version_id(bucket), envelope=protection.envelope)
        stamp.encryption = protection.stored
        stamp.apply(obj)
        self.store.put_object(bucket, obj)
        self.notify(ctx, bucket, "ObjectCreated:Copy", key, obj)
        return {"CopyObjectResult": {"ETag": obj.etag, "LastModified": obj.last_modified_iso,
                                     **checksum_members(algorithm, value, checksum_type)},
                **protection.response, **self.version_member(bucket, obj),
                **source_version_member(source_bucket, source)}

    async def _md5_of(self, obj: S3Object, customer_key: bytes | None) -> str:
        md5 = hashlib.md5()
        async for piece in bodies.SegmentStream(self.blobs, obj.segments, 0, obj.size, customer_key).chunks():
            md5.update(piece)
        return md5.hexdigest()

    async def _checksum_of(self, obj: S3Object, algorithm: str, customer_key: bytes | None) -> str:
        hasher = checksums.new_hasher(algorithm)
        async for piece in bodies.SegmentStream(self.blobs, obj.segments, 0, obj.size, customer_key).chunks():
            hasher.update(piece)
        return hasher.b64()

    @operation("DeleteObject")
    def delete_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html"""
        key, version_id = params["Key"], params.get("VersionId")
        bucket = self.find_bucket(params["Bucket"])
        self.authorize(ctx, bucket, key=key, params=params,
                       action="s3:DeleteObjectVersion" if version_id is not None else None)
        if params.get("IfMatch") is not None:
            existing = bucket.objects.get(key)
            if existing is None:
                raise NoSuchKey(Key=key)
            check_write(existing, params.get("IfMatch"), None, key)
        self.check_bypass(ctx, bucket, key, params)
        done = delete_key(self.store, bucket, key, version_id, now=ctx.clock.now(),
                          owner_id=ctx.principal.canonical_id, owner_name=ctx.principal.display_name,
                          bypass_governance=bool(params.get("BypassGovernanceRetention")))
        self._notify_delete(ctx, bucket, key, done)
        result: dict[str, Any] = {}
        if done.version_id is not None:
            result["VersionId"] = done.version_id
        if done.delete_marker:
            result["DeleteMarker"] = True
        return result

    @operation("DeleteObjects")
    def delete_objects(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html"""
        bucket = self.find_bucket(params["Bucket"])
        request = params.get("Delete") or {}
        entries = request.get("Objects") or []
        if not entries or len(entries) > MAX_DELETE_KEYS:
            raise MalformedXML()
        quiet = bool(request.get("Quiet"))
        bypass = bool(params.get("BypassGovernanceRetention"))
        deleted: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for entry in entries:
            key = entry.get("Key", "")
            version = entry.get("VersionId")
            try:
                # each key is authorized on its own: a policy may allow some keys and deny others
                self.authorize(ctx, bucket, key=key, params=params,
                               action="s3:DeleteObjectVersion" if version is not None else "s3:DeleteObject")
                if bypass:
                    self.check_bypass(ctx, bucket, key, params)
                done = delete_key(self.store, bucket, key, version, now=ctx.clock.now(),
                                  owner_id=ctx.principal.canonical_id, owner_name=ctx.principal.display_name,
                                  bypass_governance=bypass)
            except AwsError as err:
                errors.append({"Key": key, **({"VersionId": version} if version is not None else {}),
                               "Code": err.error_code, "Message": err.message})
                continue
            self._notify_delete(ctx, bucket, key, done)
            if quiet:
                continue
            item: dict[str, Any] = {"Key": key}
            if version is not None:
                item["VersionId"] = version
            if done.delete_marker:
                item["DeleteMarker"] = True
                if version is None:
                    item["DeleteMarkerVersionId"] = done.version_id
            deleted.append(item)
        result: dict[str, Any] = {}
        if deleted:
            result["Deleted"] = deleted
        if errors:
            result["Errors"] = errors
        return result

    def _notify_delete(self, ctx: RequestContext, bucket: Bucket, key: str, done: Deleted) -> None:
        created_marker = (done.delete_marker and done.version_id is not None
                          and bucket.find_version(key, done.version_id) is not None)
        event = "ObjectRemoved:DeleteMarkerCreated" if created_marker else "ObjectRemoved:Delete"
        self.notify(ctx, bucket, event, key, None, done.version_id)

    # -- reads ----------------------------------------------------------------------------------
    @operation("GetObject")
    def get_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._read(ctx, params, with_body=True)

    @operation("HeadObject")
    def head_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._read(ctx, params, with_body=False)

    def _read(self, ctx: RequestContext, params: dict[str, Any], with_body: bool) -> dict[str, Any]:
        bucket, obj = self.read_target(ctx, params, action="s3:GetObjectVersion" if params.get("VersionId") else
                                       "s3:GetObject")
        # SSE-C: the key must come again, and be the right one (HEAD too); SSE-KMS: the body read asks KMS
        customer_key = read_key(obj.envelope, params)
        check_read(obj, params.get("IfMatch"), params.get("IfNoneMatch"), params.get("IfModifiedSince"),
                   params.get("IfUnmodifiedSince"))
        part_number = params.get("PartNumber")
        span = self._part_span(obj, part_number) if part_number is not None else parse_range(params.get("Range"),
                                                                                              obj.size)
        whole = span is None
        start, length = (0, obj.size) if span is None else span
        out = object_headers(obj, checksum_mode=whole and params.get("ChecksumMode") == "ENABLED")
        out["ContentLength"] = length
        if bucket.versioning is not None:
            out["VersionId"] = obj.version_id
        if not whole:
            out["ContentRange"] = f"bytes {start}-{start + length - 1}/{obj.size}"
            out["__status__"] = 206
        for member, header in _RESPONSE_OVERRIDES:
            if params.get(member) is not None:
                out[header] = params[member]
        if with_body:
            small = bodies.read_small(self.blobs, obj.segments, start, length, customer_key)
            out["Body"] = small if small is not None else bodies.SegmentStream(self.blobs, obj.segments, start,
                                                                               length, customer_key)
        return out

    @staticmethod
    def _part_span(obj: S3Object, part_number: int) -> tuple[int, int] | None:
        sizes = obj.part_sizes or [obj.size]
        if not 1 <= part_number <= len(sizes):
            raise InvalidPartNumber()
        if not obj.part_sizes:
            return None
        start = sum(sizes[: part_number - 1])
        return start, sizes[part_number - 1]

    # -- listings -------------------------------------------------------------------------------
    @operation("ListObjects")
    def list_objects(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        prefix, delimiter = params.get("Prefix") or "", params.get("Delimiter") or ""
        marker = params.get("Marker") or None
        max_keys = check_max(params.get("MaxKeys"), "max-keys")
        encode = _encoder(params)
        page = list_page(bucket, prefix, delimiter, marker, max_keys)
        result: dict[str, Any] = {
            "Name": bucket.name, "Prefix": encode(prefix), "Marker": encode(marker or ""), "MaxKeys": max_keys,
            "IsTruncated": page.truncated,
            "Contents": self._entries("ListObjects", page.objects, encode, True, bucket),
            "CommonPrefixes": [{"Prefix": encode(p)} for p in page.prefixes],
        }
        if delimiter:
            result["Delimiter"] = encode(delimiter)
            if page.truncated and page.last is not None:
                result["NextMarker"] = encode(page.last)
        if params.get("EncodingType"):
            result["EncodingType"] = params["EncodingType"]
        return result

    @operation("ListObjectsV2")
    def list_objects_v2(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        prefix, delimiter = params.get("Prefix") or "", params.get("Delimiter") or ""
        token = params.get("ContinuationToken")
        start_after = params.get("StartAfter") or None
        after = decode_token(token) if token else start_after
        max_keys = check_max(params.get("MaxKeys"), "max-keys")
        encode = _encoder(params)
        page = list_page(bucket, prefix, delimiter, after, max_keys)
        result: dict[str, Any] = {
            "Name": bucket.name, "Prefix": encode(prefix), "MaxKeys": max_keys, "IsTruncated": page.truncated,
            "KeyCount": len(page.objects) + len(page.prefixes),
            "Contents": self._entries("ListObjectsV2", page.objects, encode, bool(params.get("FetchOwner")),
                                      bucket),
            "CommonPrefixes": [{"Prefix": encode(p)} for p in page.prefixes],
        }
        if delimiter:
            result["Delimiter"] = encode(delimiter)
        if token:
            result["ContinuationToken"] = token
        if start_after:
            result["StartAfter"] = encode(start_after)
        if page.truncated and page.last is not None:
            result["NextContinuationToken"] = encode_token(page.last)
        if params.get("EncodingType"):
            result["EncodingType"] = params["EncodingType"]
        return result

    def _entries(self, operation: str, objects: list[S3Object], encode: Any, with_owner: bool,
                 bucket: Bucket) -> list[Any]:
        """Listing entries, each rendered once per variant and cached on its object (what a listing shows of an
        object never changes): serializing 1,000 entries per page dominated ListObjects before."""
        variant = (operation, encode is url_encode, with_owner)
        entries: list[Any] = []
        append = entries.append
        for obj in objects:
            cache = obj.rendered
            if cache is None:
                obj.rendered = cache = {}
            rendered = cache.get(variant)
            if rendered is None:
                rendered = cache[variant] = prerender_item(self.spec, operation, "Contents",
                                                           _entry_fields(obj, encode, with_owner, bucket))
            append(rendered)
        return entries


def _asks_encryption(params: dict[str, Any]) -> bool:
    """A copy onto itself is allowed when it changes the encryption (CopyObject: "… or encryption attributes")."""
    return any(params.get(member) is not None for member in ("ServerSideEncryption", "SSECustomerAlgorithm",
                                                             "SSEKMSKeyId", "BucketKeyEnabled"))


_RESPONSE_OVERRIDES = (
    ("ResponseCacheControl", "CacheControl"), ("ResponseContentDisposition", "ContentDisposition"),
    ("ResponseContentEncoding", "ContentEncoding"), ("ResponseContentLanguage", "ContentLanguage"),
    ("ResponseContentType", "ContentType"), ("ResponseExpires", "Expires"),
)


def _encoder(params: dict[str, Any]) -> Any:
    encoding = params.get("EncodingType")
    if encoding is None:
        return lambda value: value
    if encoding != "url":
        raise InvalidArgument("Invalid Encoding Method specified in Request", ArgumentName="encoding-type",
                              ArgumentValue=str(encoding))
    return url_encode


def owner_wire(obj: S3Object, bucket: Bucket) -> dict[str, str]:
    """The Owner of an object: its writer under ObjectWriter ownership, else the bucket owner."""
    if not obj.owner_id or obj.owner_id == bucket.owner.id:
        return bucket.owner.wire()
    return {"ID": obj.owner_id, "DisplayName": obj.owner_name}


def _entry_fields(obj: S3Object, encode: Any, with_owner: bool, bucket: Bucket) -> dict[str, Any]:
    entry: dict[str, Any] = {"Key": encode(obj.key), "LastModified": obj.last_modified_iso, "ETag": obj.etag,
                             "Size": obj.size, "StorageClass": obj.storage_class}
    if with_owner:
        entry["Owner"] = owner_wire(obj, bucket)
    if obj.checksum_algorithm:
        entry["ChecksumAlgorithm"] = [obj.checksum_algorithm]
        if obj.checksum_type:
            entry["ChecksumType"] = obj.checksum_type
    return entry
