"""S3's state: buckets, object versions, multipart uploads and parts, with their journal records. Synchronous, no I/O.

Object bodies live in the BlobStore as reference-counted segments: a PUT makes one segment, CompleteMultipartUpload
concatenates its parts' segments (no byte copying), CopyObject shares the source's segments. Bodies are encrypted
(sse.py): a segment carries its body's key wrapped under the envelope of the version (or upload) it belongs to.

Every key has a stack of versions, newest first (one "null" version in a bucket that never had versioning);
`Bucket.objects` / `Bucket.keys` are the current versions that are not delete markers, which is all that
ListObjects needs, so listing never looks at history. A null version is journaled under `s3.object`
(`bucket/key`), any other version under `s3.version` (`bucket/version-id`); `seq` orders a key's versions on replay.
"""
from __future__ import annotations

import base64
import binascii
import bisect
from dataclasses import dataclass, field
from typing import Any, Iterator

import orjson

from miniaws.core.ids import hex_id
from miniaws.core.timestamps import http_date, iso8601_ms
from miniaws.services.s3.sse import Envelope, Keyring
from miniaws.state.blobs import BlobStore
from miniaws.state.journal import Journal

NS_BUCKET = "s3.bucket"
NS_OBJECT = "s3.object"
NS_VERSION = "s3.version"
NS_UPLOAD = "s3.upload"
NS_PART = "s3.part"

#: object attributes returned as headers exactly as stored (member name → stored value)
CONTENT_MEMBERS = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "Expires",
                   "WebsiteRedirectLocation")

NULL_VERSION = "null"


def new_version_id() -> str:
    """32 characters of [A-Za-z0-9._], the shape of S3's version ids."""
    return base64.b64encode(bytes.fromhex(hex_id(24)), b"._").decode()


@dataclass(slots=True)
class Segment:
    """`size` bytes of a stored body starting at plaintext `offset` (UploadPartCopy shares a slice without copying).

    An encrypted body (every body written since SSE at rest) has its blob key, wrapped under `envelope`'s key.
    """

    blob_id: str
    size: int
    offset: int = 0
    wrapped: bytes | None = None
    envelope: Envelope | None = None


