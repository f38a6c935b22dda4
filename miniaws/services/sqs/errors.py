"""SQS error codes (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html and
each operation's Errors section).

SQS is `awsQueryCompatible`: over JSON the body's `__type` is the modelled shape name and the
`x-amzn-query-error: <legacy code>;Sender` header carries the code the query protocol used, which SDKs report as
the error code (botocore: `Error.Code` is the legacy code, `Error.QueryErrorCode` the shape name). `query_code`
holds that legacy code; it is also the code the query protocol and batch `Failed` entries show.
"""
from __future__ import annotations

from typing import ClassVar

from miniaws.core.errors import AwsError


class SqsError(AwsError):
    status = 400
    #: the legacy query-protocol code (defaults to `code`)
    query_code: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "query_code" not in cls.__dict__:
            cls.query_code = cls.code


class QueueDoesNotExist(SqsError):
    query_code = "AWS.SimpleQueueService.NonExistentQueue"
    default_message = "The specified queue does not exist."


class QueueNameExists(SqsError):
    query_code = "QueueAlreadyExists"


class QueueDeletedRecently(SqsError):
    query_code = "AWS.SimpleQueueService.QueueDeletedRecently"


class PurgeQueueInProgress(SqsError):
    query_code = "AWS.SimpleQueueService.PurgeQueueInProgress"


class InvalidAttributeName(SqsError):
    pass


class InvalidAttributeValue(SqsError):
    pass


class InvalidParameterValue(SqsError):
    """Not modelled by SQS: the generic query-protocol code, sent as `InvalidParameterValueException` over JSON."""

    code = "InvalidParameterValueException"
    query_code = "InvalidParameterValue"


class MissingParameter(SqsError):
    code = "MissingRequiredParameterException"
    query_code = "MissingParameter"


class InvalidAddress(SqsError):
    pass


class InvalidMessageContents(SqsError):
    default_message = ("Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | "
                       "#xE000 to #xFFFD | #x10000 to #x10FFFF")


class ReceiptHandleIsInvalid(SqsError):
    pass


class MessageNotInflight(SqsError):
    query_code = "AWS.SimpleQueueService.MessageNotInflight"
    default_message = "Message does not exist or is not available for visibility timeout change."


class EmptyBatchRequest(SqsError):
    query_code = "AWS.SimpleQueueService.EmptyBatchRequest"


class TooManyEntriesInBatchRequest(SqsError):
    query_code = "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"


class BatchEntryIdsNotDistinct(SqsError):
    query_code = "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"


class InvalidBatchEntryId(SqsError):
    query_code = "AWS.SimpleQueueService.InvalidBatchEntryId"
    default_message = ("A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
                       "It can be at most 80 letters long.")


class BatchRequestTooLong(SqsError):
    query_code = "AWS.SimpleQueueService.BatchRequestTooLong"


class UnsupportedOperation(SqsError):
    query_code = "AWS.SimpleQueueService.UnsupportedOperation"


class ResourceNotFoundException(SqsError):
    pass


class OverLimit(SqsError):
    pass
