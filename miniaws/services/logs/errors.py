"""CloudWatch Logs error codes (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/
CommonErrors.html and each operation's Errors section). Every client error is HTTP 400."""
from __future__ import annotations

from miniaws.core.errors import AwsError


class InvalidParameterException(AwsError):
    """Logs answers constraint violations with this code too ("1 validation error detected: …")."""

    status = 400


class ResourceNotFoundException(AwsError):
    status = 400


class ResourceAlreadyExistsException(AwsError):
    status = 400


class TooManyTagsException(AwsError):
    status = 400


class ValidationException(AwsError):
    status = 400


class SerializationException(AwsError):
    status = 400


def group_not_found() -> ResourceNotFoundException:
    return ResourceNotFoundException("The specified log group does not exist.")


def stream_not_found() -> ResourceNotFoundException:
    return ResourceNotFoundException("The specified log stream does not exist.")
