"""Encryption at rest without sockets: the chunked AES-GCM layout (pieces, ranges, tampering), the keyring's
envelopes (SSE-S3 key journaled wrapped, KMS errors as S3's, SSE-C key checks), the request rules of sse_requests,
and the decrypting readers (read_small, SegmentStream) over inline and file bodies.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from miniaws.core.errors import AwsError
from miniaws.services.kms.errors import DisabledException, KMSInvalidStateException, NotFoundException
from miniaws.services.kms.rootkey import RootKey
from miniaws.services.s3 import body as bodies
from miniaws.services.s3.errors import AccessDenied, InvalidArgument, InvalidRequest
from miniaws.services.s3.models import Bucket, Owner, S3Object, Segment, segments_from_record, segments_record
from miniaws.services.s3.sse import (CHUNK, STORED_CHUNK, ChunkSealer, Envelope, Keyring, chunk_span, open_chunks,
                                     sealed_whole, stored_size)
from miniaws.services.s3.sse_requests import customer_key, read_key, rewrap, write_protection
from miniaws.state.blobs import BlobStore
from miniaws.state.journal import MemoryJournal

KEY = bytes(range(32))


class RecordingJournal(MemoryJournal):
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], bytes] = {}

    def put(self, ns: str, key: str, value: bytes) -> None:
        self.rows[(ns, key)] = value


class FakeKms:
    """The in-process KMS interface: data keys are the context's hash, so decrypt checks the context like KMS."""

    def __init__(self) -> None:
        self.fail: AwsError | None = None
        self.calls = 0

    def _key(self, context: Mapping[str, str] | None) -> bytes:
        return hashlib.sha256(repr(sorted((context or {}).items())).encode()).digest()

    def generate_data_key(self, account: str, region: str, key_id: str, context: Mapping[str, str] | None = None,
                          number_of_bytes: int = 32) -> tuple[bytes, bytes]:
        if self.fail is not None:
            raise self.fail
        return self._key(context), b"blob:" + key_id.encode()

    def decrypt(self, account: str, region: str, ciphertext_blob: bytes, context: Mapping[str, str] | None = None,
                key_id: str | None = None) -> bytes:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        return self._key(context)

    def key_arn_of(self, account: str, region: str, key_id: str) -> str:
        if key_id == "alias/missing":
            raise NotFoundException(f"Alias '{key_id}' is not found.")
        return f"arn:aws:kms:{region}:{account}:key/{key_id.rsplit('/', 1)[-1]}"

    def aws_managed_key(self, account: str, region: str, service: str) -> str:
        return f"arn:aws:kms:{region}:{account}:key/managed-{service}"

    def check_key(self, account: str, region: str, key_id: str) -> None:
        if self.fail is not None:
            raise self.fail


@pytest.fixture
def kms() -> FakeKms:
    return FakeKms()


@pytest.fixture
def keyring(kms: FakeKms) -> Keyring:
    return Keyring(RecordingJournal(), RootKey(None), kms)


@pytest.fixture
def blobs(tmp_path: Path) -> Iterator[BlobStore]:
    store = BlobStore(tmp_path / "blobs", MemoryJournal(), inline_limit=64 * 1024)
    yield store
    store.close()


def _bucket(**config: Any) -> Bucket:
    return Bucket("b", "us-east-1", 0.0, Owner("o", "o"), "000000000000", config=dict(config))


# ---------------------------------------------------------------------------------------- the layout
@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17])
def test_sealing_in_pieces_equals_sealing_at_once(size: int) -> None:
    data = os.urandom(size)
    whole = ChunkSealer(AESGCM(KEY)).seal(data)
    sealer, pieces, at = ChunkSealer(AESGCM(KEY)), bytearray(), 0
    for step in (1, 7, CHUNK - 3, 5, CHUNK * 2, 100_000):
        pieces += sealer.feed(data[at:at + step])
        at += step
    pieces += sealer.feed(data[at:]) + sealer.final()
    assert bytes(pieces) == whole and len(whole) == stored_size(size)


def test_any_range_opens_from_its_chunks_only() -> None:
    data = os.urandom(3 * CHUNK + 100)
    stored = ChunkSealer(AESGCM(KEY)).seal(data)
    for start, length in ((0, 1), (CHUNK - 1, 2), (CHUNK, CHUNK), (5, 3 * CHUNK + 95), (3 * CHUNK + 99, 1)):
        first, at, count = chunk_span(start, length)
        assert open_chunks(AESGCM(KEY), stored[at:at + count], first, start - first * CHUNK, length) == \
            data[start:start + length]


