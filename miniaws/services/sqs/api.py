"""The SQS service: queue, message and move-task operations composed into one Service (split by resource), plus
the peek endpoint (`GET /_miniaws/sqs/<account>/<queue>/messages`) that shows a queue without consuming it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from miniaws.services.sqs.api_messages import MessageOperations, receipt_handle, system_attribute_values
from miniaws.services.sqs.api_moves import MoveTaskOperations
from miniaws.services.sqs.api_queues import QueueOperations
from miniaws.services.sqs.models import Queue


class SqsService(QueueOperations, MessageOperations, MoveTaskOperations):
    """SQS as SDKs see it (AWS JSON 1.0, `X-Amz-Target: AmazonSQS.*`) on the one AWS endpoint."""

    def internal(self, method: str, path: str, query: Mapping[str, str],
                 headers: Mapping[str, str]) -> tuple[int, Any]:
        """`<account>/<queue>/messages[?region=]`: every live message and its state, nothing received or changed."""
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[2] != "messages":
            return 404, {"message": "use /_miniaws/sqs/<account>/<queue>/messages"}
        if method not in ("GET", "HEAD"):
            return 405, {"message": "use GET"}
        queue = self._peek_queue(parts[0], parts[1], query.get("region"))
        if queue is None:
            return 404, {"message": f"no queue {parts[1]} in account {parts[0]}"}
        now = self.clock.now()
        self.store.expire(queue, now)
        messages = []
        for message in queue.messages.values():
            state = "visible" if message.visible_at <= now else "inflight" if message.receive_count else "delayed"
            entry: dict[str, Any] = {
                "MessageId": message.message_id, "Body": message.body, "MD5OfBody": message.md5_body,
                "State": state, "VisibleAt": int(message.visible_at * 1000),
                "Attributes": system_attribute_values(message, queue.fifo),
            }
            if message.attributes:
                entry["MessageAttributes"] = message.attributes
                entry["MD5OfMessageAttributes"] = message.md5_attributes
            if state == "inflight":
                entry["ReceiptHandle"] = receipt_handle(queue, message)
            messages.append(entry)
        return 200, {"QueueArn": queue.arn, "QueueUrl": self.queue_url(headers.get("Host"), queue), "Messages": messages}

    def _peek_queue(self, account: str, name: str, region: str | None) -> Queue | None:
        queue = self.store.get(account, region or self.config.region, name)
        if queue is None and region is None:
            queue = next((q for q in self.store.queues.values() if q.account == account and q.name == name), None)
        return queue
