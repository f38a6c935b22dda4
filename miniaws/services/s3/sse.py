"""Server-side encryption at rest: the stored body layout, per-body data keys and the envelopes protecting them.

Every stored body (blob) is encrypted under its own random 256-bit key, in 64 KiB AES-256-GCM chunks (chunk i has
nonce i and a 16-byte tag), so a ranged GET decrypts only the chunks it touches and large bodies stream. The blob
key is stored wrapped (AES-GCM) under the key of the object's *envelope*; the encryption mode decides that key:
    SSE-S3   an S3-owned key, journaled wrapped under the data directory's root key (kms-root.key)
    SSE-KMS  a data key from KMS GenerateDataKey: only its ciphertext blob is stored; every read asks KMS
    SSE-C    the customer's key, never stored: a salted HMAC of it checks the key sent with later requests
A body of at most one chunk held in memory (most small PUTs) is instead sealed whole under the envelope's key with
a fresh nonce, which its segment stores where a wrapped blob key would be (12 bytes instead of 60): making and
wrapping a key per body was about half of a 1 KiB PutObject's encryption cost.
Multipart parts share their upload's envelope, so CompleteMultipartUpload concatenates segments as they are, and
a copy to another encryption re-wraps blob keys under the new envelope without touching the ciphertext (a body
sealed whole is re-encrypted instead, unless the copy's key is the same).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from miniaws.core.errors import AwsError
from miniaws.services.kms.rootkey import RootKey
from miniaws.services.s3.errors import AccessDenied, InvalidRequest, kms_error
from miniaws.state.journal import Journal

CHUNK = 64 * 1024
TAG = 16
STORED_CHUNK = CHUNK + TAG
KEY_BYTES = 32
_NONCE = 12
_WRAP_AAD = b"miniaws/s3/blob-key/v1"
_BODY_AAD = b"miniaws/s3/body/v1"
_CHECK_LABEL = b"miniaws/s3/sse-c/v1"
#: journal namespace of the S3-owned keys (SSE-S3), by version
NS_SSE_KEY = "s3.ssekey"

#: unwrapped keys kept for hot objects (SSE-S3 and SSE-KMS only: SSE-C keys leave memory after each request)
CACHED_KEYS = 4096

MODE_S3 = "S3"
MODE_KMS = "KMS"
MODE_C = "C"

STORED_ENCRYPTED = ("The object was stored using a form of Server Side Encryption. The correct parameters must be "
                    "provided to retrieve the object.")


# -- the chunked body layout -------------------------------------------------------------------------
def stored_size(size: int) -> int:
    """Bytes on disk for `size` bytes of plaintext."""
    return size + -(-size // CHUNK) * TAG


def _nonce(index: int) -> bytes:
    return index.to_bytes(_NONCE, "big")


_FIRST_NONCE = _nonce(0)


class _NoncePool:
    """Fresh random nonces, drawn from the OS in 4 KiB at a time: a getrandom() call per body cost ~2 µs of every
    small PUT. Every nonce is still OS randomness, handed out once (under a lock: a nonce given twice would break
    AES-GCM, and a worker thread may seal too)."""

    __slots__ = ("_pool", "_at", "_lock")

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0
        self._lock = threading.Lock()

    def take(self) -> bytes:
        with self._lock:
            at = self._at
            if at + _NONCE > len(self._pool):
                self._pool, at = os.urandom(4096), 0
            self._at = at + _NONCE
            return self._pool[at:at + _NONCE]


_nonces = _NoncePool()


def sealed_whole(wrapped: bytes) -> bool:
    """Whether a segment's stored key material is the nonce of a body sealed whole under its envelope's key
    (EnvelopeKey.seal_small), not a wrapped blob key."""
    return len(wrapped) == _NONCE


class ChunkCipher(Protocol):
    def decrypt(self, nonce: bytes, data: bytes | memoryview, associated_data: bytes | None) -> bytes: ...


class _SealedWhole:
    """Decrypts a body sealed whole under its envelope's key: its only chunk, 0, under the nonce its segment keeps."""

    __slots__ = ("_cipher", "_nonce")

    def __init__(self, cipher: AESGCM, nonce: bytes) -> None:
        self._cipher = cipher
        self._nonce = nonce

    def decrypt(self, nonce: bytes, data: bytes | memoryview, associated_data: bytes | None) -> bytes:
        if nonce != _FIRST_NONCE:
            raise InvalidTag()  # there is no chunk past the first
        return self._cipher.decrypt(self._nonce, data, _BODY_AAD)


