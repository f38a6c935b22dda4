"""SQS queue operations: create, look up, list, delete, purge, attributes, tags and dead-letter sources."""
from __future__ import annotations

import base64
import binascii
from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.sqs import attributes as attrs
from miniaws.services.sqs.api_common import SqsBase
from miniaws.services.sqs.errors import (InvalidAttributeName, InvalidParameterValue, MissingParameter,
                                         PurgeQueueInProgress, QueueDoesNotExist, QueueNameExists)
from miniaws.services.sqs.models import Queue
from miniaws.services.sqs.validation import check_queue_name, integer

#: "You can't purge a queue more than once every 60 seconds" (PurgeQueue reference)
PURGE_INTERVAL = 60.0
MAX_TAGS = 50
#: optional attributes whose empty value means "not set" (SetQueueAttributes with "" removes them)
_CLEARABLE = ("Policy", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId")


def _page(names: list[str], params: dict[str, Any]) -> tuple[list[str], str | None]:
    """ListQueues-style pagination: up to 1000 without MaxResults; a NextToken only when MaxResults is given."""
    limit = integer(params, "MaxResults", 1, 1000, "MaxResults must be an integer between 1 and 1000.")
    token = params.get("NextToken")
    start = 0
    if token:
        try:
            after = base64.urlsafe_b64decode(str(token).encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidParameterValue("Invalid NextToken value.") from None
        start = next((i for i, name in enumerate(names) if name > after), len(names))
    if limit is None:
        return names[start:start + 1000], None
    page = names[start:start + limit]
    more = start + limit < len(names)
    return page, (base64.urlsafe_b64encode(page[-1].encode()).decode() if more and page else None)


class QueueOperations(SqsBase):
    @operation("CreateQueue")
    def create_queue(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html"""
        name = params.get("QueueName")
        if not name:
            raise MissingParameter("The request must contain the parameter QueueName.")
        name = str(name)
        requested: dict[str, Any] = params.get("Attributes") or {}
        fifo = str(requested.get("FifoQueue", "")).lower() == "true"
        check_queue_name(name, fifo)
        wanted = attrs.normalize(requested, fifo, creating=True)
        existing = self.store.get(ctx.account_id, ctx.region, name)
        if existing is not None:
            # same name and the same value for every attribute given: the existing queue (CreateQueue reference)
            for key, value in wanted.items():
                if self._current(existing, key) != value:
                    raise QueueNameExists("A queue already exists with the same name and a different value for "
                                          f"attribute {key}")
            return {"QueueUrl": self.queue_url(ctx, existing)}
        merged = {**attrs.defaults(fifo), **wanted}
        for key in _CLEARABLE:
            if merged.get(key) == "":
                del merged[key]
        attrs.check_combination(merged)
        now = ctx.clock.now()
        queue = Queue(name, ctx.account_id, ctx.region, fifo, now, now, merged, self._tags({}, params.get("tags")))
        self._check_redrive(queue, merged)
        self.store.save_queue(queue)
        return {"QueueUrl": self.queue_url(ctx, queue)}

    @staticmethod
    def _current(queue: Queue, key: str) -> str:
        value = queue.attributes.get(key)
        if value is None and key == "KmsDataKeyReusePeriodSeconds":
            return str(attrs.INTEGER_ATTRIBUTES[key][2])
        return value or ""

    def _check_redrive(self, queue: Queue, merged: dict[str, str]) -> None:
        """A dead-letter queue must exist, be of the same type and allow this source (RedriveAllowPolicy)."""
        policy = merged.get("RedrivePolicy")
        if not policy:
            return
        parsed = attrs.parse_redrive_policy(policy)
        assert parsed is not None
        target_arn = parsed[0]
        target = self.store.by_arn(target_arn)
        if target is None:
            raise InvalidParameterValue(f"Value {policy} for parameter RedrivePolicy is invalid. Reason: "
                                        "Dead-letter target does not exist.")
        if target.fifo != queue.fifo:
            raise InvalidParameterValue(f"Value {policy} for parameter RedrivePolicy is invalid. Reason: "
                                        "Dead-letter queue must be same type of queue as the source..")
        allow = target.attributes.get("RedriveAllowPolicy")
        if allow:
            permission, sources = attrs.parse_redrive_allow_policy(allow)
            if permission == "denyAll" or (permission == "byQueue" and queue.arn not in sources):
                raise InvalidParameterValue(f"Value {policy} for parameter RedrivePolicy is invalid. Reason: "
                                            f"Queue {target_arn} does not allow {queue.arn} to use it as its "
                                            "dead-letter queue (RedriveAllowPolicy).")

    @operation("GetQueueUrl")
    def get_queue_url(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("QueueName")
        if not name:
            raise MissingParameter("The request must contain the parameter QueueName.")
        account = str(params.get("QueueOwnerAWSAccountId") or ctx.account_id)
        queue = self.store.get(account, ctx.region, str(name))
        if queue is None:
            raise QueueDoesNotExist()
        return {"QueueUrl": self.queue_url(ctx, queue)}

    @operation("ListQueues")
    def list_queues(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        prefix = str(params.get("QueueNamePrefix") or "")
        queues = {q.name: q for q in self.store.queues_of(ctx.account_id, ctx.region) if q.name.startswith(prefix)}
        page, token = _page(sorted(queues), params)
        out: dict[str, Any] = {}
        if page:
            out["QueueUrls"] = [self.queue_url(ctx, queues[name]) for name in page]
        if token:
            out["NextToken"] = token
        return out

    @operation("DeleteQueue")
    def delete_queue(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_for(ctx, params)
        self.store.remove_queue(queue)
        # parked long polls return (empty) instead of waiting on a queue that is gone
        self.waiters.wake_all(queue.key)
        return {}

    @operation("PurgeQueue")
    def purge_queue(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_for(ctx, params)
        now = ctx.clock.now()
        if queue.last_purge is not None and now - queue.last_purge < PURGE_INTERVAL:
            raise PurgeQueueInProgress(f"Only one PurgeQueue operation on {queue.name} is allowed every "
                                       "60 seconds.")
        self.store.purge(queue, now)
        return {}

    # -- attributes -----------------------------------------------------------------------------
    @operation("GetQueueAttributes")
    def get_queue_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_for(ctx, params)
        names = params.get("AttributeNames") or []
        for name in names:
            if name != "All" and name not in attrs.ALL_NAMES:
                raise InvalidAttributeName(f"Unknown Attribute {name}.")
        if not names:
            return {}
        values = self.attribute_values(queue, ctx.clock.now())
        wanted = attrs.ALL_NAMES if "All" in names else names
        selected = {name: values[name] for name in wanted if name in values}
        return {"Attributes": selected} if selected else {}

    def attribute_values(self, queue: Queue, now: float) -> dict[str, str]:
        self.store.expire(queue, now)
        visible, in_flight, delayed = queue.counts(now)
        values = {key: value for key, value in queue.attributes.items() if value != ""}
        if "KmsMasterKeyId" in values:
            values.setdefault("KmsDataKeyReusePeriodSeconds", "300")
        values.update({
            "QueueArn": queue.arn,
            "ApproximateNumberOfMessages": str(visible),
            "ApproximateNumberOfMessagesNotVisible": str(in_flight),
            "ApproximateNumberOfMessagesDelayed": str(delayed),
            "CreatedTimestamp": str(int(queue.created)),
            "LastModifiedTimestamp": str(int(queue.modified)),
        })
        return values

    def queue_attributes(self, queue_arn: str) -> dict[str, str]:
        """GetQueueAttributes(All) for in-process callers (an event source mapping checks the queue's type and
        visibility timeout). Raises QueueDoesNotExist."""
        queue = self.store.by_arn(queue_arn)
        if queue is None:
            raise QueueDoesNotExist()
        return self.attribute_values(queue, self.clock.now())

    @operation("SetQueueAttributes")
    def set_queue_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_for(ctx, params)
        changes = attrs.normalize(params.get("Attributes") or {}, queue.fifo, creating=False)
        merged = {**queue.attributes, **changes}
        for key in _CLEARABLE:
            if merged.get(key) == "":
                del merged[key]
        attrs.check_combination(merged)
        self._check_redrive(queue, merged)
        queue.attributes = merged
        queue.modified = ctx.clock.now()
        self.store.save_queue(queue)
        return {}

    # -- tags -------------------------------------------------------------------------------------
    @staticmethod
    def _tags(current: dict[str, str], new: Any) -> dict[str, str]:
        if not new:
            return dict(current)
        if not isinstance(new, dict):
            raise InvalidParameterValue("Tags must be a map.")
        out = dict(current)
        for key, value in new.items():
            key, value = str(key), str(value)
            # Quotas related to queues: keys up to 128 characters, values up to 256, 50 tags per queue
            if not 1 <= len(key) <= 128 or len(value) > 256 or key.lower().startswith("aws:"):
                raise InvalidParameterValue(f"Tag {key} is invalid: keys are 1 to 128 characters, values up to 256, "
                                            "and the aws: prefix is reserved.")
            out[key] = value
        if len(out) > MAX_TAGS:
            raise InvalidParameterValue("Too many tags added for queue.")
        return out

    @operation("TagQueue")
    def tag_queue(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_for(ctx, params)
        if not params.get("Tags"):
            raise MissingParameter("The request must contain the parameter Tags.")
        queue.tags = self._tags(queue.tags, params.get("Tags"))
        self.store.save_queue(queue)
        return {}

    @operation("UntagQueue")
    def untag_queue(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_for(ctx, params)
        keys = params.get("TagKeys")
        if not keys:
            raise MissingParameter("The request must contain the parameter TagKeys.")
        for key in keys:
            queue.tags.pop(str(key), None)
        self.store.save_queue(queue)
        return {}

    @operation("ListQueueTags")
    def list_queue_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_for(ctx, params)
        return {"Tags": dict(queue.tags)} if queue.tags else {}

    @operation("ListDeadLetterSourceQueues")
    def list_dead_letter_source_queues(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_for(ctx, params)
        sources = {q.name: q for q in self.store.queues_of(queue.account, queue.region)
                   if q.redrive_target == queue.arn}
        page, token = _page(sorted(sources), params)
        out: dict[str, Any] = {"queueUrls": [self.queue_url(ctx, sources[name]) for name in page]}
        if token:
            out["NextToken"] = token
        return out
