"""SQS message operations: send, receive (with event-driven long polling), delete and visibility, single and batch."""
from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from miniaws.core.context import RequestContext
from miniaws.core.ids import request_id
from miniaws.services.base import operation
from miniaws.services.sqs.api_common import SqsBase
from miniaws.services.sqs.attributes import MAX_MESSAGE_SIZE
from miniaws.services.sqs.errors import (BatchRequestTooLong, InvalidParameterValue, MessageNotInflight,
                                         MissingParameter, QueueDoesNotExist, ReceiptHandleIsInvalid, SqsError)
from miniaws.services.sqs.md5 import md5_of_attributes, md5_of_body
from miniaws.services.sqs.models import Message, Queue
from miniaws.services.sqs.validation import (MAX_DELAY_SECONDS, MAX_VISIBILITY_TIMEOUT, MAX_WAIT_SECONDS,
                                             batch_entries, check_body, check_token, integer, message_attributes,
                                             system_attributes)

_SYSTEM_NAMES = ("SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp",
                 "SequenceNumber", "MessageDeduplicationId", "MessageGroupId", "AWSTraceHeader",
                 "DeadLetterQueueSourceArn")
_NOT_FOR_QUEUE_TYPE = "The request include parameter that is not valid for this queue type."
_DELAY_REASON = f"DelaySeconds must be >= 0 and <= {MAX_DELAY_SECONDS}"
_LIMIT_REASON = "Must be between 1 and 10, if provided."
_VISIBILITY_REASON = f"Must be >= 0 and <= {MAX_VISIBILITY_TIMEOUT}, if provided."
_WAIT_REASON = f"Must be >= 0 and <= {MAX_WAIT_SECONDS}, if provided."


def receipt_handle(queue: Queue, message: Message) -> str:
    return binascii.b2a_base64(f"{queue.key}\x1f{message.message_id}\x1f{message.nonce}".encode(),
                               newline=False).decode()


def _millis(epoch: float | None) -> str:
    return str(int((epoch or 0.0) * 1000))


def system_attribute_values(message: Message, fifo: bool) -> dict[str, str]:
    out = {
        "SenderId": message.sender_id,
        "SentTimestamp": _millis(message.sent_at),
        "ApproximateReceiveCount": str(message.receive_count),
    }
    if message.first_receive_at is not None:
        out["ApproximateFirstReceiveTimestamp"] = _millis(message.first_receive_at)
    if fifo:
        out["SequenceNumber"] = f"{message.seq:020d}"
        if message.dedup_id is not None:
            out["MessageDeduplicationId"] = message.dedup_id
    if message.group_id is not None:
        out["MessageGroupId"] = message.group_id
    trace = message.system.get("AWSTraceHeader")
    if trace is not None:
        out["AWSTraceHeader"] = str(trace.get("StringValue", ""))
    if message.dlq_source_arn is not None:
        out["DeadLetterQueueSourceArn"] = message.dlq_source_arn
    return out


def _system_names(names: Any, system_names: Any) -> tuple[str, ...]:
    """The system attributes a receive asked for (AttributeNames and MessageSystemAttributeNames), in AWS's order."""
    if not names and not system_names:
        return ()
    wanted = set(names or ()) | set(system_names or ())
    return _SYSTEM_NAMES if "All" in wanted else tuple(n for n in _SYSTEM_NAMES if n in wanted)


def _attribute_filter(names: list[str]) -> Callable[[str], bool] | None:
    """ReceiveMessage MessageAttributeNames: exact names, `All` / `.*`, or prefixes such as `bar.*`."""
    if not names:
        return None
    if "All" in names or ".*" in names:
        return lambda name: True
    exact = {n for n in names if not n.endswith(".*")}
    prefixes = tuple(n[:-1] for n in names if n.endswith(".*"))
    return lambda name: name in exact or (bool(prefixes) and name.startswith(prefixes))