class ChunkSealer:
    """Encrypts a body that arrives in pieces of any size into the chunked layout (call final() once at the end)."""

    __slots__ = ("_cipher", "_index", "_pending")

    def __init__(self, cipher: AESGCM) -> None:
        self._cipher = cipher
        self._index = 0
        self._pending = b""

    def feed(self, data: bytes) -> bytes:
        """Ciphertext of every chunk completed by `data`."""
        return b"".join(self.feed_pieces((data,)))

    def feed_pieces(self, pieces: Iterable[bytes]) -> list[bytes]:
        """The ciphertext of every chunk the pieces complete, one item per chunk, encrypted straight from the pieces
        wherever a chunk lies within one: a large upload is never copied into one contiguous buffer first."""
        out: list[bytes] = []
        pending = self._pending
        for piece in pieces:
            view = memoryview(piece)
            position = 0
            if pending:
                position = min(CHUNK - len(pending), len(view))
                pending = pending + view[:position]
                if len(pending) < CHUNK:
                    continue
                out.append(self._cipher.encrypt(_nonce(self._index), pending, None))
                self._index += 1
                pending = b""
            while len(view) - position >= CHUNK:
                out.append(self._cipher.encrypt(_nonce(self._index), view[position:position + CHUNK], None))
                self._index += 1
                position += CHUNK
            if position < len(view):
                pending = bytes(view[position:])
        self._pending = pending
        return out

    def final(self) -> bytes:
        if not self._pending:
            return b""
        sealed = self._cipher.encrypt(_nonce(self._index), self._pending, None)
        self._index += 1
        self._pending = b""
        return sealed

    def seal(self, data: bytes) -> bytes:
        """A whole (small) body in one call."""
        return self.feed(data) + self.final()


def chunk_span(start: int, length: int) -> tuple[int, int, int]:
    """For plaintext [start, start+length) of a blob: (first chunk, stored offset, stored length to read). The
    stored length may run past the end of the blob for the last chunk; readers get what is there."""
    first = start // CHUNK
    last = (start + length - 1) // CHUNK
    return first, first * STORED_CHUNK, (last - first + 1) * STORED_CHUNK


def open_chunks(cipher: ChunkCipher, stored: bytes | memoryview, first: int, skip: int, length: int) -> bytes:
    """Decrypt consecutive stored chunks (the first of which is chunk `first`) and return `length` plaintext bytes
    starting `skip` bytes into them. A short or altered body fails authentication (ValueError)."""
    if skip == 0 and length <= CHUNK and len(stored) == length + TAG:
        # the whole of a small body, one chunk (most GETs): its plaintext as decrypted, without copying it twice
        try:
            return cipher.decrypt(_nonce(first), stored, None)
        except InvalidTag:
            raise ValueError(f"stored body chunk {first} failed authentication") from None
    pieces = open_chunk_pieces(cipher, stored, first, skip, length)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def open_chunk_pieces(cipher: ChunkCipher, stored: bytes | memoryview, first: int, skip: int,
                      length: int) -> list[bytes]:
    """open_chunks' plaintext as one piece per chunk, for a streamed body: joining a MiB of them into one fresh buffer
    cost more than decrypting it (measured 1.1 ms against 0.3 ms per MiB: page faults of the new allocation)."""
    view = memoryview(stored)
    pieces: list[bytes] = []
    index, position, wanted = first, 0, skip + length
    while position < len(view) and wanted > 0:
        try:
            plain = cipher.decrypt(_nonce(index), view[position:position + STORED_CHUNK], None)
        except InvalidTag:
            raise ValueError(f"stored body chunk {index} failed authentication") from None
        if skip >= len(plain):
            skip -= len(plain)
        else:
            end = min(len(plain), skip + length)
            pieces.append(plain if skip == 0 and end == len(plain) else plain[skip:end])
            length -= end - skip
            skip = 0
        wanted = skip + length
        index += 1
        position += STORED_CHUNK
    if length > 0:
        raise ValueError("stored body is shorter than its metadata")
    return pieces


# -- envelopes -----------------------------------------------------------------------------------------
class KmsKeys(Protocol):
    """The in-process KMS interface S3 uses (miniaws.services.kms.api); its errors are KMS errors."""

    def generate_data_key(self, account: str, region: str, key_id: str, context: Mapping[str, str] | None = None,
                          number_of_bytes: int = 32) -> tuple[bytes, bytes]: ...

    def decrypt(self, account: str, region: str, ciphertext_blob: bytes, context: Mapping[str, str] | None = None,
                key_id: str | None = None) -> bytes: ...

    def key_arn_of(self, account: str, region: str, key_id: str) -> str: ...

    def aws_managed_key(self, account: str, region: str, service: str) -> str: ...

    def check_key(self, account: str, region: str, key_id: str) -> None: ...


