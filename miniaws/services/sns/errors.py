"""SNS error codes (https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html and each operation's Errors
section). The class name is the code SNS puts on the wire (botocore's `InvalidParameterException` shape is the
`InvalidParameter` code, and so on).
"""
from __future__ import annotations

from miniaws.core.errors import AwsError


class InvalidParameter(AwsError):
    status = 400


class ParameterValueInvalid(AwsError):
    """Bad message attributes (botocore: InvalidParameterValueException)."""

    status = 400


class NotFound(AwsError):
    status = 404


class ResourceNotFound(AwsError):
    status = 404
    default_message = "Resource does not exist"


class AuthorizationError(AwsError):
    status = 403


class TagLimitExceeded(AwsError):
    status = 400
    default_message = "Could not complete request: tag quota of per resource exceeded"


class EmptyBatchRequest(AwsError):
    status = 400
    default_message = "The batch request doesn't contain any entries."


class TooManyEntriesInBatchRequest(AwsError):
    status = 400
    default_message = "The batch request contains more entries than permissible."


class BatchEntryIdsNotDistinct(AwsError):
    status = 400
    default_message = "Two or more batch entries in the request have the same Id."


class InvalidBatchEntryId(AwsError):
    status = 400
    default_message = ("A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
                       "It can be at most 80 letters long.")


class BatchRequestTooLong(AwsError):
    status = 400
    default_message = "The length of all the messages put together is more than the limit."