@pytest.mark.parametrize("size", [1, 1024, CHUNK - 1, CHUNK])
def test_a_whole_one_chunk_body_opens_like_any_range(size: int) -> None:
    # one chunk read whole is the GetObject fast path; a short, altered or misplaced chunk still fails
    data = os.urandom(size)
    stored = ChunkSealer(AESGCM(KEY)).seal(data)
    assert open_chunks(AESGCM(KEY), stored, 0, 0, size) == data
    assert open_chunks(AESGCM(KEY), memoryview(stored), 0, 0, size) == data
    with pytest.raises(ValueError):
        open_chunks(AESGCM(KEY), stored, 1, 0, size)
    with pytest.raises(ValueError):
        open_chunks(AESGCM(KEY), stored[:-1], 0, 0, size)
    altered = bytearray(stored)
    altered[0] ^= 1
    with pytest.raises(ValueError):
        open_chunks(AESGCM(KEY), bytes(altered), 0, 0, size)
    last = ChunkSealer(AESGCM(KEY)).seal(os.urandom(CHUNK) + data)[STORED_CHUNK:]
    assert len(open_chunks(AESGCM(KEY), last, 1, 0, size)) == size


def test_tampered_truncated_or_moved_chunks_fail() -> None:
    stored = bytearray(ChunkSealer(AESGCM(KEY)).seal(os.urandom(2 * CHUNK)))
    with pytest.raises(ValueError):  # chunk 1 presented as chunk 0: the nonce is the index
        open_chunks(AESGCM(KEY), bytes(stored[STORED_CHUNK:]), 0, 0, 10)
    with pytest.raises(ValueError):
        open_chunks(AESGCM(KEY), bytes(stored[:STORED_CHUNK - 1]), 0, 0, 10)
    stored[100] ^= 1
    with pytest.raises(ValueError):
        open_chunks(AESGCM(KEY), bytes(stored), 0, 0, 10)


# ---------------------------------------------------------------------------------------- the keyring
def test_sse_s3_key_is_journaled_wrapped_and_restores() -> None:
    journal, root = RecordingJournal(), RootKey(None)
    first = Keyring(journal, root, None)
    sealing = first.sse_s3()
    wrapped, sealer = sealing.new_blob()
    stored = sealer.seal(b"hello")
    [(ns, version)] = journal.rows
    row = journal.rows[(ns, version)]
    assert ns == "s3.ssekey" and b"hello" not in row
    again = Keyring(MemoryJournal(), root, None)
    again.restore({ns: [(version, row)]})
    envelope = Envelope.from_record(sealing.envelope.record(), again)
    assert open_chunks(envelope.open().blob_cipher(wrapped), stored, 0, 0, 5) == b"hello"


@pytest.mark.parametrize("error, code", [(DisabledException("arn is disabled."), "KMS.DisabledException"),
                                         (KMSInvalidStateException("arn is pending deletion."),
                                          "KMS.KMSInvalidStateException"),
                                         (NotFoundException("gone"), "KMS.NotFoundException")])
def test_kms_errors_become_s3_kms_errors(keyring: Keyring, kms: FakeKms, error: AwsError, code: str) -> None:
    envelope = keyring.sse_kms("000000000000", "us-east-1", "k1", {"aws:s3:arn": "arn:aws:s3:::b/k"}).envelope
    kms.fail = error
    with pytest.raises(AwsError) as err:
        envelope.open()
    assert (err.value.error_code, err.value.status, err.value.message) == (code, 400, error.message)


def test_a_cached_data_key_is_still_checked_with_kms_on_every_open(keyring: Keyring, kms: FakeKms) -> None:
    envelope = keyring.sse_kms("000000000000", "us-east-1", "k1", {"aws:s3:arn": "arn:aws:s3:::b/k"}).envelope
    envelope.open()
    envelope.open()
    assert kms.calls == 1  # Decrypt once; the second open only asked whether the key is usable
    kms.fail = DisabledException("arn is disabled.")
    with pytest.raises(AwsError) as err:
        envelope.open()
    assert err.value.error_code == "KMS.DisabledException"


