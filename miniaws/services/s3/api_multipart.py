"""S3 multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts, ListMultipartUploads.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html: parts 1..10,000, every part but the
last at least 5 MiB, ETag = MD5 of the concatenated part MD5s + "-N", checksums COMPOSITE ("…-N") or FULL_OBJECT.
CreateMultipartUpload fixes the encryption (for SSE-KMS, one data key for the upload): every part's blob key is
wrapped under the upload's envelope, so Complete concatenates the parts' segments as they are.
"""
from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from miniaws.core import checksums
from miniaws.core.context import RequestContext
from miniaws.core.ids import hex_id
from miniaws.core.timestamps import iso8601_ms
from miniaws.services.base import operation
from miniaws.services.s3 import body as bodies
from miniaws.services.s3.api_common import S3Base
from miniaws.services.s3.api_objects import checksum_members, check_metadata, content_settings, encryption_members
from miniaws.services.s3.conditions import check_read, check_write, copy_source_conditions
from miniaws.services.s3.errors import (BadDigest, EntityTooSmall, InvalidArgument, InvalidPart, InvalidPartOrder,
                                        InvalidRequest, MalformedXML, NoSuchUpload)
from miniaws.services.s3.listing import iter_uploads, parts_page, url_encode
from miniaws.services.s3.models import Bucket, Part, S3Object, Upload, slice_segments
from miniaws.services.s3.settings import ObjectSettings
from miniaws.services.s3.sse import EnvelopeKey
from miniaws.services.s3.sse_requests import read_key, write_protection
from miniaws.services.s3.validation import check_key, check_max, check_part_number
from miniaws.services.s3.versions import next_version_id

MIN_PART_SIZE = 5 * 1024 * 1024
_COPY_RANGE = re.compile(r"^bytes=(\d+)-(\d+)$")
_CRC_ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME")