@dataclass(slots=True, eq=False)
class Envelope:
    """What protects the blob keys of one object version (or multipart upload), as journaled with it."""

    mode: str
    keyring: "Keyring" = field(repr=False)
    #: SSE-KMS: where the key lives, its ARN, the data key's ciphertext blob and the encryption context
    account: str = ""
    region: str = ""
    key_arn: str = ""
    blob: bytes = b""
    context: dict[str, str] | None = None
    #: SSE-S3: the version of the S3-owned key
    version: int = 0
    #: SSE-C: salt + HMAC-SHA256 of the customer key (AWS keeps "a randomly salted HMAC" of it, never the key)
    check: bytes = b""

    def record(self) -> dict[str, Any]:
        r: dict[str, Any] = {"m": self.mode}
        if self.mode == MODE_KMS:
            r.update(a=self.account, r=self.region, k=self.key_arn, b=base64.b64encode(self.blob).decode(),
                     c=self.context)
        elif self.mode == MODE_S3:
            r["v"] = self.version
        else:
            r["h"] = base64.b64encode(self.check).decode()
        return r

    @classmethod
    def from_record(cls, r: dict[str, Any], keyring: "Keyring") -> "Envelope":
        return cls(r["m"], keyring, account=r.get("a", ""), region=r.get("r", ""), key_arn=r.get("k", ""),
                   blob=base64.b64decode(r.get("b", "")), context=r.get("c"), version=r.get("v", 0),
                   check=base64.b64decode(r.get("h", "")))

    def open(self, customer_key: bytes | None = None) -> "EnvelopeKey":
        """The envelope's key, checked as a read needs it (KMS key usable, right customer key); S3 errors."""
        return self.keyring.open(self, customer_key)


@dataclass(slots=True)
class EnvelopeKey:
    """An envelope with its key in hand: makes new blob keys (writes) and unwraps stored ones (reads)."""

    envelope: Envelope
    cipher: AESGCM

    def new_blob(self) -> tuple[bytes, ChunkSealer]:
        """(wrapped blob key to store, sealer for the body) for one new body."""
        # the key and its wrapping nonce from one getrandom() call: a system call is a few µs of every PUT
        material = os.urandom(KEY_BYTES + _NONCE)
        key, nonce = material[:KEY_BYTES], material[KEY_BYTES:]
        return self._wrap(key, nonce), ChunkSealer(AESGCM(key))

    def seal_small(self, data: bytes) -> tuple[bytes, bytes]:
        """(what the segment stores, sealed body) for a whole body held in memory. Up to one chunk: sealed whole
        under the envelope's key, the segment storing the nonce; larger or empty: under a new blob key."""
        if 0 < len(data) <= CHUNK:
            nonce = _nonces.take()
            return nonce, self.cipher.encrypt(nonce, data, _BODY_AAD)
        wrapped, sealer = self.new_blob()
        return wrapped, sealer.seal(data)

    def open_whole(self, nonce: bytes, stored: bytes) -> bytes:
        """The plaintext of a body sealed whole (seal_small) under this envelope's key."""
        try:
            return self.cipher.decrypt(nonce, stored, _BODY_AAD)
        except InvalidTag:
            raise ValueError("stored body chunk 0 failed authentication") from None

    def wrap(self, blob_key: bytes) -> bytes:
        return self._wrap(blob_key, os.urandom(_NONCE))

    def _wrap(self, blob_key: bytes, nonce: bytes) -> bytes:
        return nonce + self.cipher.encrypt(nonce, blob_key, _WRAP_AAD)

    def unwrap(self, wrapped: bytes) -> bytes:
        try:
            return self.cipher.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], _WRAP_AAD)
        except InvalidTag:
            raise ValueError("a stored blob key does not unwrap under its envelope") from None

    def blob_cipher(self, wrapped: bytes) -> ChunkCipher:
        if sealed_whole(wrapped):
            return _SealedWhole(self.cipher, wrapped)
        if self.envelope.mode == MODE_C:
            return AESGCM(self.unwrap(wrapped))
        return self.envelope.keyring.blob_cipher(self, wrapped)


def customer_check(customer_key: bytes, salt: bytes | None = None) -> bytes:
    salt = salt if salt is not None else os.urandom(16)
    return salt + hmac.new(customer_key, salt + _CHECK_LABEL, hashlib.sha256).digest()


