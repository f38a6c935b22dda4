"""The symmetric ciphertext blob: self-describing, so Decrypt needs no KeyId (as in AWS), and authenticated.

    version (1 byte, 0x01) | key id length (1) | key id (ASCII) | key material version (4, big-endian)
    | nonce (12) | AES-256-GCM ciphertext | tag (16)

The whole header and the canonical encryption context are the GCM associated data, so a changed byte anywhere,
a different key version, or a missing or different encryption context fails authentication.
"""
from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from miniaws.services.kms.errors import InvalidCiphertextException

FORMAT_VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
_VERSION = struct.Struct(">I")


def canonical_context(context: Mapping[str, str] | None) -> bytes:
    """The encryption context as unambiguous bytes: pairs sorted by key, each part length-prefixed.

    AWS matches the context exactly and case-sensitively, but not by order, so the order must not matter here.
    """
    if not context:
        return b""
    out = bytearray()
    for key in sorted(context):
        for part in (key.encode("utf-8"), context[key].encode("utf-8")):
            out += struct.pack(">I", len(part)) + part
    return bytes(out)


@dataclass(frozen=True, slots=True)
class Envelope:
    key_id: str
    version: int
    header: bytes
    nonce: bytes
    sealed: bytes


def header(key_id: str, version: int) -> bytes:
    raw = key_id.encode("ascii")
    return bytes((FORMAT_VERSION, len(raw))) + raw + _VERSION.pack(version)


def seal(cipher: AESGCM, key_id: str, version: int, plaintext: bytes,
         context: Mapping[str, str] | None) -> bytes:
    head = header(key_id, version)
    nonce = os.urandom(NONCE_BYTES)
    return head + nonce + cipher.encrypt(nonce, plaintext, head + canonical_context(context))


def parse(blob: bytes) -> Envelope:
    """Split a blob into its parts; anything that is not one of ours is InvalidCiphertextException."""
    if len(blob) < 2 or blob[0] != FORMAT_VERSION:
        raise InvalidCiphertextException()
    id_length = blob[1]
    end = 2 + id_length + _VERSION.size
    if len(blob) < end + NONCE_BYTES + TAG_BYTES:
        raise InvalidCiphertextException()
    try:
        key_id = blob[2:2 + id_length].decode("ascii")
    except UnicodeDecodeError:
        raise InvalidCiphertextException() from None
    (version,) = _VERSION.unpack_from(blob, 2 + id_length)
    return Envelope(key_id, version, blob[:end], blob[end:end + NONCE_BYTES], blob[end + NONCE_BYTES:])


def open_envelope(cipher: AESGCM, envelope: Envelope, context: Mapping[str, str] | None) -> bytes:
    try:
        return cipher.decrypt(envelope.nonce, envelope.sealed, envelope.header + canonical_context(context))
    except InvalidTag:
        raise InvalidCiphertextException() from None
