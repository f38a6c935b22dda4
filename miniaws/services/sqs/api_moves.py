"""Dead-letter redrive: StartMessageMoveTask / ListMessageMoveTasks / CancelMessageMoveTask.

A task moves the messages that were visible in a dead-letter queue when it started back to the queues they came
from (or to DestinationArn), at MaxNumberOfMessagesPerSecond when given, as loop timer steps (no sleeping task).
Tasks are journaled, so a running task resumes after a restart.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import uuid
from typing import Any

import orjson

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.sqs.api_common import SqsBase
from miniaws.services.sqs.errors import InvalidParameterValue, MissingParameter, ResourceNotFoundException
from miniaws.services.sqs.models import MoveTask
from miniaws.services.sqs.validation import integer

#: the most messages a task moves per second, and per step when no rate is given (StartMessageMoveTask reference)
MAX_RATE = 500


def _handle(task: MoveTask) -> str:
    return base64.b64encode(orjson.dumps({"taskId": task.task_id, "sourceArn": task.source_arn})).decode()


class MoveTaskOperations(SqsBase):
    async def start(self) -> None:
        for task in self.store.tasks.values():
            if task.status == "RUNNING":
                self._schedule(task, 0.0)

    async def stop(self) -> None:
        await super().stop()
        for handle in self.move_timers.values():
            handle.cancel()
        self.move_timers.clear()

    @operation("StartMessageMoveTask")
    def start_message_move_task(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        source_arn = params.get("SourceArn")
        if not source_arn:
            raise MissingParameter("The request must contain the parameter SourceArn.")
        source = self.store.by_arn(str(source_arn))
        if source is None:
            raise ResourceNotFoundException("The resource that you specified for the SourceArn parameter doesn't "
                                            "exist.")
        if not any(q.redrive_target == source.arn for q in self.store.queues.values()):
            raise InvalidParameterValue("Source queue must be configured as a Dead Letter Queue.")
        destination_arn = params.get("DestinationArn") or None
        if destination_arn is not None and self.store.by_arn(str(destination_arn)) is None:
            raise ResourceNotFoundException("The resource that you specified for the DestinationArn parameter "
                                            "doesn't exist.")
        rate = integer(params, "MaxNumberOfMessagesPerSecond", 1, MAX_RATE, f"Must be between 1 and {MAX_RATE}.")
        if any(t.source_arn == source.arn and t.status == "RUNNING" for t in self.store.tasks.values()):
            raise InvalidParameterValue("There is already a task running. Only one active task is allowed for a "
                                        "source queue arn at a given time.")
        now = ctx.clock.now()
        visible, _, _ = source.counts(now)
        task = MoveTask(str(uuid.uuid4()), source.arn, destination_arn, rate, now, visible)
        self.store.save_task(task)
        self._schedule(task, 0.0)
        return {"TaskHandle": _handle(task)}

    @operation("ListMessageMoveTasks")
    def list_message_move_tasks(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        source_arn = params.get("SourceArn")
        if not source_arn:
            raise MissingParameter("The request must contain the parameter SourceArn.")
        if self.store.by_arn(str(source_arn)) is None:
            raise ResourceNotFoundException("The resource that you specified for the SourceArn parameter doesn't "
                                            "exist.")
        limit = integer(params, "MaxResults", 1, 10, "Must be between 1 and 10.") or 1
        tasks = sorted((t for t in self.store.tasks.values() if t.source_arn == source_arn),
                       key=lambda t: t.started_at, reverse=True)[:limit]
        return {"Results": [self._entry(t) for t in tasks]}

    @staticmethod
    def _entry(task: MoveTask) -> dict[str, Any]:
        out: dict[str, Any] = {"Status": task.status, "SourceArn": task.source_arn,
                               "ApproximateNumberOfMessagesMoved": task.moved,
                               "ApproximateNumberOfMessagesToMove": task.to_move,
                               "StartedTimestamp": int(task.started_at * 1000)}
        if task.status == "RUNNING":
            # only a running task can be cancelled, so only it shows its handle (ListMessageMoveTasks reference)
            out["TaskHandle"] = _handle(task)
        if task.destination_arn:
            out["DestinationArn"] = task.destination_arn
        if task.rate is not None:
            out["MaxNumberOfMessagesPerSecond"] = task.rate
        if task.failure:
            out["FailureReason"] = task.failure
        return out

    @operation("CancelMessageMoveTask")
    def cancel_message_move_task(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        handle = params.get("TaskHandle")
        if not handle:
            raise MissingParameter("The request must contain the parameter TaskHandle.")
        try:
            task_id = orjson.loads(base64.b64decode(str(handle), validate=True))["taskId"]
        except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            raise ResourceNotFoundException("Task does not exist.") from None
        task = self.store.tasks.get(str(task_id))
        if task is None:
            raise ResourceNotFoundException("Task does not exist.")
        if task.status != "RUNNING":
            raise InvalidParameterValue("Only active tasks can be cancelled.")
        task.status = "CANCELLED"
        self.store.save_task(task)
        timer = self.move_timers.pop(task.task_id, None)
        if timer is not None:
            timer.cancel()
        return {"ApproximateNumberOfMessagesMoved": task.moved}

    # -- running a task -------------------------------------------------------------------------
    def _schedule(self, task: MoveTask, delay: float) -> None:
        loop = asyncio.get_running_loop()
        self.move_timers[task.task_id] = loop.call_later(delay, self._step, task.task_id)

    def _step(self, task_id: str) -> None:
        self.move_timers.pop(task_id, None)
        task = self.store.tasks.get(task_id)
        if task is None or task.status != "RUNNING":
            return
        now = self.clock.now()
        source = self.store.by_arn(task.source_arn)
        if source is None:
            self._fail(task, "AWS.SimpleQueueService.NonExistentQueue")
            return
        batch = self.store.movable(source, now, min(task.to_move - task.moved, task.rate or MAX_RATE))
        for message in batch:
            target_arn = task.destination_arn or message.dlq_source_arn
            target = self.store.by_arn(target_arn) if target_arn else None
            if target is None:
                # a message sent to the DLQ directly has no source to go back to; a source may be gone
                self._fail(task, "AWS.SimpleQueueService.NonExistentQueue")
                return
            self.store.move(source, message, target, now, dead_letter=False)
            task.moved += 1
        if not batch or task.moved >= task.to_move:
            task.status = "COMPLETED"
        self.store.save_task(task)
        if task.status == "RUNNING":
            self._schedule(task, self.waiters.real_seconds(1.0) if task.rate else 0.0)

    def _fail(self, task: MoveTask, reason: str) -> None:
        task.status = "FAILED"
        task.failure = reason
        self.store.save_task(task)