def segments_record(segments: list[Segment]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for seg in segments:
        if seg.wrapped is not None:
            rows.append([seg.blob_id, seg.size, seg.offset, base64.b64encode(seg.wrapped).decode()])
        else:
            rows.append([seg.blob_id, seg.size, seg.offset] if seg.offset else [seg.blob_id, seg.size])
    return rows


def segments_from_record(rows: list[list[Any]], envelope: Envelope | None = None) -> list[Segment]:
    out: list[Segment] = []
    for row in rows:
        if len(row) > 3:
            out.append(Segment(row[0], row[1], row[2], _b64(row[3]), envelope))
        else:
            out.append(Segment(*row))
    return out


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text)
    except binascii.Error:
        raise ValueError("a journaled blob key is not base64") from None


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
        out.append(Segment(seg.blob_id, take, seg.offset + start, seg.wrapped, seg.envelope))
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
    #: last_modified as text, formatted on first use and kept: strftime dominates the cost of a listing (DESIGN §11),
    #: while a PUT, whose answer shows neither, never pays for them
    _iso: str = field(default="", repr=False, compare=False)
    _http: str = field(default="", repr=False, compare=False)
    #: "null" unless written while versioning was enabled
    version_id: str = NULL_VERSION
    delete_marker: bool = False
    #: store-wide write order: a key's versions are replayed newest first by it
    seq: int = 0
    owner_name: str = ""
    #: explicit ACL grants as records (acl.Grant.record()); None is the default: the owner has FULL_CONTROL
    acl: list[list[str]] | None = None
    tags: dict[str, str] | None = None
    #: Object Lock: retention mode (GOVERNANCE | COMPLIANCE), retain-until (epoch), legal hold ("ON" | "OFF" once
    #: set, None never set: GetObjectLegalHold tells the two apart)
    lock_mode: str | None = None
    lock_until: float | None = None
    legal_hold: str | None = None
    #: server-side encryption as GET/HEAD answer it: None is SSE-S3 (AES256); else the members, e.g.
    #: {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": ...}, or SSE-C's SSECustomerAlgorithm and SSECustomerKeyMD5
    encryption: dict[str, Any] | None = None
    #: what protects the keys of this version's segments (None: a body stored before encryption at rest)
    envelope: Envelope | None = None
    #: listing entries already rendered, by variant. What a listing shows (key, size, ETag, owner, dates) never
    #: changes once stored; tags, ACLs and retention may change in place but are never part of a listing entry.
    rendered: dict[Any, str] | None = None

    @property
    def last_modified_iso(self) -> str:
        """2009-10-12T17:50:30.000Z (XML bodies)."""
        if not self._iso:
            self._iso = iso8601_ms(self.last_modified)
        return self._iso

    @property
    def last_modified_http(self) -> str:
        """Wed, 12 Oct 2009 17:50:30 GMT (headers)."""
        if not self._http:
            self._http = http_date(self.last_modified)
        return self._http

    def record(self) -> dict[str, Any]:
        r: dict[str, Any] = {
            "k": self.key, "s": self.size, "e": self.etag, "t": self.last_modified,
            "g": segments_record(self.segments), "ct": self.content_type,
            "m": self.metadata, "c": self.content, "ca": self.checksum_algorithm, "cv": self.checksum_value,
            "cy": self.checksum_type, "ps": self.part_sizes, "o": self.owner_id, "sc": self.storage_class,
            "q": self.seq,
        }
        # the rest only when set, so a plain object's record stays as small as before versioning
        for name, value in (("v", self.version_id if self.version_id != NULL_VERSION else None),
                            ("dm", self.delete_marker or None), ("on", self.owner_name or None),
                            ("acl", self.acl), ("tg", self.tags), ("lm", self.lock_mode), ("lu", self.lock_until),
                            ("lh", self.legal_hold), ("enc", self.encryption),
                            ("env", self.envelope.record() if self.envelope is not None else None)):
            if value is not None:
                r[name] = value
        return r

    @classmethod
    def from_record(cls, r: dict[str, Any], keyring: Keyring | None = None) -> "S3Object":
        envelope = _envelope(r, keyring)
        return cls(key=r["k"], size=r["s"], etag=r["e"], last_modified=r["t"],
                   segments=segments_from_record(r["g"], envelope), content_type=r["ct"], metadata=r["m"],
                   content=r["c"], checksum_algorithm=r["ca"], checksum_value=r["cv"], checksum_type=r["cy"],
                   part_sizes=r["ps"], owner_id=r["o"], storage_class=r["sc"], seq=r.get("q", 0),
                   version_id=r.get("v", NULL_VERSION), delete_marker=bool(r.get("dm")), owner_name=r.get("on", ""),
                   acl=r.get("acl"), tags=r.get("tg"), lock_mode=r.get("lm"), lock_until=r.get("lu"),
                   legal_hold=r.get("lh"), encryption=r.get("enc"), envelope=envelope)

    def journal_key(self, bucket: str) -> tuple[str, str]:
        if self.version_id == NULL_VERSION:
            return NS_OBJECT, bucket + "/" + self.key
        return NS_VERSION, bucket + "/" + self.version_id

    def locked(self, now: float) -> bool:
        """Protected from permanent deletion by a legal hold or an unexpired retention period."""
        return self.legal_hold == "ON" or (self.lock_until is not None and self.lock_until > now)


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
    def from_record(cls, r: dict[str, Any], envelope: Envelope | None = None) -> "Part":
        return cls(r["n"], r["s"], r["e"], r["t"], segments_from_record(r["g"], envelope), r["cv"])


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
    #: what CreateMultipartUpload asked for the finished object: ACL, tags, Object Lock, owner (see
    #: api_multipart), applied by CompleteMultipartUpload
    settings: dict[str, Any] = field(default_factory=dict)
    #: the envelope every part's blob key is wrapped under, which the completed object inherits
    envelope: Envelope | None = None

    def record(self) -> dict[str, Any]:
        r = {"u": self.upload_id, "k": self.key, "t": self.initiated, "o": self.owner_id,
             "ct": self.content_type, "m": self.metadata, "c": self.content, "ca": self.checksum_algorithm,
             "cy": self.checksum_type, "sc": self.storage_class}
        if self.settings:
            r["x"] = self.settings
        if self.envelope is not None:
            r["env"] = self.envelope.record()
        return r

    @classmethod
    def from_record(cls, r: dict[str, Any], keyring: Keyring | None = None) -> "Upload":
        return cls(r["u"], r["k"], r["t"], r["o"], r["ct"], r["m"], r["c"], r["ca"], r["cy"], r["sc"],
                   settings=r.get("x") or {}, envelope=_envelope(r, keyring))