class _Lru:
    """A bounded map from a wrapped key (unique: it starts with a random nonce) to its unwrapped cipher."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: OrderedDict[bytes, AESGCM] = OrderedDict()

    def get(self, key: bytes) -> AESGCM | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: bytes, cipher: AESGCM) -> None:
        self._items[key] = cipher
        if len(self._items) > CACHED_KEYS:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


class Keyring:
    """Makes and opens envelopes: owns the S3-owned keys (SSE-S3) and talks to KMS in-process (SSE-KMS).

    KMS errors become the S3 errors AWS answers with (KMS.DisabledException, KMS.NotFoundException, ...). Unwrapped
    data keys of hot objects are cached, but a read of an SSE-KMS object always asks KMS whether its key may be used,
    so disabling the key or scheduling its deletion stops reads at once, as in S3.
    """

    def __init__(self, journal: Journal, root: RootKey, kms: KmsKeys | None) -> None:
        self._journal = journal
        self._root = root
        self.kms = kms
        self._s3_keys: dict[int, AESGCM] = {}
        self._data_keys = _Lru()
        self._blob_keys = _Lru()

    # -- S3-owned keys ----------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        # unwrapped at start, like KMS key material: a missing or replaced root key stops the server right away
        for version_text, value in rows.get(NS_SSE_KEY, ()):
            version = int(version_text)
            wrapped = base64.b64decode(orjson.loads(value)["w"])
            self._s3_keys[version] = AESGCM(self._root.unwrap(wrapped, _s3_key_label(version)))

    def reset(self) -> None:
        self._s3_keys.clear()
        self._data_keys.clear()
        self._blob_keys.clear()

    def _current_s3_key(self) -> tuple[int, AESGCM]:
        if not self._s3_keys:
            material = os.urandom(KEY_BYTES)
            wrapped = self._root.wrap(material, _s3_key_label(1))
            self._journal.put(NS_SSE_KEY, "1", orjson.dumps({"w": base64.b64encode(wrapped).decode()}))
            self._s3_keys[1] = AESGCM(material)
        version = max(self._s3_keys)
        return version, self._s3_keys[version]

    # -- new envelopes (writes) -------------------------------------------------------------------
    def sse_s3(self) -> EnvelopeKey:
        version, cipher = self._current_s3_key()
        return EnvelopeKey(Envelope(MODE_S3, self, version=version), cipher)

    def sse_kms(self, account: str, region: str, key_id: str | None, context: dict[str, str]) -> EnvelopeKey:
        """A fresh KMS data key under `key_id` (any KeyId form; None: the AWS managed key aws/s3)."""
        kms = self._kms()
        try:
            arn = (kms.key_arn_of(account, region, key_id) if key_id
                   else kms.aws_managed_key(account, region, "s3"))
            plaintext, blob = kms.generate_data_key(account, region, arn, context)
        except AwsError as err:
            raise kms_error(err) from None
        return EnvelopeKey(Envelope(MODE_KMS, self, account=account, region=region, key_arn=arn, blob=blob,
                                    context=context), AESGCM(plaintext))

    def sse_c(self, customer_key: bytes) -> EnvelopeKey:
        return EnvelopeKey(Envelope(MODE_C, self, check=customer_check(customer_key)), AESGCM(customer_key))

    # -- opening (reads) --------------------------------------------------------------------------
    def open(self, envelope: Envelope, customer_key: bytes | None = None) -> EnvelopeKey:
        if envelope.mode == MODE_S3:
            cipher = self._s3_keys.get(envelope.version)
            if cipher is None:
                raise RuntimeError(f"S3-owned key version {envelope.version} is not in the journal")
            return EnvelopeKey(envelope, cipher)
        if envelope.mode == MODE_KMS:
            kms = self._kms()
            cipher = self._data_keys.get(envelope.blob)
            try:
                if cipher is not None:
                    kms.check_key(envelope.account, envelope.region, envelope.key_arn)
                else:
                    cipher = AESGCM(kms.decrypt(envelope.account, envelope.region, envelope.blob, envelope.context,
                                                key_id=envelope.key_arn))
                    self._data_keys.put(envelope.blob, cipher)
            except AwsError as err:
                raise kms_error(err) from None
            return EnvelopeKey(envelope, cipher)
        if customer_key is None:
            raise InvalidRequest(STORED_ENCRYPTED)
        self.check_customer_key(envelope, customer_key)
        return EnvelopeKey(envelope, AESGCM(customer_key))

    def blob_cipher(self, key: EnvelopeKey, wrapped: bytes) -> AESGCM:
        """The cipher of a body whose envelope `key` was just opened (so its checks have passed)."""
        cipher = self._blob_keys.get(wrapped)
        if cipher is None:
            cipher = AESGCM(key.unwrap(wrapped))
            self._blob_keys.put(wrapped, cipher)
        return cipher

    @staticmethod
    def check_customer_key(envelope: Envelope, customer_key: bytes) -> None:
        """A different key than the object was written with is 403 AccessDenied, as S3 answers."""
        if not hmac.compare_digest(customer_check(customer_key, envelope.check[:16]), envelope.check):
            raise AccessDenied()

    def _kms(self) -> KmsKeys:
        if self.kms is None:
            raise InvalidRequest("Server Side Encryption with AWS KMS managed keys needs the KMS service, which this "
                                 "S3 was built without")
        return self.kms


def _s3_key_label(version: int) -> str:
    return f"s3/sse-s3/{version}"


