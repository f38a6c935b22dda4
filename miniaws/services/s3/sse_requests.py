"""What requests ask of server-side encryption: the SSE headers of a write (SSE-S3, SSE-KMS, SSE-C) resolved against
the bucket's default encryption and blocked encryption types, the SSE-C key that reads must send again, and the
re-wrapping of blob keys when a copy changes an object's encryption.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/serv-side-encryption.html
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from typing import Any

import orjson

from miniaws.services.s3.errors import AccessDenied, InvalidArgument, InvalidEncryptionAlgorithmError, InvalidRequest
from miniaws.services.s3.models import Bucket, S3Object, Segment
from miniaws.services.s3.sse import (MODE_C, MODE_S3, STORED_ENCRYPTED, Envelope, EnvelopeKey, Keyring,
                                     sealed_whole)

ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
SSE_C = "SSE-C"
#: every bucket's configuration until PutBucketEncryption: SSE-S3 (since January 2023) and SSE-C blocked (new buckets
#: since April 2026), https://docs.aws.amazon.com/AmazonS3/latest/userguide/blocking-unblocking-s3-c-encryption-gpb.html
DEFAULT_ENCRYPTION: dict[str, Any] = {
    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False,
               "BlockedEncryptionTypes": {"EncryptionType": [SSE_C]}}]}

_KMS_ONLY = ("Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : "
             "aws:kms")
_BAD_CONTEXT = ("The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 string holding JSON "
                "which represents a string-string map")


@dataclass(slots=True)
class Protection:
    """How a write encrypts its new object: the envelope key that wraps blob keys, the members stored with the object
    (and answered by GET/HEAD), and the members the write itself answers with."""

    key: EnvelopeKey
    members: dict[str, Any]
    response: dict[str, Any]

    @property
    def envelope(self) -> Envelope:
        return self.key.envelope

    @property
    def stored(self) -> dict[str, Any] | None:
        """S3Object.encryption: None stands for SSE-S3, the default, which keeps plain records small."""
        return None if self.key.envelope.mode == MODE_S3 else self.members

    def etag(self, md5: bytes) -> str:
        """SSE-S3 ETags are the MD5 of the data; SSE-KMS and SSE-C ETags are not
        (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html, ETag)."""
        if self.key.envelope.mode == MODE_S3:
            return f'"{md5.hex()}"'
        return f'"{hashlib.md5(md5 + os.urandom(16)).hexdigest()}"'


def default_rule(bucket: Bucket) -> dict[str, Any]:
    return (bucket.config.get("encryption") or DEFAULT_ENCRYPTION)["Rules"][0]


def blocked_types(bucket: Bucket) -> list[str]:
    """The encryption types writes to the bucket may not use. A configuration without BlockedEncryptionTypes gets
    the default (SSE-C blocked): only an explicit NONE allows SSE-C writes."""
    blocked = default_rule(bucket).get("BlockedEncryptionTypes")
    if blocked is None:
        return [SSE_C]
    return [kind for kind in blocked.get("EncryptionType") or [] if kind != "NONE"]


def customer_key(params: dict[str, Any], prefix: str = "") -> tuple[bytes, str] | None:
    """The validated SSE-C key (raw, base64 MD5) of a request's customer-key headers (`prefix` "CopySource" for
    the x-amz-copy-source-… ones), or None when it sends none."""
    algorithm = params.get(prefix + "SSECustomerAlgorithm")
    text = params.get(prefix + "SSECustomerKey")
    md5 = params.get(prefix + "SSECustomerKeyMD5")
    if algorithm is None and text is None and md5 is None:
        return None
    header = ("x-amz-copy-source-server-side-encryption-customer-algorithm" if prefix
              else "x-amz-server-side-encryption-customer-algorithm")
    if algorithm is None:
        raise InvalidArgument("Requests specifying Server Side Encryption with Customer provided keys must provide a "
                              "valid encryption algorithm.", ArgumentName=header, ArgumentValue="null")
    if algorithm != "AES256":
        raise InvalidEncryptionAlgorithmError(ArgumentName=header, ArgumentValue=str(algorithm))
    if text is None:
        raise InvalidArgument("Requests specifying Server Side Encryption with Customer provided keys must provide an "
                              "appropriate secret key.", ArgumentName=header, ArgumentValue="null")
    try:
        key = base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise InvalidArgument("The secret key was invalid for the specified algorithm.", ArgumentName=header,
                              ArgumentValue="null")
    actual = base64.b64encode(hashlib.md5(key).digest()).decode()
    if md5 is None:
        raise InvalidArgument("Requests specifying Server Side Encryption with Customer provided keys must provide "
                              "the client calculated MD5 of the secret key.", ArgumentName=header,
                              ArgumentValue="null")
    if md5 != actual:
        raise InvalidArgument("The calculated MD5 hash of the key did not match the hash that was provided.",
                              ArgumentName=header, ArgumentValue="null")
    return key, actual


def write_protection(keyring: Keyring, account: str, bucket: Bucket, key: str, params: dict[str, Any]) -> Protection:
    """The encryption a write asks for (PutObject, CopyObject's target, CreateMultipartUpload, POST), else the
    bucket's default; SSE-KMS gets its data key from KMS here, so KMS errors come before the body is read."""
    algorithm = params.get("ServerSideEncryption")
    kms_key = params.get("SSEKMSKeyId")
    context_text = params.get("SSEKMSEncryptionContext")
    customer = customer_key(params)
    if customer is not None:
        if algorithm is not None:
            raise InvalidArgument("Server Side Encryption with Customer provided key is incompatible with the "
                                  "encryption method specified", ArgumentName="x-amz-server-side-encryption",
                                  ArgumentValue=str(algorithm))
        if SSE_C in blocked_types(bucket):
            # https://docs.aws.amazon.com/AmazonS3/latest/userguide/blocking-unblocking-s3-c-encryption-gpb.html
            raise AccessDenied("Requests specifying Server Side Encryption with Customer provided keys are blocked "
                               "for this bucket (its default encryption's BlockedEncryptionTypes)")
        answered = {"SSECustomerAlgorithm": "AES256", "SSECustomerKeyMD5": customer[1]}
        return Protection(keyring.sse_c(customer[0]), answered, dict(answered))
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise InvalidArgument("The encryption method specified is not supported",
                              ArgumentName="x-amz-server-side-encryption", ArgumentValue=str(algorithm))
    if algorithm is None:
        if kms_key is not None or context_text is not None:
            raise InvalidArgument(_KMS_ONLY, ArgumentName="x-amz-server-side-encryption",
                                  ArgumentValue="null")
        rule = default_rule(bucket)
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        algorithm = default.get("SSEAlgorithm") or "AES256"
        kms_key = default.get("KMSMasterKeyID") or None
    elif algorithm == "AES256" and (kms_key is not None or context_text is not None):
        raise InvalidArgument(_KMS_ONLY, ArgumentName="x-amz-server-side-encryption", ArgumentValue=str(algorithm))
    if algorithm == "AES256":
        return Protection(keyring.sse_s3(), {"ServerSideEncryption": "AES256"}, {"ServerSideEncryption": "AES256"})
    requested = params.get("BucketKeyEnabled")
    if isinstance(requested, str):  # a browser POST upload's form field
        requested = requested.strip().lower() == "true"
    bucket_key = bool(default_rule(bucket).get("BucketKeyEnabled")) if requested is None else bool(requested)
    if algorithm == "aws:kms:dsse":
        bucket_key = False  # S3 Bucket Keys are not supported for DSSE-KMS
    user_context = _context(context_text)
    # the encryption context S3 adds: the object's ARN, or the bucket's when an S3 Bucket Key is used
    # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#encryption-context)
    arn = f"arn:aws:s3:::{bucket.name}" if bucket_key else f"arn:aws:s3:::{bucket.name}/{key}"
    context = {**user_context, "aws:s3:arn": arn}
    envelope_key = keyring.sse_kms(account, bucket.region, str(kms_key) if kms_key else None, context)
    members: dict[str, Any] = {"ServerSideEncryption": algorithm, "SSEKMSKeyId": envelope_key.envelope.key_arn}
    if bucket_key:
        members["BucketKeyEnabled"] = True
    response = dict(members)
    if context_text is not None:
        response["SSEKMSEncryptionContext"] = base64.b64encode(orjson.dumps(context)).decode()
    return Protection(envelope_key, members, response)


def _context(text: Any) -> dict[str, str]:
    if text is None:
        return {}
    try:
        value = orjson.loads(base64.b64decode(str(text), validate=True))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        value = None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidArgument(_BAD_CONTEXT, ArgumentName="x-amz-server-side-encryption-context",
                              ArgumentValue=str(text))
    return value


def read_key(envelope: Envelope | None, params: dict[str, Any], prefix: str = "") -> bytes | None:
    """The customer key a read (GET, HEAD, copy source with `prefix` "CopySource", UploadPart) must send for an
    SSE-C object, checked; None for any other object, which must not be sent customer-key headers."""
    given = customer_key(params, prefix)
    if envelope is None or envelope.mode != MODE_C:
        if given is not None:
            raise InvalidRequest("The encryption parameters are not applicable to this object.")
        return None
    if given is None:
        raise InvalidRequest(STORED_ENCRYPTED)
    Keyring.check_customer_key(envelope, given[0])
    return given[0]


def rewrap(segments: list[Segment], target: EnvelopeKey, customer_key: bytes | None) -> list[Segment] | None:
    """`segments` (of a copy source) re-keyed for a copy encrypted under `target`: each blob key is unwrapped under
    its own envelope and wrapped under the target's, and the ciphertext is shared as it is. A body stored before
    encryption at rest is shared in plaintext. None when a body sealed whole under its envelope's key would need
    another key: only re-encrypting it can serve the copy."""
    opened: dict[int, EnvelopeKey] = {}
    out: list[Segment] = []
    for seg in segments:
        envelope = seg.envelope
        if seg.wrapped is None or envelope is None:
            out.append(Segment(seg.blob_id, seg.size, seg.offset))
            continue
        source = opened.get(id(envelope))
        if source is None:
            source = opened[id(envelope)] = envelope.open(customer_key)
        if sealed_whole(seg.wrapped):
            if source.cipher is not target.cipher:
                return None
            out.append(Segment(seg.blob_id, seg.size, seg.offset, seg.wrapped, target.envelope))
            continue
        out.append(Segment(seg.blob_id, seg.size, seg.offset, target.wrap(source.unwrap(seg.wrapped)),
                           target.envelope))
    return out


def object_members(obj: S3Object) -> dict[str, Any]:
    """The SSE members GET, HEAD and writes answer with for a stored version."""
    # S3 encrypts every new object with SSE-S3 since January 2023 (None)
    return obj.encryption if obj.encryption is not None else {"ServerSideEncryption": "AES256"}