def _envelope(r: dict[str, Any], keyring: Keyring | None) -> Envelope | None:
    record = r.get("env")
    if record is None:
        return None
    if keyring is None:
        raise ValueError("an encrypted record needs the S3 keyring to be restored")
    return Envelope.from_record(record, keyring)


#: ObjectOwnership of a bucket created today: ACLs disabled (S3's default since April 2023)
DEFAULT_OWNERSHIP = "BucketOwnerEnforced"
#: the public access block of a bucket created today: everything blocked (S3's default since April 2023)
DEFAULT_PUBLIC_ACCESS_BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                               "RestrictPublicBuckets": True}


@dataclass(slots=True)
class Bucket:
    name: str
    region: str
    created: float
    owner: Owner
    account_id: str
    #: the current version of each key, unless that is a delete marker (what ListObjects shows)
    objects: dict[str, S3Object] = field(default_factory=dict)
    #: the keys of `objects` in UTF-8 binary order, which is the order S3 lists them in
    keys: list[str] = field(default_factory=list)
    #: every version of each key, newest first, delete markers included (ListObjectVersions)
    versions: dict[str, list[S3Object]] = field(default_factory=dict)
    #: the keys of `versions`, sorted like `keys`
    version_keys: list[str] = field(default_factory=list)
    uploads: dict[str, Upload] = field(default_factory=dict)
    #: None (never configured), "Enabled" or "Suspended"
    versioning: str | None = None
    mfa_delete: str | None = None
    #: BucketOwnerEnforced | BucketOwnerPreferred | ObjectWriter; None once the controls are deleted
    #: (which S3 treats as ObjectWriter)
    ownership: str | None = DEFAULT_OWNERSHIP
    #: explicit bucket ACL grants (acl.Grant records); None: the owner has FULL_CONTROL
    acl: list[list[str]] | None = None
    #: the bucket policy document as the client sent it
    policy: str | None = None
    public_access_block: dict[str, bool] | None = None
    #: the ObjectLockConfiguration as configured ({"ObjectLockEnabled": "Enabled", "Rule": ...}); None: no lock
    object_lock: dict[str, Any] | None = None
    #: stored-and-returned bucket subresources by name ("tags", "cors", "encryption", "website", "lifecycle",
    #: "notification"), in their wire shape
    config: dict[str, Any] = field(default_factory=dict)
    #: derived, not journaled: the parsed policy (policy.Policy), rebuilt on demand
    parsed_policy: Any = None

    def record(self) -> dict[str, Any]:
        r: dict[str, Any] = {"n": self.name, "r": self.region, "t": self.created, "oi": self.owner.id,
                             "on": self.owner.name, "a": self.account_id, "own": self.ownership}
        for name, value in (("ver", self.versioning), ("mfa", self.mfa_delete), ("acl", self.acl),
                            ("pol", self.policy), ("pab", self.public_access_block), ("lock", self.object_lock),
                            ("cfg", self.config or None)):
            if value is not None:
                r[name] = value
        return r

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "Bucket":
        # buckets journaled before ObjectOwnership existed keep the behaviour they had: no controls, no block
        return cls(r["n"], r["r"], r["t"], Owner(r["oi"], r["on"]), r["a"], versioning=r.get("ver"),
                   mfa_delete=r.get("mfa"), ownership=r.get("own"), acl=r.get("acl"), policy=r.get("pol"),
                   public_access_block=r.get("pab"), object_lock=r.get("lock"), config=r.get("cfg") or {})

    def current(self, key: str) -> S3Object | None:
        """The current version of `key`, delete marker or not."""
        stack = self.versions.get(key)
        return stack[0] if stack else None

    def find_version(self, key: str, version_id: str) -> S3Object | None:
        for version in self.versions.get(key, ()):
            if version.version_id == version_id:
                return version
        return None


