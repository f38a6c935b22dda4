"""Message signatures: the RSA key and self-signed X.509 certificate SNS signs every message with, and the
string it signs, so clients can verify messages the way AWS's SDK message validators do.

https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message-verify-message-signature.html:
the string to sign is `Name\\nvalue\\n` for a fixed, alphabetical list of fields (Subject only when present),
signed SHA1withRSA for SignatureVersion 1 and SHA256withRSA for 2, base64 in the `Signature` field.
"""
from __future__ import annotations

import base64
import datetime
import hashlib
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

#: RSA key size. AWS's certificates are 2048-bit; miniaws uses 1024 because every message with a JSON envelope is
#: signed on the publish path and a 2048-bit signature costs ~1 ms (SNS throughput capped near 1,000 publishes/s a
#: core, SNS → SQS latency doubled) against ~0.15 ms. Verification is the same code either way (the SDK message
#: validators check the signature, not the key size), and this key guards nothing: it sits in the data directory.
KEY_BITS = 1024

_NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    "Notification": _NOTIFICATION_FIELDS,
    "SubscriptionConfirmation": _CONFIRMATION_FIELDS,
    "UnsubscribeConfirmation": _CONFIRMATION_FIELDS,
}
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    """The canonical string of a message (its `Type` decides the fields; absent optional fields are skipped)."""
    out = []
    for name in SIGNED_FIELDS[str(message["Type"])]:
        value = message.get(name)
        if value is not None:
            out.append(f"{name}\n{value}\n")
    return "".join(out).encode()


class Signer:
    """One RSA key and its certificate. Generated at start-up (in a thread) unless restored from the journal."""

    __slots__ = ("_key", "certificate_pem", "certificate_id")

    def __init__(self, key: rsa.RSAPrivateKey, certificate_pem: bytes) -> None:
        self._key = key
        self.certificate_pem = certificate_pem
        #: names the certificate file, so a new key is served under a new URL (clients cache certificates by URL)
        self.certificate_id = hashlib.sha256(certificate_pem).hexdigest()[:32]

    @classmethod
    def generate(cls) -> "Signer":
        # imported here: cryptography.x509 is a large module and only key generation needs it (start-up time)
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "miniaws")])
        now = datetime.datetime.now(datetime.timezone.utc)
        certificate = (x509.CertificateBuilder()
                       .subject_name(name).issuer_name(name).public_key(key.public_key())
                       .serial_number(x509.random_serial_number())
                       .not_valid_before(now - datetime.timedelta(days=1))
                       .not_valid_after(now + datetime.timedelta(days=3650))
                       .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                       .sign(key, hashes.SHA256()))
        return cls(key, certificate.public_bytes(serialization.Encoding.PEM))

    @classmethod
    def from_record(cls, record: Mapping[str, str]) -> "Signer":
        key = serialization.load_pem_private_key(record["key"].encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the stored SNS signing key is not an RSA key")
        return cls(key, record["certificate"].encode())

    def record(self) -> dict[str, str]:
        key = self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
        return {"key": key.decode(), "certificate": self.certificate_pem.decode()}

    def sign(self, message: Mapping[str, Any], version: str) -> str:
        """The base64 `Signature` of a message for SignatureVersion `version` ("1" or "2")."""
        digest = _HASHES.get(version, hashes.SHA1)()
        signature = self._key.sign(string_to_sign(message), padding.PKCS1v15(), digest)
        return base64.b64encode(signature).decode()