def test_kms_envelope_round_trips_its_context(keyring: Keyring, kms: FakeKms) -> None:
    sealing = keyring.sse_kms("000000000000", "us-east-1", None, {"aws:s3:arn": "arn:aws:s3:::b/k"})
    assert sealing.envelope.key_arn.endswith("managed-s3")
    restored = Envelope.from_record(sealing.envelope.record(), keyring)
    wrapped, _ = sealing.new_blob()
    assert restored.open().unwrap(wrapped) == sealing.unwrap(wrapped) and kms.calls == 1


def test_sse_c_wrong_or_missing_key(keyring: Keyring) -> None:
    envelope = keyring.sse_c(KEY).envelope
    assert KEY not in repr(envelope.record()).encode() and base64.b64encode(KEY).decode() not in str(envelope.record())
    envelope.open(KEY)
    with pytest.raises(AccessDenied):
        envelope.open(bytes(32))
    with pytest.raises(InvalidRequest):
        envelope.open(None)


# ---------------------------------------------------------------------------------------- request rules
def _ssec(key: bytes = KEY, md5: str | None = None) -> dict[str, Any]:
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64encode(key).decode(),
            "SSECustomerKeyMD5": md5 or base64.b64encode(hashlib.md5(key).digest()).decode()}


def test_customer_key_headers_are_validated() -> None:
    assert customer_key({}) is None
    assert customer_key(_ssec())[0] == KEY  # type: ignore[index]
    for params in (_ssec(md5="AAAAAAAAAAAAAAAAAAAAAA=="), _ssec(key=b"short"), {"SSECustomerKey": "x"},
                   {**_ssec(), "SSECustomerKeyMD5": None}):
        with pytest.raises(AwsError):
            customer_key(params)


def test_sse_c_writes_are_blocked_unless_the_bucket_allows_them(keyring: Keyring) -> None:
    with pytest.raises(AccessDenied):
        write_protection(keyring, "000000000000", _bucket(), "k", _ssec())
    allowed = _bucket(encryption={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                                             "BlockedEncryptionTypes": {"EncryptionType": ["NONE"]}}]})
    protection = write_protection(keyring, "000000000000", allowed, "k", _ssec())
    assert protection.members["SSECustomerAlgorithm"] == "AES256" and protection.stored == protection.members


