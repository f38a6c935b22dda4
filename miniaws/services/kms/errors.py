"""KMS error codes (https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html and each operation's
Errors section). KMS answers every client error with HTTP 400; the crypto failures carry no message at all.
"""
from __future__ import annotations

from miniaws.core.errors import AwsError


class ValidationException(AwsError):
    status = 400


class SerializationException(AwsError):
    status = 400


class NotFoundException(AwsError):
    status = 400


class AlreadyExistsException(AwsError):
    status = 400


class DisabledException(AwsError):
    status = 400


class KMSInvalidStateException(AwsError):
    status = 400


class InvalidKeyUsageException(AwsError):
    status = 400


class IncorrectKeyException(AwsError):
    status = 400
    default_message = "The key ID in the request does not identify a CMK that can perform this operation."


class InvalidCiphertextException(AwsError):
    """AWS gives no message: it will not say whether the blob, the key or the encryption context was wrong."""

    status = 400


class KMSInvalidSignatureException(AwsError):
    status = 400


class KMSInvalidMacException(AwsError):
    status = 400


class InvalidAliasNameException(AwsError):
    status = 400


class InvalidArnException(AwsError):
    status = 400


class InvalidMarkerException(AwsError):
    status = 400
    default_message = "Invalid marker"


class InvalidGrantIdException(AwsError):
    status = 400


class InvalidGrantTokenException(AwsError):
    status = 400


class MalformedPolicyDocumentException(AwsError):
    status = 400


class NotAuthorizedException(AwsError):
    status = 400


class UnsupportedOperationException(AwsError):
    status = 400


class LimitExceededException(AwsError):
    status = 400


class TagException(AwsError):
    status = 400


class DryRunOperationException(AwsError):
    status = 412
    default_message = "The request would have succeeded, but the DryRun option is set."
