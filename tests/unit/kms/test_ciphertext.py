"""The symmetric ciphertext blob: it names its key and version, and any change to it or to the context fails."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from miniaws.services.kms import ciphertext
from miniaws.services.kms.errors import InvalidCiphertextException

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
CIPHER = AESGCM(bytes(range(32)))


def test_blob_names_its_key_and_version_and_round_trips() -> None:
    blob = ciphertext.seal(CIPHER, KEY_ID, 3, b"secret", {"purpose": "test"})
    envelope = ciphertext.parse(blob)
    assert (envelope.key_id, envelope.version) == (KEY_ID, 3)
    assert blob[:2] == bytes((1, len(KEY_ID))) and blob[2:2 + len(KEY_ID)] == KEY_ID.encode()
    assert len(blob) == 2 + len(KEY_ID) + 4 + 12 + len(b"secret") + 16
    assert ciphertext.open_envelope(CIPHER, envelope, {"purpose": "test"}) == b"secret"


def test_context_order_does_not_matter_but_content_does() -> None:
    blob = ciphertext.seal(CIPHER, KEY_ID, 0, b"x", {"a": "1", "b": "2"})
    envelope = ciphertext.parse(blob)
    assert ciphertext.open_envelope(CIPHER, envelope, {"b": "2", "a": "1"}) == b"x"
    for wrong in (None, {}, {"a": "1"}, {"a": "1", "b": "2", "c": "3"}, {"a": "1", "b": "X"}, {"A": "1", "b": "2"}):
        with pytest.raises(InvalidCiphertextException):
            ciphertext.open_envelope(CIPHER, envelope, wrong)


def test_canonical_context_is_unambiguous() -> None:
    # concatenation without lengths would make these equal
    assert ciphertext.canonical_context({"ab": "c"}) != ciphertext.canonical_context({"a": "bc"})
    assert ciphertext.canonical_context(None) == ciphertext.canonical_context({}) == b""


def test_every_tampered_byte_is_detected() -> None:
    blob = ciphertext.seal(CIPHER, KEY_ID, 1, b"payload", None)
    for index in range(len(blob)):
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        with pytest.raises(InvalidCiphertextException):
            ciphertext.open_envelope(CIPHER, ciphertext.parse(bytes(tampered)), None)


def test_version_is_authenticated_even_with_the_same_key() -> None:
    blob = bytearray(ciphertext.seal(CIPHER, KEY_ID, 1, b"payload", None))
    blob[2 + len(KEY_ID) + 3] = 2  # claim version 2
    with pytest.raises(InvalidCiphertextException):
        ciphertext.open_envelope(CIPHER, ciphertext.parse(bytes(blob)), None)


@pytest.mark.parametrize("blob", [b"", b"\x01", b"\x02" + bytes(60), b"\x01\x24" + b"k" * 36 + bytes(10),
                                  b"\x01\x02\xff\xfe" + bytes(40), bytes(80)])
def test_garbage_is_invalid_ciphertext(blob: bytes) -> None:
    with pytest.raises(InvalidCiphertextException):
        ciphertext.parse(blob)


def test_wrong_key_is_invalid_ciphertext() -> None:
    blob = ciphertext.seal(CIPHER, KEY_ID, 0, b"x", None)
    with pytest.raises(InvalidCiphertextException):
        ciphertext.open_envelope(AESGCM(bytes(32)), ciphertext.parse(blob), None)