def test_kms_members_come_from_the_request_or_the_bucket_default(keyring: Keyring) -> None:
    bucket = _bucket(encryption={"Rules": [{"ApplyServerSideEncryptionByDefault": {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/app"}, "BucketKeyEnabled": True}]})
    default = write_protection(keyring, "000000000000", bucket, "k", {})
    assert default.members == {"ServerSideEncryption": "aws:kms", "BucketKeyEnabled": True,
                               "SSEKMSKeyId": "arn:aws:kms:us-east-1:000000000000:key/app"}
    assert default.envelope.context == {"aws:s3:arn": "arn:aws:s3:::b"}  # an S3 Bucket Key: the bucket's ARN
    explicit = write_protection(keyring, "000000000000", bucket, "a/k", {"ServerSideEncryption": "aws:kms",
                                                                         "SSEKMSKeyId": "k2",
                                                                         "BucketKeyEnabled": False})
    assert explicit.envelope.context == {"aws:s3:arn": "arn:aws:s3:::b/a/k"}
    assert "BucketKeyEnabled" not in explicit.members
    assert write_protection(keyring, "000000000000", bucket, "k", {"ServerSideEncryption": "AES256"}).stored is None
    with pytest.raises(InvalidArgument):
        write_protection(keyring, "000000000000", _bucket(), "k", {"SSEKMSKeyId": "k"})
    with pytest.raises(AwsError) as err:
        write_protection(keyring, "000000000000", _bucket(), "k", {"ServerSideEncryption": "aws:kms",
                                                                   "SSEKMSKeyId": "alias/missing"})
    assert err.value.error_code == "KMS.NotFoundException"


def test_reads_need_the_customer_key_of_sse_c_objects_only(keyring: Keyring) -> None:
    envelope = keyring.sse_c(KEY).envelope
    assert read_key(envelope, _ssec()) == KEY
    with pytest.raises(InvalidRequest):
        read_key(envelope, {})
    with pytest.raises(AccessDenied):
        read_key(envelope, _ssec(key=bytes(32)))
    assert read_key(keyring.sse_s3().envelope, {}) is None
    with pytest.raises(InvalidRequest):
        read_key(keyring.sse_s3().envelope, _ssec())


# ---------------------------------------------------------------------------------------- the readers
def _store(blobs: BlobStore, keyring: Keyring, data: bytes, inline: bool) -> Segment:
    sealing = keyring.sse_s3()
    wrapped, sealer = sealing.new_blob()
    stored = sealer.seal(data)
    if inline:
        blob_id = blobs.put_inline(stored)
    else:
        writer = blobs.open_writer()
        writer.write_sync(stored)
        blob_id = writer.finish_sync()
    blobs.incref(blob_id)
    return Segment(blob_id, len(data), 0, wrapped, sealing.envelope)


async def _stream(blobs: BlobStore, segments: list[Segment], start: int, length: int,
                  customer: bytes | None = None) -> bytes:
    stream = bodies.SegmentStream(blobs, segments, start, length, customer)
    return b"".join([piece async for piece in stream.chunks()])


def test_readers_decrypt_ranges_across_inline_and_file_segments(blobs: BlobStore, keyring: Keyring) -> None:
    parts = [os.urandom(1000), os.urandom(3 * CHUNK + 5), os.urandom(CHUNK)]
    segments = [_store(blobs, keyring, parts[0], True), _store(blobs, keyring, parts[1], False),
                _store(blobs, keyring, parts[2], True)]
    whole = b"".join(parts)
    assert bodies.read_small(blobs, segments[:1], 10, 20) == whole[10:30]
    assert bodies.read_small(blobs, segments, 0, len(whole)) is None  # a file segment: stream it
    for start, length in ((0, len(whole)), (990, 20), (CHUNK + 3, 2 * CHUNK), (len(whole) - 7, 7)):
        assert asyncio.run(_stream(blobs, segments, start, length)) == whole[start:start + length]
    # a slice shares the blob and key (UploadPartCopy ranges, and journal records) and reads the same
    restored = segments_from_record(segments_record([Segment(segments[1].blob_id, 100, CHUNK - 50,
                                                             segments[1].wrapped)]), segments[1].envelope)
    assert asyncio.run(_stream(blobs, restored, 0, 100)) == parts[1][CHUNK - 50:CHUNK + 50]


def test_rewrap_shares_ciphertext_under_a_new_envelope(blobs: BlobStore, keyring: Keyring) -> None:
    data = os.urandom(5000)
    source = [_store(blobs, keyring, data, True)]
    target = keyring.sse_c(KEY)
    copied = rewrap(source, target, None)
    assert copied[0].blob_id == source[0].blob_id and copied[0].envelope is target.envelope
    assert bodies.read_small(blobs, copied, 0, len(data), KEY) == data
    with pytest.raises(InvalidRequest):
        bodies.read_small(blobs, copied, 0, len(data))
    obj = S3Object("k", len(data), '"e"', 0.0, copied, envelope=target.envelope)
    again = S3Object.from_record(obj.record(), keyring)
    assert bodies.read_small(blobs, again.segments, 0, len(data), KEY) == data


# ---------------------------------------------------------------------------------------- small bodies sealed whole
@pytest.mark.parametrize("size", [1, 1000, CHUNK])
def test_a_small_body_is_sealed_whole_under_its_envelope_key(blobs: BlobStore, keyring: Keyring, size: int) -> None:
    data = os.urandom(size)
    sealing = keyring.sse_s3()
    nonce, stored = sealing.seal_small(data)
    assert sealed_whole(nonce) and len(nonce) == 12  # no blob key: the segment keeps the nonce
    assert len(stored) == size + 16
    if size >= 16:  # a 1-byte plaintext may well occur in any 17 bytes
        assert data not in stored
    again_nonce, again = sealing.seal_small(data)
    assert again_nonce != nonce and again != stored  # a fresh nonce every time
    blob_id = blobs.put_inline(stored)
    blobs.incref(blob_id)
    segments = [Segment(blob_id, size, 0, nonce, sealing.envelope)]
    assert bodies.read_small(blobs, segments, 0, size) == data
    assert asyncio.run(_stream(blobs, segments, size // 2, size - size // 2)) == data[size // 2:]
    # journaled and replayed like any segment
    obj = S3Object("k", size, '"e"', 0.0, segments, envelope=sealing.envelope)
    restored = S3Object.from_record(obj.record(), keyring)
    assert bodies.read_small(blobs, restored.segments, 0, size) == data
    # the nonce is bound to the body: another body's nonce, or the ciphertext changed, does not open
    for wrong in (Segment(blob_id, size, 0, again_nonce, sealing.envelope),):
        with pytest.raises(ValueError):
            bodies.read_small(blobs, [wrong], 0, size)


@pytest.mark.parametrize("size", [0, CHUNK + 1])
def test_empty_and_larger_bodies_get_their_own_blob_key(blobs: BlobStore, keyring: Keyring, size: int) -> None:
    data = os.urandom(size)
    wrapped, stored = keyring.sse_s3().seal_small(data)
    assert not sealed_whole(wrapped) and len(wrapped) == 60
    assert len(stored) == (0 if size == 0 else size + 2 * 16)


def test_rewrap_shares_a_body_sealed_whole_only_under_the_same_key(blobs: BlobStore, keyring: Keyring) -> None:
    data = os.urandom(3000)
    sealing = keyring.sse_s3()
    nonce, stored = sealing.seal_small(data)
    blob_id = blobs.put_inline(stored)
    source = [Segment(blob_id, len(data), 0, nonce, sealing.envelope)]
    same = rewrap(source, keyring.sse_s3(), None)
    assert same is not None and same[0].blob_id == blob_id and same[0].wrapped == nonce
    assert bodies.read_small(blobs, same, 0, len(data)) == data
    # another key cannot open it: the caller re-encrypts instead (copied_segments)
    assert rewrap(source, keyring.sse_c(KEY), None) is None


def test_nonces_are_never_handed_out_twice_even_across_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor
    from miniaws.services.s3.sse import _NoncePool
    pool = _NoncePool()
    with ThreadPoolExecutor(4) as workers:
        batches = list(workers.map(lambda _: [pool.take() for _ in range(2000)], range(8)))
    taken = [nonce for batch in batches for nonce in batch]
    assert len(taken) == len(set(taken)) == 16000 and all(len(nonce) == 12 for nonce in taken)


@pytest.mark.parametrize("start, length", [(0, 3 * CHUNK + 17), (5, CHUNK), (CHUNK - 1, 2), (CHUNK, CHUNK),
                                           (2 * CHUNK + 3, CHUNK + 14), (3 * CHUNK + 16, 1)])
def test_chunk_pieces_are_the_range_one_piece_per_chunk(start: int, length: int) -> None:
    from miniaws.services.s3.sse import open_chunk_pieces
    data = os.urandom(3 * CHUNK + 17)
    stored = ChunkSealer(AESGCM(KEY)).seal(data)
    first, at, count = chunk_span(start, length)
    pieces = open_chunk_pieces(AESGCM(KEY), stored[at:at + count], first, start - first * CHUNK, length)
    assert b"".join(pieces) == data[start:start + length]
    assert len(pieces) == (start + length - 1) // CHUNK - start // CHUNK + 1 and all(pieces)
    with pytest.raises(ValueError):  # a body cut short is an error, not a short answer
        open_chunk_pieces(AESGCM(KEY), stored[at:at + count][:-20], first, start - first * CHUNK, length)


def test_sealing_pieces_of_any_sizes_equals_sealing_at_once() -> None:
    data = os.urandom(5 * CHUNK + 123)
    rng = __import__("random").Random(7)
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(data)), rng.randint(1, 12)))
        pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
        sealer = ChunkSealer(AESGCM(KEY))
        sealed = b"".join(sealer.feed_pieces(pieces[:3]) + sealer.feed_pieces(pieces[3:])) + sealer.final()
        assert sealed == ChunkSealer(AESGCM(KEY)).seal(data)


def test_a_segment_covering_the_start_of_a_body_sealed_whole_reads_only_its_bytes(blobs: BlobStore,
                                                                                 keyring: Keyring) -> None:
    """UploadPartCopy of bytes 0-999 shares the blob of a 3,000-byte body: a read of that segment is 1,000 bytes."""
    data = os.urandom(3000)
    sealing = keyring.sse_s3()
    nonce, stored = sealing.seal_small(data)
    blob_id = blobs.put_inline(stored)
    head = [Segment(blob_id, 1000, 0, nonce, sealing.envelope)]
    assert bodies.read_small(blobs, head, 0, 1000) == data[:1000]
    assert asyncio.run(_stream(blobs, head, 0, 1000)) == data[:1000]