class MessageOperations(SqsBase):
    # -- sending --------------------------------------------------------------------------------
    def send_entry(self, queue: Queue, entry: Mapping[str, Any], now: float, sender_id: str) -> dict[str, Any]:
        """Validate and enqueue one message (SendMessage or a SendMessageBatch entry); its result entry."""
        get = entry.get
        encoded = check_body(get("MessageBody"))
        body: str = entry["MessageBody"]  # a str, or check_body would have refused it
        attributes, attributes_size = message_attributes(get("MessageAttributes"))
        system = system_attributes(get("MessageSystemAttributes"))
        # the body and the message attributes count towards MaximumMessageSize; system attributes do not
        size = len(encoded) + attributes_size
        if size > queue.max_size:
            raise InvalidParameterValue("One or more parameters are invalid. Reason: Message must be shorter than "
                                        f"{queue.max_size} bytes.")
        group = get("MessageGroupId")
        dedup = get("MessageDeduplicationId")
        dedup_key: str | None = None
        md5_body = md5_of_body(encoded)
        md5_attributes = md5_of_attributes(attributes) if attributes else None
        md5_system = md5_of_attributes(system) if system else None
        if queue.fifo:
            if get("DelaySeconds"):
                raise InvalidParameterValue(f"Value {entry['DelaySeconds']} for parameter DelaySeconds is invalid. "
                                            f"Reason: {_NOT_FOR_QUEUE_TYPE}")
            if not group:
                raise MissingParameter("The request must contain the parameter MessageGroupId.")
            group = check_token("MessageGroupId", group)
            if dedup is None:
                if not queue.content_dedup:
                    raise InvalidParameterValue("The queue should either have ContentBasedDeduplication enabled or "
                                                "MessageDeduplicationId provided explicitly")
                # "Amazon SQS uses a SHA-256 hash to generate the MessageDeduplicationId using the body"
                dedup = hashlib.sha256(encoded).hexdigest()
            dedup = check_token("MessageDeduplicationId", dedup)
            dedup_key = f"{group}\x1f{dedup}" if queue.dedup_per_group else dedup
            duplicate = self.store.duplicate_of(queue, dedup_key, now)
            if duplicate is not None:
                # accepted, but not delivered again within the deduplication interval
                return _sent(duplicate[0], md5_body, md5_attributes, md5_system, duplicate[1], fifo=True)
            delay = queue.delay_seconds
        else:
            if dedup is not None:
                raise InvalidParameterValue(f"Value {dedup} for parameter MessageDeduplicationId is invalid. "
                                            f"Reason: {_NOT_FOR_QUEUE_TYPE}")
            if group is not None:
                # standard queues take a MessageGroupId for fair queues (SendMessage reference)
                group = check_token("MessageGroupId", group)
            given = None if get("DelaySeconds") is None else integer(entry, "DelaySeconds", 0, MAX_DELAY_SECONDS,
                                                                      _DELAY_REASON)
            delay = queue.delay_seconds if given is None else given
        message = Message(request_id(), body, md5_body, attributes, md5_attributes, system, md5_system, now, now,
                          sender_id, 0, size, group, dedup, None, now + delay)
        self.store.send(queue, message, now, dedup_key)
        return _sent(message.message_id, md5_body, md5_attributes, md5_system, message.seq, queue.fifo)

    def send_to_queue(self, queue_arn: str, body: str, *, attributes: Mapping[str, Any] | None = None,
                      group_id: str | None = None, dedup_id: str | None = None,
                      sender_id: str = "AIDAMINIAWSINTERNAL00") -> dict[str, Any]:
        """SendMessage for in-process producers (SNS delivery, event sources): a method call, no HTTP hop.

        Binary attribute values are base64 text, as on the JSON wire. Raises the errors SendMessage would.
        """
        queue = self.store.by_arn(queue_arn)
        if queue is None:
            raise QueueDoesNotExist()
        entry: dict[str, Any] = {"MessageBody": body}
        if attributes:
            entry["MessageAttributes"] = attributes
        if group_id is not None:
            entry["MessageGroupId"] = group_id
        if dedup_id is not None:
            entry["MessageDeduplicationId"] = dedup_id
        return self.send_entry(queue, entry, self.clock.now(), sender_id)

    @operation("SendMessage")
    def send_message(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html"""
        queue = self.queue_for(ctx, params)
        return self.send_entry(queue, params, ctx.clock.now(), self.sender_id(ctx))

    @operation("SendMessageBatch")
    def send_message_batch(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_for(ctx, params)
        entries = batch_entries(params.get("Entries"), "SendMessageBatchRequestEntry")
        total = sum(_entry_size(entry) for entry in entries)
        if total > MAX_MESSAGE_SIZE:
            raise BatchRequestTooLong(f"Batch requests cannot be longer than {MAX_MESSAGE_SIZE} bytes. You have "
                                      f"sent {total} bytes.")
        now, sender = ctx.clock.now(), self.sender_id(ctx)
        successful, failed = [], []
        for entry in entries:
            try:
                result = self.send_entry(queue, entry, now, sender)
            except SqsError as err:
                failed.append(_failure(entry["Id"], err))
            else:
                successful.append({"Id": entry["Id"], **result})
        return {"Successful": successful, "Failed": failed}

    # -- receiving ------------------------------------------------------------------------------
    @operation("ReceiveMessage")
    async def receive_message(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html"""
        queue = self.queue_for(ctx, params)
        limit = integer(params, "MaxNumberOfMessages", 1, 10, _LIMIT_REASON) or 1
        visibility = integer(params, "VisibilityTimeout", 0, MAX_VISIBILITY_TIMEOUT, _VISIBILITY_REASON)
        wait = integer(params, "WaitTimeSeconds", 0, MAX_WAIT_SECONDS, _WAIT_REASON)
        attempt = params.get("ReceiveRequestAttemptId")
        # the attempt id only means something to FIFO queues; standard queues ignore it
        attempt_id = check_token("ReceiveRequestAttemptId", attempt) if attempt and queue.fifo else None
        system_names = _system_names(params.get("AttributeNames"), params.get("MessageSystemAttributeNames"))
        attribute_filter = _attribute_filter(list(params.get("MessageAttributeNames") or ()))
        seconds = queue.wait_seconds if wait is None else wait
        if not queue.fifo:
            # A standard queue answers a receive without waiting for the journal: the message may be handed out
            # while the commit of its send (or of this receive's visibility change) is still in flight. A crash in
            # that window can only cause a duplicate — the message comes back visible, or its unacknowledged sender
            # retries it — and standard queues promise at-least-once delivery: "occasionally more than one copy of
            # a message is delivered" (SQS Developer Guide, "Amazon SQS standard queues"; "you might get that
            # message copy again"). FIFO queues promise exactly-once processing, so their receives still wait.
            ctx.acknowledges_writes = False
        messages = await self._receive_waiting(queue, limit, visibility, seconds, attempt_id)
        if not messages:
            return {}
        raw_binary = self.speaks_query(ctx)
        return {"Messages": [self._render(queue, m, system_names, attribute_filter, raw_binary) for m in messages]}

    async def _receive_waiting(self, queue: Queue, limit: int, visibility: int | None, seconds: float,
                               attempt_id: str | None = None) -> list[Message]:
        """Receive, long-polling up to `seconds` (of the injected clock) for the first message; [] on timeout or
        when the queue is deleted meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.waiters.real_seconds(seconds)
        key = queue.key
        while True:
            timeout = queue.visibility_timeout if visibility is None else visibility
            messages = self.store.receive(queue, self.clock.now(), limit, timeout, attempt_id)
            remaining = deadline - loop.time()
            if messages or remaining <= 0:
                return messages
            # parked until a send, an expiring visibility timeout or delay, or a FIFO group unlock wakes us
            await self.waiters.wait(queue, remaining)
            current = self.store.queues.get(key)
            if current is not queue:
                return []

    # -- in-process consumers (Lambda event source mappings): method calls, no HTTP hop -----------
    async def receive_from_queue(self, queue_arn: str, limit: int, wait_seconds: float,
                                 visibility_timeout: int | None = None) -> list[dict[str, Any]]:
        """ReceiveMessage for in-process pollers: up to `limit` (at most 10) messages, long-polling up to
        `wait_seconds` for the first one (event-driven, like ReceiveMessage's WaitTimeSeconds, without its 20 s
        cap). Each comes in ReceiveMessage's wire shape with every system attribute and every message attribute
        (binary values as base64 text). [] when the wait ends empty or the queue is deleted meanwhile.
        Raises QueueDoesNotExist."""
        queue = self.store.by_arn(queue_arn)
        if queue is None:
            raise QueueDoesNotExist()
        limit = max(1, min(limit, 10))
        messages = await self._receive_waiting(queue, limit, visibility_timeout, wait_seconds)
        if messages and queue.fifo:
            # as for ReceiveMessage on a FIFO queue: its exactly-once processing needs the receive (the group lock
            # and the receive count) durable before a consumer acts on it
            await self.store.journal.durable()
        everything: Callable[[str], bool] = lambda name: True  # noqa: E731
        return [self._render(queue, m, _SYSTEM_NAMES, everything, False) for m in messages]

    def delete_from_queue(self, queue_arn: str, receipt_handles: list[str]) -> list[str]:
        """DeleteMessageBatch for in-process consumers; the receipt handles that could not be used (a FIFO
        message received again since). Raises QueueDoesNotExist."""
        queue = self.store.by_arn(queue_arn)
        if queue is None:
            raise QueueDoesNotExist()
        now = self.clock.now()
        failed = []
        for handle in receipt_handles:
            try:
                self._delete(queue, handle, now)
            except SqsError:
                failed.append(handle)
        return failed

    def change_visibility_in_queue(self, queue_arn: str, receipt_handle: str, timeout: int) -> None:
        """ChangeMessageVisibility for in-process consumers (0 hands a message back at once). Raises what
        ChangeMessageVisibility would (QueueDoesNotExist, MessageNotInflight, ...)."""
        queue = self.store.by_arn(queue_arn)
        if queue is None:
            raise QueueDoesNotExist()
        self._change_visibility(queue, receipt_handle, timeout, self.clock.now())

    @staticmethod
    def _render(queue: Queue, message: Message, system_names: tuple[str, ...],
                attribute_filter: Callable[[str], bool] | None, raw_binary: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"MessageId": message.message_id, "ReceiptHandle": receipt_handle(queue, message),
                               "MD5OfBody": message.md5_body, "Body": message.body}
        if system_names:
            values = system_attribute_values(message, queue.fifo)
            out["Attributes"] = {name: values[name] for name in system_names if name in values}
        if attribute_filter is not None and message.attributes:
            selected = {k: v for k, v in message.attributes.items() if attribute_filter(k)}
            if selected:
                out["MessageAttributes"] = _binary_as_bytes(selected) if raw_binary else selected
                # the digest covers the attributes returned, which is what SDKs verify it against
                out["MD5OfMessageAttributes"] = (message.md5_attributes if len(selected) == len(message.attributes)
                                                 else md5_of_attributes(selected))
        return out

    # -- receipt handles: delete and visibility -------------------------------------------------
    def _message_for(self, queue: Queue, handle: Any) -> tuple[Message | None, str]:
        """The message a receipt handle names (None once deleted) and the handle's nonce."""
        if not handle:
            raise MissingParameter("The request must contain the parameter ReceiptHandle.")
        try:
            queue_key, message_id, nonce = binascii.a2b_base64(str(handle).encode("ascii"),
                                                               strict_mode=True).decode().split("\x1f")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ReceiptHandleIsInvalid(f'The input receipt handle "{handle}" is not a valid receipt handle.') \
                from None
        if queue_key != queue.key:
            raise ReceiptHandleIsInvalid(f'The input receipt handle "{handle}" is not a valid for this queue.')
        return queue.messages.get(message_id), nonce

    def _delete(self, queue: Queue, handle: Any, now: float) -> None:
        message, nonce = self._message_for(queue, handle)
        if message is None:
            return  # already deleted: AWS answers success
        if queue.fifo and nonce != message.nonce:
            # FIFO: once the message was received again, an older receipt handle no longer deletes it
            raise ReceiptHandleIsInvalid("The receipt handle has expired.")
        self.store.delete(queue, message, now)

    def _change_visibility(self, queue: Queue, handle: Any, timeout: Any, now: float) -> None:
        if timeout is None:
            raise MissingParameter("The request must contain the parameter VisibilityTimeout.")
        seconds = integer({"VisibilityTimeout": timeout}, "VisibilityTimeout", 0, MAX_VISIBILITY_TIMEOUT,
                          f"VisibilityTimeout must be an integer between 0 and {MAX_VISIBILITY_TIMEOUT}")
        assert seconds is not None
        message, nonce = self._message_for(queue, handle)
        if message is None or nonce != message.nonce or not message.in_flight(now):
            raise MessageNotInflight()
        # the 12-hour maximum counts from the receive (ChangeMessageVisibility reference)
        if now + seconds - (message.received_at or now) > MAX_VISIBILITY_TIMEOUT:
            raise InvalidParameterValue(f"Value {seconds} for parameter VisibilityTimeout is invalid. Reason: Total "
                                        f"VisibilityTimeout for the message is beyond the limit "
                                        f"[{MAX_VISIBILITY_TIMEOUT} seconds]")
        self.store.change_visibility(queue, message, now, seconds)

    @operation("DeleteMessage")
    def delete_message(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_for(ctx, params)
        self._delete(queue, params.get("ReceiptHandle"), ctx.clock.now())
        return {}

    @operation("DeleteMessageBatch")
    def delete_message_batch(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_for(ctx, params)
        entries = batch_entries(params.get("Entries"), "DeleteMessageBatchRequestEntry")
        now = ctx.clock.now()
        successful, failed = [], []
        for entry in entries:
            try:
                self._delete(queue, entry.get("ReceiptHandle"), now)
            except SqsError as err:
                failed.append(_failure(entry["Id"], err))
            else:
                successful.append({"Id": entry["Id"]})
        return {"Successful": successful, "Failed": failed}

    @operation("ChangeMessageVisibility")
    def change_message_visibility(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_for(ctx, params)
        self._change_visibility(queue, params.get("ReceiptHandle"), params.get("VisibilityTimeout"),
                                ctx.clock.now())
        return {}

    @operation("ChangeMessageVisibilityBatch")
    def change_message_visibility_batch(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_for(ctx, params)
        entries = batch_entries(params.get("Entries"), "ChangeMessageVisibilityBatchRequestEntry")
        now = ctx.clock.now()
        successful, failed = [], []
        for entry in entries:
            try:
                self._change_visibility(queue, entry.get("ReceiptHandle"), entry.get("VisibilityTimeout"), now)
            except SqsError as err:
                failed.append(_failure(entry["Id"], err))
            else:
                successful.append({"Id": entry["Id"]})
        return {"Successful": successful, "Failed": failed}


def _sent(message_id: str, md5_body: str, md5_attributes: str | None, md5_system: str | None, seq: int,
          fifo: bool) -> dict[str, Any]:
    """A send's result entry: the digests of what was stored (absent ones left out) and a FIFO SequenceNumber."""
    out: dict[str, Any] = {"MessageId": message_id, "MD5OfMessageBody": md5_body}
    if md5_attributes is not None:
        out["MD5OfMessageAttributes"] = md5_attributes
    if md5_system is not None:
        out["MD5OfMessageSystemAttributes"] = md5_system
    if fifo:
        out["SequenceNumber"] = f"{seq:020d}"
    return out


def _binary_as_bytes(attributes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Stored binary values are base64 text (the JSON wire form); the query codec wants the bytes."""
    return {name: ({**value, "BinaryValue": base64.b64decode(value["BinaryValue"])} if "BinaryValue" in value
                   else value) for name, value in attributes.items()}


def _failure(entry_id: str, err: SqsError) -> dict[str, Any]:
    return {"Id": entry_id, "SenderFault": err.sender_fault, "Code": err.query_code, "Message": err.message}


def _entry_size(entry: Mapping[str, Any]) -> int:
    """What a batch entry adds to the request's total (body and message attributes), before validation."""
    body = entry.get("MessageBody")
    size = len(body.encode("utf-8")) if isinstance(body, str) else 0
    for name, value in (entry.get("MessageAttributes") or {}).items():
        if not isinstance(value, Mapping):
            continue
        size += len(str(name).encode()) + len(str(value.get("DataType", "")).encode())
        if value.get("StringValue") is not None:
            size += len(str(value["StringValue"]).encode())
        elif isinstance(value.get("BinaryValue"), str):
            size += len(value["BinaryValue"]) * 3 // 4
    return size