def sort_key(key: str) -> bytes:
    """S3 lists keys in UTF-8 binary order (not Python's code-point order for surrogates... same for valid text)."""
    return key.encode("utf-8", "surrogatepass")


class S3Store:
    """All buckets (one namespace, as in AWS) and everything in them; every mutation is journaled."""

    def __init__(self, journal: Journal, blobs: BlobStore, keyring: Keyring | None = None) -> None:
        self.journal = journal
        self.blobs = blobs
        self.keyring = keyring
        self.buckets: dict[str, Bucket] = {}
        self._seq = 0

    # -- buckets --------------------------------------------------------------------------------
    def add_bucket(self, bucket: Bucket) -> None:
        self.buckets[bucket.name] = bucket
        self.save_bucket(bucket)

    def save_bucket(self, bucket: Bucket) -> None:
        """Journal the bucket's record after a change to its settings."""
        self.journal.put(NS_BUCKET, bucket.name, orjson.dumps(bucket.record()))

    def remove_bucket(self, bucket: Bucket) -> None:
        for upload in list(bucket.uploads.values()):
            self.remove_upload(bucket, upload)
        del self.buckets[bucket.name]
        self.journal.delete(NS_BUCKET, bucket.name)

    # -- object versions ------------------------------------------------------------------------
    def next_sequence(self) -> int:
        """A fresh store-wide sequence number (event sequencers for removals)."""
        self._seq += 1
        return self._seq

    def put_object(self, bucket: Bucket, obj: S3Object) -> S3Object | None:
        """Make `obj` (its segments already referenced by the caller) the current version of its key.

        A "null" version replaces the key's existing null version wherever it is in the stack (S3: a PUT with
        versioning never enabled or suspended overwrites the null version); any other id is added on top.
        Returns the version it replaced, if any (its body is released).
        """
        self._seq += 1
        obj.seq = self._seq
        key = obj.key
        stack = bucket.versions.get(key)
        if stack is None:
            stack = bucket.versions[key] = []
            bisect.insort(bucket.version_keys, key, key=sort_key)
        replaced = None
        if obj.version_id == NULL_VERSION:
            for index, version in enumerate(stack):
                if version.version_id == NULL_VERSION:
                    replaced = stack.pop(index)
                    break
        stack.insert(0, obj)
        self._set_current(bucket, key, obj)
        ns, jkey = obj.journal_key(bucket.name)
        self.journal.put(ns, jkey, orjson.dumps(obj.record()))
        if replaced is not None:
            self._release(replaced.segments)
        return replaced

    def save_version(self, bucket: Bucket, obj: S3Object) -> None:
        """Journal a version again after an in-place change (tags, ACL, retention, legal hold)."""
        ns, jkey = obj.journal_key(bucket.name)
        self.journal.put(ns, jkey, orjson.dumps(obj.record()))

    def remove_version(self, bucket: Bucket, obj: S3Object) -> None:
        """Delete one version (or delete marker) for good; the next one down becomes current."""
        stack = bucket.versions.get(obj.key)
        index = next((i for i, version in enumerate(stack or ()) if version is obj), None)
        if stack is None or index is None:
            return
        del stack[index]
        was_current = index == 0
        ns, jkey = obj.journal_key(bucket.name)
        self.journal.delete(ns, jkey)
        self._release(obj.segments)
        if not stack:
            del bucket.versions[obj.key]
            _remove_sorted(bucket.version_keys, obj.key)
            self._set_current(bucket, obj.key, None)
        elif was_current:
            self._set_current(bucket, obj.key, stack[0])

    def _set_current(self, bucket: Bucket, key: str, current: S3Object | None) -> None:
        """Keep the listing view (objects/keys) in step with the top of the key's version stack."""
        if current is None or current.delete_marker:
            if bucket.objects.pop(key, None) is not None:
                _remove_sorted(bucket.keys, key)
            return
        if key not in bucket.objects:
            bisect.insort(bucket.keys, key, key=sort_key)
        bucket.objects[key] = current

    def share(self, segments: list[Segment]) -> list[Segment]:
        """Take a reference on existing segments (CopyObject, UploadPartCopy, Complete)."""
        for seg in segments:
            self.blobs.incref(seg.blob_id)
        return list(segments)

    def adopt(self, blob_id: str, size: int, wrapped: bytes | None = None,
              envelope: Envelope | None = None) -> list[Segment]:
        """Take the first reference on a freshly written body (encrypted: with its wrapped key and envelope)."""
        self.blobs.incref(blob_id)
        return [Segment(blob_id, size, 0, wrapped, envelope)]

    def release(self, segments: list[Segment]) -> None:
        """Drop a reference taken with adopt/share (a write that failed after its body was stored)."""
        self._release(segments)

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
        for ns in (NS_OBJECT, NS_VERSION):
            for key, value in rows.get(ns, ()):
                owner = self.buckets.get(key.split("/", 1)[0])
                if owner is not None:
                    obj = S3Object.from_record(orjson.loads(value), self.keyring)
                    owner.versions.setdefault(obj.key, []).append(obj)
                    self._seq = max(self._seq, obj.seq)
        for key, value in rows.get(NS_UPLOAD, ()):
            owner = self.buckets.get(key.split("/", 1)[0])
            if owner is not None:
                pending = Upload.from_record(orjson.loads(value), self.keyring)
                owner.uploads[pending.upload_id] = pending
        for key, value in rows.get(NS_PART, ()):
            bucket_name, upload_id, _ = key.split("/", 2)
            owner = self.buckets.get(bucket_name)
            target = owner.uploads.get(upload_id) if owner is not None else None
            if target is not None:
                part = Part.from_record(orjson.loads(value), target.envelope)
                target.parts[part.number] = part
        for bucket in self.buckets.values():
            for stack in bucket.versions.values():
                stack.sort(key=lambda v: v.seq, reverse=True)
                if not stack[0].delete_marker:
                    bucket.objects[stack[0].key] = stack[0]
            bucket.version_keys = sorted(bucket.versions, key=sort_key)
            bucket.keys = sorted(bucket.objects, key=sort_key)
        for segment in self.all_segments():
            self.blobs.incref(segment.blob_id)

    def all_segments(self) -> Iterator[Segment]:
        for bucket in self.buckets.values():
            for stack in bucket.versions.values():
                for version in stack:
                    yield from version.segments
            for upload in bucket.uploads.values():
                for part in upload.parts.values():
                    yield from part.segments

    def reset(self) -> None:
        self.buckets.clear()


def _remove_sorted(keys: list[str], key: str) -> None:
    index = bisect.bisect_left(keys, sort_key(key), key=sort_key)
    if index < len(keys) and keys[index] == key:
        del keys[index]
