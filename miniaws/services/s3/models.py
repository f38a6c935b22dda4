"""S3's state: buckets, objects, multipart uploads and parts, with their journal records. Synchronous, no I/O.

Object bodies live in the BlobStore as reference-counted segments: a PUT makes one segment, CompleteMultipartUpload
concatenates its parts' segments (no byte copying), CopyObject shares the source's segments.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, Iterator

import orjson

from miniaws.core.timestamps import http_date, iso8601_ms
from miniaws.state.blobs import BlobStore
from miniaws.state.journal import Journal

NS_BUCKET = "s3.bucket"
NS_OBJECT = "s3.object"
NS_UPLOAD = "s3.upload"
NS_PART = "s3.part"

#: object attributes returned as headers exactly as stored (member name → stored value)
CONTENT_MEMBERS = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "Expires")


@dataclass(slots=True)
class Segment:
    """`size` bytes of a stored body starting at `offset` (UploadPartCopy shares a slice without copying)."""

    blob_id: str
    size: int
    offset: int = 0


def segments_record(segments: list[Segment]) -> list[list[Any]]:
    return [[seg.blob_id, seg.size, seg.offset] if seg.offset else [seg.blob_id, seg.size] for seg in segments]


def segments_from_record(rows: list[list[Any]]) -> list[Segment]:
    return [Segment(*row) for row in rows]


def slice_segments(segments: list[Segment], start: int, length: int) -> list[Segment]:
    """The segments covering [start, start+length) of a body made of `segments`."""
    out: list[Segment] = []
    for seg in segments:
        if length <= 0:
            break
        if start >= seg.size:
            start -= seg.size
            continue
        take = min(seg.size - start, length)
        out.append(Segment(seg.blob_id, take, seg.offset + start))
        length -= take
        start = 0
    return out


@dataclass(slots=True)
class Owner:
    id: str
    name: str

    def wire(self) -> dict[str, str]:
        return {"ID": self.id, "DisplayName": self.name}


@dataclass(slots=True)
class S3Object:
    key: str
    size: int
    etag: str
    last_modified: float
    segments: list[Segment]
    content_type: str = "binary/octet-stream"
    metadata: dict[str, str] = field(default_factory=dict)
    #: CacheControl, ContentDisposition, ContentEncoding, ContentLanguage, Expires as sent
    content: dict[str, str] = field(default_factory=dict)
    checksum_algorithm: str | None = None
    checksum_value: str | None = None
    checksum_type: str | None = None
    #: sizes of the parts of a multipart object (GetObject/HeadObject partNumber)
    part_sizes: list[int] | None = None
    owner_id: str = ""
    storage_class: str = "STANDARD"
    # pre-formatted: strftime dominates the cost of a listing (DESIGN §11)
    last_modified_iso: str = ""
    last_modified_http: str = ""
    #: listing entries already rendered, by variant (objects never change once stored; see api_objects)
    rendered: dict[Any, str] | None = None

    def __post_init__(self) -> None:
        if not self.last_modified_iso:
            self.last_modified_iso = iso8601_ms(self.last_modified)
            self.last_modified_http = http_date(self.last_modified)

    def record(self) -> dict[str, Any]:
        return {
            "k": self.key, "s": self.size, "e": self.etag, "t": self.last_modified,
            "g": segments_record(self.segments), "ct": self.content_type,
            "m": self.metadata, "c": self.content, "ca": self.checksum_algorithm, "cv": self.checksum_value,
            "cy": self.checksum_type, "ps": self.part_sizes, "o": self.owner_id, "sc": self.storage_class,
        }

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "S3Object":
        return cls(key=r["k"], size=r["s"], etag=r["e"], last_modified=r["t"],
                   segments=segments_from_record(r["g"]), content_type=r["ct"], metadata=r["m"],
                   content=r["c"], checksum_algorithm=r["ca"], checksum_value=r["cv"], checksum_type=r["cy"],
                   part_sizes=r["ps"], owner_id=r["o"], storage_class=r["sc"])


@dataclass(slots=True)
class Part:
    number: int
    size: int
    etag: str
    last_modified: float
    segments: list[Segment]
    checksum_value: str | None = None

    def record(self) -> dict[str, Any]:
        return {"n": self.number, "s": self.size, "e": self.etag, "t": self.last_modified,
                "g": segments_record(self.segments), "cv": self.checksum_value}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "Part":
        return cls(r["n"], r["s"], r["e"], r["t"], segments_from_record(r["g"]), r["cv"])


@dataclass(slots=True)
class Upload:
    upload_id: str
    key: str
    initiated: float
    owner_id: str
    content_type: str
    metadata: dict[str, str]
    content: dict[str, str]
    checksum_algorithm: str | None
    checksum_type: str | None
    storage_class: str = "STANDARD"
    parts: dict[int, Part] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        return {"u": self.upload_id, "k": self.key, "t": self.initiated, "o": self.owner_id,
                "ct": self.content_type, "m": self.metadata, "c": self.content, "ca": self.checksum_algorithm,
                "cy": self.checksum_type, "sc": self.storage_class}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "Upload":
        return cls(r["u"], r["k"], r["t"], r["o"], r["ct"], r["m"], r["c"], r["ca"], r["cy"], r["sc"])


@dataclass(slots=True)
class Bucket:
    name: str
    region: str
    created: float
    owner: Owner
    account_id: str
    objects: dict[str, S3Object] = field(default_factory=dict)
    #: the object keys in UTF-8 binary order, which is the order S3 lists them in
    keys: list[str] = field(default_factory=list)
    uploads: dict[str, Upload] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        return {"n": self.name, "r": self.region, "t": self.created, "oi": self.owner.id, "on": self.owner.name,
                "a": self.account_id}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "Bucket":
        return cls(r["n"], r["r"], r["t"], Owner(r["oi"], r["on"]), r["a"])


def sort_key(key: str) -> bytes:
    """S3 lists keys in UTF-8 binary order (not Python's code-point order for surrogates... same for valid text)."""
    return key.encode("utf-8", "surrogatepass")


class S3Store:
    """All buckets (one namespace, as in AWS) and everything in them; every mutation is journaled."""

    def __init__(self, journal: Journal, blobs: BlobStore) -> None:
        self.journal = journal
        self.blobs = blobs
        self.buckets: dict[str, Bucket] = {}

    # -- buckets --------------------------------------------------------------------------------
    def add_bucket(self, bucket: Bucket) -> None:
        self.buckets[bucket.name] = bucket
        self.journal.put(NS_BUCKET, bucket.name, orjson.dumps(bucket.record()))

    def remove_bucket(self, bucket: Bucket) -> None:
        for upload in list(bucket.uploads.values()):
            self.remove_upload(bucket, upload)
        del self.buckets[bucket.name]
        self.journal.delete(NS_BUCKET, bucket.name)

    # -- objects --------------------------------------------------------------------------------
    def put_object(self, bucket: Bucket, obj: S3Object) -> None:
        """Store `obj` (its segments already referenced by the caller); releases what it replaces."""
        old = bucket.objects.get(obj.key)
        bucket.objects[obj.key] = obj
        if old is None:
            bisect.insort(bucket.keys, obj.key, key=sort_key)
        self.journal.put(NS_OBJECT, bucket.name + "/" + obj.key, orjson.dumps(obj.record()))
        if old is not None:
            self._release(old.segments)

    def delete_object(self, bucket: Bucket, key: str) -> S3Object | None:
        obj = bucket.objects.pop(key, None)
        if obj is None:
            return None
        index = bisect.bisect_left(bucket.keys, sort_key(key), key=sort_key)
        if index < len(bucket.keys) and bucket.keys[index] == key:
            del bucket.keys[index]
        self.journal.delete(NS_OBJECT, bucket.name + "/" + key)
        self._release(obj.segments)
        return obj

    def share(self, segments: list[Segment]) -> list[Segment]:
        """Take a reference on existing segments (CopyObject, UploadPartCopy, Complete)."""
        for seg in segments:
            self.blobs.incref(seg.blob_id)
        return list(segments)

    def adopt(self, blob_id: str, size: int) -> list[Segment]:
        """Take the first reference on a freshly written body."""
        self.blobs.incref(blob_id)
        return [Segment(blob_id, size)]

    def _release(self, segments: list[Segment]) -> None:
        for seg in segments:
            self.blobs.decref(seg.blob_id)

    # -- multipart ------------------------------------------------------------------------------
    def add_upload(self, bucket: Bucket, upload: Upload) -> None:
        bucket.uploads[upload.upload_id] = upload
        self.journal.put(NS_UPLOAD, f"{bucket.name}/{upload.upload_id}", orjson.dumps(upload.record()))

    def put_part(self, bucket: Bucket, upload: Upload, part: Part) -> None:
        old = upload.parts.get(part.number)
        upload.parts[part.number] = part
        self.journal.put(NS_PART, f"{bucket.name}/{upload.upload_id}/{part.number:05d}", orjson.dumps(part.record()))
        if old is not None:
            self._release(old.segments)

    def remove_upload(self, bucket: Bucket, upload: Upload) -> None:
        bucket.uploads.pop(upload.upload_id, None)
        self.journal.delete(NS_UPLOAD, f"{bucket.name}/{upload.upload_id}")
        for part in upload.parts.values():
            self.journal.delete(NS_PART, f"{bucket.name}/{upload.upload_id}/{part.number:05d}")
            self._release(part.segments)
        upload.parts.clear()

    # -- persistence ----------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        for _, value in rows.get(NS_BUCKET, ()):
            bucket = Bucket.from_record(orjson.loads(value))
            self.buckets[bucket.name] = bucket
        for key, value in rows.get(NS_OBJECT, ()):
            owner = self.buckets.get(key.split("/", 1)[0])
            if owner is not None:
                obj = S3Object.from_record(orjson.loads(value))
                owner.objects[obj.key] = obj
        for key, value in rows.get(NS_UPLOAD, ()):
            owner = self.buckets.get(key.split("/", 1)[0])
            if owner is not None:
                pending = Upload.from_record(orjson.loads(value))
                owner.uploads[pending.upload_id] = pending
        for key, value in rows.get(NS_PART, ()):
            bucket_name, upload_id, _ = key.split("/", 2)
            owner = self.buckets.get(bucket_name)
            target = owner.uploads.get(upload_id) if owner is not None else None
            if target is not None:
                part = Part.from_record(orjson.loads(value))
                target.parts[part.number] = part
        for bucket in self.buckets.values():
            bucket.keys = sorted(bucket.objects, key=sort_key)
        for segment in self.all_segments():
            self.blobs.incref(segment.blob_id)

    def all_segments(self) -> Iterator[Segment]:
        for bucket in self.buckets.values():
            for obj in bucket.objects.values():
                yield from obj.segments
            for upload in bucket.uploads.values():
                for part in upload.parts.values():
                    yield from part.segments

    def reset(self) -> None:
        self.buckets.clear()
