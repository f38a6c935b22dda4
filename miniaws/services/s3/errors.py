"""S3 error codes (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html), one class per code."""
from __future__ import annotations

from miniaws.core.errors import (AccessDenied, AwsError, BadDigest, IncompleteBody, InvalidArgument, InvalidDigest,
                                 InvalidRequest, MalformedXML, XAmzContentSHA256Mismatch)

# shared request-level codes, re-exported so S3 code names every S3 error from one module
__all__ = ["AccessDenied", "BadDigest", "IncompleteBody", "InvalidArgument", "InvalidDigest", "InvalidRequest",
           "MalformedXML", "XAmzContentSHA256Mismatch"]


class NoSuchBucket(AwsError):
    status = 404
    default_message = "The specified bucket does not exist"


class NoSuchKey(AwsError):
    status = 404
    default_message = "The specified key does not exist."


class NoSuchUpload(AwsError):
    status = 404
    default_message = ("The specified upload does not exist. The upload ID may be invalid, or the upload may have "
                       "been aborted or completed.")


class BucketAlreadyExists(AwsError):
    status = 409
    default_message = ("The requested bucket name is not available. The bucket namespace is shared by all users of "
                       "the system. Please select a different name and try again.")


class BucketAlreadyOwnedByYou(AwsError):
    status = 409
    default_message = "Your previous request to create the named bucket succeeded and you already own it."


class BucketNotEmpty(AwsError):
    status = 409
    default_message = "The bucket you tried to delete is not empty"


class InvalidBucketName(AwsError):
    status = 400
    default_message = "The specified bucket is not valid."


class KeyTooLongError(AwsError):
    status = 400
    default_message = "Your key is too long"


class InvalidLocationConstraint(AwsError):
    status = 400
    default_message = "The specified location-constraint is not valid"


class IllegalLocationConstraintException(AwsError):
    status = 400


class InvalidPart(AwsError):
    status = 400
    default_message = ("One or more of the specified parts could not be found.  The part may not have been "
                       "uploaded, or the specified entity tag may not match the part's entity tag.")


class InvalidPartOrder(AwsError):
    status = 400
    default_message = "The list of parts was not in ascending order. Parts must be ordered by part number."


class EntityTooSmall(AwsError):
    status = 400
    default_message = "Your proposed upload is smaller than the minimum allowed size"


class EntityTooLarge(AwsError):
    status = 400
    default_message = "Your proposed upload exceeds the maximum allowed size"


class InvalidRange(AwsError):
    status = 416
    default_message = "The requested range is not satisfiable"


class PreconditionFailed(AwsError):
    status = 412
    default_message = "At least one of the pre-conditions you specified did not hold"


class NotModified(AwsError):
    """Not an error to the client: 304 with no body (conditional GET/HEAD)."""

    status = 304
    default_message = "Not Modified"


class MissingContentLength(AwsError):
    status = 411
    default_message = "You must provide the Content-Length HTTP header."


class InvalidObjectState(AwsError):
    status = 403


class MethodNotAllowed(AwsError):
    status = 405
    default_message = "The specified method is not allowed against this resource."


class HeaderNotImplemented(AwsError):
    code = "NotImplemented"
    status = 501
    default_message = "A header you provided implies functionality that is not implemented"


class MetadataTooLarge(AwsError):
    status = 400
    default_message = "Your metadata headers exceed the maximum allowed metadata size."


class InvalidPartNumber(AwsError):
    status = 416
    default_message = "The requested partnumber is not satisfiable"


class NoSuchVersion(AwsError):
    status = 404
    default_message = "The specified version does not exist."


class InvalidBucketState(AwsError):
    status = 409


class NoSuchBucketPolicy(AwsError):
    status = 404
    default_message = "The bucket policy does not exist"


class MalformedPolicy(AwsError):
    status = 400


class NoSuchPublicAccessBlockConfiguration(AwsError):
    status = 404
    default_message = "The public access block configuration was not found"


class AccessControlListNotSupported(AwsError):
    status = 400
    default_message = "The bucket does not allow ACLs"


class InvalidBucketAclWithObjectOwnership(AwsError):
    status = 400
    default_message = "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"


class InvalidBucketAclWithBlockPublicAccessError(AwsError):
    status = 400
    default_message = "Bucket cannot have public ACLs set with BlockPublicAccess enabled"


class UnresolvableGrantByEmailAddress(AwsError):
    status = 400
    default_message = "The e-mail address you provided does not match any account on record."


class MissingSecurityHeader(AwsError):
    status = 400
    default_message = "Your request was missing a required header"


class OwnershipControlsNotFoundError(AwsError):
    status = 404
    default_message = "The bucket ownership controls were not found"


class InvalidTag(AwsError):
    status = 400


class BadRequest(AwsError):
    status = 400


class NoSuchTagSet(AwsError):
    status = 404
    default_message = "The TagSet does not exist"


class CORSResponse(AwsError):
    status = 403
    default_message = ("This CORS request is not allowed. This is usually because the evalution of Origin, request "
                       "method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted "
                       "by the resource's CORS spec.")


class NoSuchCORSConfiguration(AwsError):
    status = 404
    default_message = "The CORS configuration does not exist"


class ObjectLockConfigurationNotFoundError(AwsError):
    status = 404
    default_message = "Object Lock configuration does not exist for this bucket"


class NoSuchObjectLockConfiguration(AwsError):
    status = 404
    default_message = "The specified object does not have a ObjectLock configuration"


class NoSuchWebsiteConfiguration(AwsError):
    status = 404
    default_message = "The specified bucket does not have a website configuration"


class NoSuchLifecycleConfiguration(AwsError):
    status = 404
    default_message = "The lifecycle configuration does not exist"


class InvalidEncryptionAlgorithmError(AwsError):
    status = 400
    default_message = "The Encryption request you specified is not valid. Supported value: AES256."


# KMS failures during SSE-KMS reads and writes: S3 answers with the KMS error code behind a "KMS." prefix and KMS's
# message, HTTP 400 (e.g. "KMS.DisabledException: arn:aws:kms:…:key/… is disabled.")
class KMSNotFoundException(AwsError):
    code = "KMS.NotFoundException"
    status = 400


class KMSDisabledException(AwsError):
    code = "KMS.DisabledException"
    status = 400


class KMSInvalidStateException(AwsError):
    code = "KMS.KMSInvalidStateException"
    status = 400


class KMSInvalidKeyUsageException(AwsError):
    code = "KMS.InvalidKeyUsageException"
    status = 400


class KMSInvalidCiphertextException(AwsError):
    code = "KMS.InvalidCiphertextException"
    status = 400


_KMS_ERRORS: dict[str, type[AwsError]] = {
    "NotFoundException": KMSNotFoundException, "DisabledException": KMSDisabledException,
    "KMSInvalidStateException": KMSInvalidStateException, "InvalidKeyUsageException": KMSInvalidKeyUsageException,
    "InvalidCiphertextException": KMSInvalidCiphertextException,
}


class KMSException(AwsError):
    """Any other KMS error, under its own code with the "KMS." prefix."""

    status = 400

    def __init__(self, kms_code: str, message: str) -> None:
        super().__init__(message)
        self.kms_code = kms_code

    @property
    def error_code(self) -> str:
        return "KMS." + self.kms_code


def kms_error(err: AwsError) -> AwsError:
    """The S3 error for a KMS error met while S3 used a key in-process."""
    kind = _KMS_ERRORS.get(err.error_code)
    return kind(err.message) if kind is not None else KMSException(err.error_code, err.message)
