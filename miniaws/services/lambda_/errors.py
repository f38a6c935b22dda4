"""Lambda's API errors, one class per code (https://docs.aws.amazon.com/lambda/latest/api/CommonErrors.html and
each operation's Errors section). The rest-json codec renders them as X-Amzn-ErrorType + {"Type", "Message"}."""
from __future__ import annotations

from miniaws.core.errors import AwsError


class ResourceNotFoundException(AwsError):
    status = 404


class ResourceConflictException(AwsError):
    status = 409


class InvalidParameterValueException(AwsError):
    status = 400


class ValidationException(AwsError):
    status = 400


class TooManyRequestsException(AwsError):
    status = 429
    #: the model spells this error's message member in lower case
    json_message_key = "message"
    default_message = "Rate Exceeded."


class ProvisionedConcurrencyConfigNotFoundException(AwsError):
    status = 404
    #: the model spells this error's message member in lower case
    json_message_key = "message"


class RequestTooLargeException(AwsError):
    status = 413


class InvalidRequestContentException(AwsError):
    status = 400


class PreconditionFailedException(AwsError):
    status = 412


class ServiceException(AwsError):
    status = 500
    sender_fault = False
