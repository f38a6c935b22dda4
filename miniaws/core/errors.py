"""The one AWS error base class; every service error derives from it and every codec renders it.

`code` defaults to the class name, so a service declares `class NoSuchKey(AwsError): status = 404`.
"""
from __future__ import annotations

from typing import ClassVar


class AwsError(Exception):
    """An error a client sees, rendered by the codec of the protocol that received the request."""

    code: ClassVar[str] = ""
    status: ClassVar[int] = 400
    sender_fault: ClassVar[bool] = True
    default_message: ClassVar[str] = ""

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None,
                 **fields: str) -> None:
        self.message = message if message is not None else self.default_message
        #: extra elements rendered beside Code/Message (S3: Key, BucketName, Resource, Condition ...)
        self.fields: dict[str, str] = {k: str(v) for k, v in fields.items()}
        #: extra response headers (x-amz-delete-marker, Allow, ...)
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self.message)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = cls.__name__

    @property
    def error_code(self) -> str:
        return self.code or type(self).__name__


class InternalFailure(AwsError):
    """Any unexpected exception: the client gets this, the log gets the traceback (same request id)."""

    status = 500
    sender_fault = False
    default_message = "We encountered an internal error. Please try again."


class NotImplementedOperation(AwsError):
    """An operation miniaws does not implement: named, never faked (HTTP 501 like S3's NotImplemented)."""

    code = "NotImplemented"
    status = 501
    sender_fault = False

    def __init__(self, service: str, operation: str) -> None:
        super().__init__(f"The operation {operation} of service {service} is not implemented by miniaws")
        self.service = service
        self.operation = operation


class UnknownOperation(AwsError):
    """The request names no operation we can recognise (query Action, JSON target, or REST route)."""

    code = "InvalidAction"
    status = 400


class ValidationError(AwsError):
    """Generic input validation failure used by JSON and query protocol services."""

    status = 400


class AccessDenied(AwsError):
    status = 403
    default_message = "Access Denied"


class InvalidAccessKeyId(AwsError):
    status = 403
    default_message = "The AWS Access Key Id you provided does not exist in our records."


class SignatureDoesNotMatch(AwsError):
    status = 403
    default_message = ("The request signature we calculated does not match the signature you provided. "
                       "Check your key and signing method.")


class MissingAuthenticationToken(AwsError):
    status = 403
    default_message = "Request is missing Authentication Token"


class IncompleteSignature(AwsError):
    status = 400


class InvalidClientTokenId(AwsError):
    """Query-protocol services (STS, SNS, ELBv2) name an unknown access key this way."""

    status = 403
    default_message = "The security token included in the request is invalid."


class UnrecognizedClientException(AwsError):
    """JSON-protocol services (SQS, KMS) name an unknown access key this way."""

    status = 400
    default_message = "The security token included in the request is invalid."


# -- request-level errors raised by more than one layer (auth, codecs, body framing, checksums) ---------
class InvalidRequest(AwsError):
    status = 400


class InvalidArgument(AwsError):
    """A header, query-string or path value that is not acceptable (S3 adds ArgumentName/ArgumentValue)."""

    status = 400


class MalformedXML(AwsError):
    """A request body that is not well-formed XML, or whose values do not fit the schema (S3's wording)."""

    status = 400
    default_message = ("The XML you provided was not well-formed or did not validate against our "
                       "published schema")


class RequestEntityTooLarge(AwsError):
    """A body read whole (a JSON, query or XML document) that is over the server's limit."""

    status = 413
    default_message = "The request body is too large."


class IncompleteBody(AwsError):
    status = 400
    default_message = "You did not provide the number of bytes specified by the Content-Length HTTP header."


class BadDigest(AwsError):
    status = 400


class InvalidDigest(AwsError):
    status = 400
    default_message = "The Content-MD5 you specified was invalid."


class XAmzContentSHA256Mismatch(AwsError):
    status = 400
    default_message = "The provided 'x-amz-content-sha256' header does not match what was computed."