class MultipartOperations(S3Base):
    def _upload(self, bucket: Bucket, key: str, upload_id: str) -> Upload:
        upload = bucket.uploads.get(upload_id)
        if upload is None or upload.key != key:
            raise NoSuchUpload(UploadId=upload_id)
        return upload

    def _upload_key(self, bucket: Bucket, upload: Upload, params: dict[str, Any]) -> tuple[EnvelopeKey, bytes | None]:
        """The upload's envelope key for a new part, and the SSE-C key the part request must repeat (S3: "the same
        encryption key" as CreateMultipartUpload). SSE-KMS asks KMS for the upload's data key on every part."""
        if upload.envelope is None:
            # an upload begun before encryption at rest: its later parts are SSE-S3 (the earlier stay plaintext)
            upload.envelope = self.keyring.sse_s3().envelope
            self.store.add_upload(bucket, upload)
        customer_key = read_key(upload.envelope, params)
        return upload.envelope.open(customer_key), customer_key

    @staticmethod
    def _members(upload: Upload) -> dict[str, Any]:
        return upload.settings.get("encryption") or {"ServerSideEncryption": "AES256"}

    @operation("CreateMultipartUpload")
    def create_multipart_upload(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params, key=params["Key"])
        key = params["Key"]
        check_key(key)
        metadata = params.get("Metadata") or {}
        check_metadata(metadata)
        algorithm = str(params["ChecksumAlgorithm"]).upper() if params.get("ChecksumAlgorithm") else None
        checksum_type = params.get("ChecksumType")
        if checksum_type is not None and algorithm is None:
            raise InvalidRequest("The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm "
                                 "header.")
        if algorithm is not None:
            if checksum_type is None:
                # S3's default: CRC64NVME is always full-object, the other algorithms composite
                checksum_type = "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"
            if checksum_type == "FULL_OBJECT" and algorithm not in _CRC_ALGORITHMS:
                raise InvalidRequest(f"The FULL_OBJECT checksum type cannot be used with the {algorithm.lower()} "
                                     "checksum algorithm.")
            if checksum_type == "COMPOSITE" and algorithm == "CRC64NVME":
                raise InvalidRequest("The COMPOSITE checksum type cannot be used with the crc64nvme checksum "
                                     "algorithm.")
        settings = self.new_object_settings(ctx, bucket, params)
        protection = write_protection(self.keyring, ctx.account_id, bucket, key, params)
        settings.encryption = protection.stored
        upload = Upload(upload_id=hex_id(24), key=key, initiated=ctx.clock.now(), owner_id=ctx.principal.canonical_id,
                        content_type=params.get("ContentType") or "binary/octet-stream", metadata=metadata,
                        content=content_settings(ctx, params), checksum_algorithm=algorithm,
                        checksum_type=checksum_type, storage_class=params.get("StorageClass") or "STANDARD",
                        settings=settings.record(), envelope=protection.envelope)
        self.store.add_upload(bucket, upload)
        result: dict[str, Any] = {"Bucket": bucket.name, "Key": key, "UploadId": upload.upload_id,
                                  **protection.response}
        if algorithm:
            result["ChecksumAlgorithm"] = algorithm
            result["ChecksumType"] = checksum_type
        return result

    @operation("UploadPart")
    async def upload_part(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params, key=params["Key"])
        number = check_part_number(params.get("PartNumber"))
        upload = self._upload(bucket, params["Key"], params["UploadId"])
        seal, customer_key = self._upload_key(bucket, upload, params)
        assert ctx.request is not None
        ingested = await bodies.ingest(ctx.request, self.blobs, params, ctx.extras.get("verified"), seal=seal)
        segments = self.store.adopt(ingested.blob_id, ingested.size, ingested.wrapped, seal.envelope)
        try:
            bucket = self.bucket(ctx, params["Bucket"], params, key=params["Key"])
            upload = self._upload(bucket, params["Key"], params["UploadId"])
            if upload.checksum_algorithm and ingested.checksum_algorithm not in (None, upload.checksum_algorithm):
                raise InvalidRequest(f"Checksum Type mismatch occurred, expected checksum Type: "
                                     f"{upload.checksum_algorithm.lower()}, actual checksum Type: "
                                     f"{str(ingested.checksum_algorithm).lower()}")
        except BaseException:
            self.store.release(segments)
            raise
        value = ingested.checksum_value
        if upload.checksum_algorithm and ingested.checksum_algorithm is None:
            value = await self._checksum_of_segments(segments, ingested.size, upload.checksum_algorithm, customer_key)
        part = Part(number, ingested.size, f'"{ingested.md5.hex()}"', ctx.clock.now(), segments, value)
        self.store.put_part(bucket, upload, part)
        return {"ETag": part.etag, **self._members(upload),
                **checksum_members(upload.checksum_algorithm or ingested.checksum_algorithm, value, None)}

    async def _checksum_of_segments(self, segments: list[Any], size: int, algorithm: str,
                                    customer_key: bytes | None) -> str:
        hasher = checksums.new_hasher(algorithm)
        async for piece in bodies.SegmentStream(self.blobs, segments, 0, size, customer_key).chunks():
            hasher.update(piece)
        return hasher.b64()

    @operation("UploadPartCopy")
    async def upload_part_copy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, source = self.copy_source(ctx, params)
        check_read(source, *copy_source_conditions(params), copy_source=True)
        source_key = read_key(source.envelope, params, "CopySource")
        bucket = self.bucket(ctx, params["Bucket"], params, key=params["Key"])
        number = check_part_number(params.get("PartNumber"))
        upload = self._upload(bucket, params["Key"], params["UploadId"])
        seal, customer_key = self._upload_key(bucket, upload, params)
        start, length = 0, source.size
        text = params.get("CopySourceRange")
        if text:
            match = _COPY_RANGE.match(str(text).strip())
            if match is None:
                raise InvalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last "
                                      "where first and last are the zero-based offsets of the first and last bytes "
                                      "to copy", ArgumentName="x-amz-copy-source-range", ArgumentValue=str(text))
            first, last = int(match.group(1)), int(match.group(2))
            if last < first or last >= source.size:
                raise InvalidArgument(f"Range specified is not valid for source object of size: {source.size}",
                                      ArgumentName="x-amz-copy-source-range", ArgumentValue=str(text))
            start, length = first, last - first + 1
        # the part shares the source's ciphertext, its blob keys re-wrapped under the upload's envelope
        segments = await self.copied_segments(slice_segments(source.segments, start, length), length, seal, source_key)
        md5 = hashlib.md5()
        hasher = checksums.new_hasher(upload.checksum_algorithm) if upload.checksum_algorithm else None
        try:
            async for piece in bodies.SegmentStream(self.blobs, segments, 0, length, customer_key).chunks():
                md5.update(piece)
                if hasher is not None:
                    hasher.update(piece)
            upload = self._upload(self.bucket(ctx, params["Bucket"], params, key=params["Key"]), params["Key"],
                                  params["UploadId"])
        except BaseException:
            self.store.release(segments)
            raise
        part = Part(number, length, f'"{md5.hexdigest()}"', ctx.clock.now(), segments,
                    hasher.b64() if hasher is not None else None)
        self.store.put_part(bucket, upload, part)
        return {"CopyPartResult": {"ETag": part.etag, "LastModified": iso8601_ms(part.last_modified),
                                   **checksum_members(upload.checksum_algorithm, part.checksum_value, None)},
                **self._members(upload)}

    @operation("CompleteMultipartUpload")
    def complete_multipart_upload(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params, key=params["Key"])
        key = params["Key"]
        upload = self._upload(bucket, key, params["UploadId"])
        requested = (params.get("MultipartUpload") or {}).get("Parts") or []
        if not requested:
            raise MalformedXML()
        numbers = [entry.get("PartNumber") for entry in requested]
        if any(n is None for n in numbers) or any(b <= a for a, b in zip(numbers, numbers[1:])):
            raise InvalidPartOrder()
        chosen: list[Part] = []
        for index, entry in enumerate(requested):
            number = entry["PartNumber"]
            part = upload.parts.get(number)
            etag = str(entry.get("ETag") or "").strip().strip('"')
            if part is None or part.etag.strip('"') != etag:
                raise InvalidPart(UploadId=upload.upload_id, PartNumber=str(number), ETag=str(entry.get("ETag")))
            if index < len(requested) - 1 and part.size < MIN_PART_SIZE:
                raise EntityTooSmall(ProposedSize=str(part.size), MinSizeAllowed=str(MIN_PART_SIZE),
                                     PartNumber=str(number), ETag=part.etag)
            chosen.append(part)
        check_write(bucket.objects.get(key), params.get("IfMatch"), params.get("IfNoneMatch"), key)
        checksum_value = self._combined_checksum(upload, chosen, params)
        md5s = b"".join(bytes.fromhex(p.etag.strip('"')) for p in chosen)
        etag = f'"{hashlib.md5(md5s).hexdigest()}-{len(chosen)}"'
        segments = self.store.share([seg for part in chosen for seg in part.segments])
        obj = S3Object(key=key, size=sum(p.size for p in chosen), etag=etag, last_modified=ctx.clock.now(),
                       segments=segments, content_type=upload.content_type, metadata=upload.metadata,
                       content=upload.content, checksum_algorithm=upload.checksum_algorithm if checksum_value else None,
                       checksum_value=checksum_value, checksum_type=upload.checksum_type if checksum_value else None,
                       part_sizes=[p.size for p in chosen], storage_class=upload.storage_class,
                       version_id=next_version_id(bucket), envelope=upload.envelope)
        if upload.settings:
            ObjectSettings.from_record(upload.settings).apply(obj)
        else:  # an upload journaled before settings existed
            self.new_object_settings(ctx, bucket, {}).apply(obj)
        self.store.remove_upload(bucket, upload)
        self.store.put_object(bucket, obj)
        self.notify(ctx, bucket, "ObjectCreated:CompleteMultipartUpload", key, obj)
        location = f"/{bucket.name}/{url_encode(key)}"
        return {"Location": location, "Bucket": bucket.name, "Key": key, "ETag": etag,
                **encryption_members(obj), **self.version_member(bucket, obj),
                **checksum_members(obj.checksum_algorithm, checksum_value, obj.checksum_type)}

    @staticmethod
    def _combined_checksum(upload: Upload, parts: list[Part], params: dict[str, Any]) -> str | None:
        algorithm = upload.checksum_algorithm
        if algorithm is None or any(p.checksum_value is None for p in parts):
            return None
        digests = [base64.b64decode(p.checksum_value or "") for p in parts]
        if upload.checksum_type == "FULL_OBJECT":
            crc = int.from_bytes(digests[0], "big")
            for part, digest in zip(parts[1:], digests[1:]):
                crc = checksums.combine_crc(algorithm, crc, int.from_bytes(digest, "big"), part.size)
            value = base64.b64encode(crc.to_bytes(len(digests[0]), "big")).decode()
            claimed = params.get("Checksum" + algorithm)
            if claimed is not None and claimed != value:
                raise BadDigest(f"The {algorithm} you specified did not match the calculated checksum.")
            return value
        return checksums.composite_checksum(algorithm, digests)

    @operation("AbortMultipartUpload")
    def abort_multipart_upload(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params, key=params["Key"])
        upload = self._upload(bucket, params["Key"], params["UploadId"])
        self.store.remove_upload(bucket, upload)
        return {}

    @operation("ListParts")
    def list_parts(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params, key=params["Key"])
        upload = self._upload(bucket, params["Key"], params["UploadId"])
        marker = params.get("PartNumberMarker") or 0
        max_parts = check_max(params.get("MaxParts"), "max-parts")
        parts, truncated = parts_page(upload, marker, max_parts)
        owner = {"ID": upload.owner_id, "DisplayName": ctx.principal.display_name}
        result: dict[str, Any] = {
            "Bucket": bucket.name, "Key": upload.key, "UploadId": upload.upload_id, "PartNumberMarker": marker,
            "MaxParts": max_parts, "IsTruncated": truncated, "Initiator": owner, "Owner": owner,
            "StorageClass": upload.storage_class,
            "Parts": [{"PartNumber": p.number, "LastModified": iso8601_ms(p.last_modified), "ETag": p.etag,
                       "Size": p.size, **checksum_members(upload.checksum_algorithm, p.checksum_value, None)}
                      for p in parts],
        }
        if parts:
            result["NextPartNumberMarker"] = parts[-1].number
        if upload.checksum_algorithm:
            result["ChecksumAlgorithm"] = upload.checksum_algorithm
            result["ChecksumType"] = upload.checksum_type
        return result

    @operation("ListMultipartUploads")
    def list_multipart_uploads(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        prefix, delimiter = params.get("Prefix") or "", params.get("Delimiter") or ""
        key_marker, id_marker = params.get("KeyMarker") or None, params.get("UploadIdMarker") or None
        max_uploads = check_max(params.get("MaxUploads"), "max-uploads")
        encode = url_encode if params.get("EncodingType") == "url" else (lambda v: v)
        uploads: list[Upload] = []
        prefixes: list[str] = []
        truncated = False
        for upload in iter_uploads(bucket, prefix, key_marker, id_marker):
            if delimiter:
                cut = upload.key.find(delimiter, len(prefix))
                if cut >= 0:
                    common = upload.key[: cut + len(delimiter)]
                    if common in prefixes:
                        continue
                    if len(uploads) + len(prefixes) == max_uploads:
                        truncated = True
                        break
                    prefixes.append(common)
                    continue
            if len(uploads) + len(prefixes) == max_uploads:
                truncated = True
                break
            uploads.append(upload)
        result: dict[str, Any] = {
            "Bucket": bucket.name, "KeyMarker": encode(key_marker or ""), "UploadIdMarker": id_marker or "",
            "Prefix": encode(prefix), "MaxUploads": max_uploads, "IsTruncated": truncated,
            "Uploads": [{"UploadId": u.upload_id, "Key": encode(u.key), "Initiated": iso8601_ms(u.initiated),
                         "StorageClass": u.storage_class,
                         "Owner": {"ID": u.owner_id, "DisplayName": ctx.principal.display_name},
                         "Initiator": {"ID": u.owner_id, "DisplayName": ctx.principal.display_name},
                         **({"ChecksumAlgorithm": u.checksum_algorithm, "ChecksumType": u.checksum_type}
                            if u.checksum_algorithm else {})}
                        for u in uploads],
            "CommonPrefixes": [{"Prefix": encode(p)} for p in prefixes],
        }
        if delimiter:
            result["Delimiter"] = encode(delimiter)
        if truncated and uploads:
            result["NextKeyMarker"] = encode(uploads[-1].key)
            result["NextUploadIdMarker"] = uploads[-1].upload_id
        if params.get("EncodingType"):
            result["EncodingType"] = params["EncodingType"]
        return result
