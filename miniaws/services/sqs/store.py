"""The SQS store: every queue, every message state change, and their journal records. Synchronous, no I/O.

A message is two records: the immutable message (`sqs.message`) written once when it is sent, and its small
receive state (`sqs.state`: visibility, receive count, receipt nonce) rewritten on every receive or visibility
change. Deleting a message deletes both, so a deleted message can never come back after a restart.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import orjson

from miniaws.core.ids import hex_id
from miniaws.services.sqs.models import Message, MoveTask, Queue
from miniaws.state.journal import Journal

NS_QUEUE = "sqs.queue"
NS_MESSAGE = "sqs.message"
NS_STATE = "sqs.state"
NS_DEDUP = "sqs.dedup"
NS_MOVE = "sqs.move"

#: FIFO deduplication and ReceiveRequestAttemptId both last five minutes (SendMessage/ReceiveMessage references)
DEDUP_INTERVAL = 300.0
ATTEMPT_INTERVAL = 300.0

#: called with (queue, when) whenever a message of `queue` may become receivable at `when` (long polls wait on it)
Signal = Callable[[Queue, float], None]


def _no_signal(queue: Queue, when: float) -> None:
    return None


class SqsStore:
    def __init__(self, journal: Journal, signal: Signal = _no_signal) -> None:
        self.journal = journal
        self.signal = signal
        self.queues: dict[str, Queue] = {}
        #: the same queues by ARN (in-process senders such as SNS name queues by ARN on every delivery)
        self.arns: dict[str, Queue] = {}
        self.tasks: dict[str, MoveTask] = {}

    # -- queues ---------------------------------------------------------------------------------
    def get(self, account: str, region: str, name: str) -> Queue | None:
        return self.queues.get(f"{account}/{region}/{name}")

    def by_arn(self, arn: str) -> Queue | None:
        return self.arns.get(arn)

    def queues_of(self, account: str, region: str) -> list[Queue]:
        prefix = f"{account}/{region}/"
        return [queue for key, queue in self.queues.items() if key.startswith(prefix)]

    def save_queue(self, queue: Queue) -> None:
        queue.configure()
        self.queues[queue.key] = queue
        self.arns[queue.arn] = queue
        self.journal.put(NS_QUEUE, queue.key, orjson.dumps(queue.record()))

    def remove_queue(self, queue: Queue) -> None:
        for message in list(queue.messages.values()):
            self._forget(queue, message)
        for dedup_key in queue.dedup:
            self.journal.delete(NS_DEDUP, f"{queue.key}/{dedup_key}")
        queue.clear()
        queue.dedup.clear()
        self.queues.pop(queue.key, None)
        self.arns.pop(queue.arn, None)
        self.journal.delete(NS_QUEUE, queue.key)

    def purge(self, queue: Queue, now: float) -> None:
        for message in list(queue.messages.values()):
            self._forget(queue, message)
        queue.clear()
        queue.last_purge = now
        self.save_queue(queue)

    # -- sending ----------------------------------------------------------------------------------
    def duplicate_of(self, queue: Queue, dedup_key: str, now: float) -> tuple[str, int] | None:
        """(message id, seq) of the message a FIFO send within the deduplication interval would duplicate."""
        self._prune_dedup(queue, now)
        hit = queue.dedup.get(dedup_key)
        return (hit[1], hit[2]) if hit is not None else None

    def send(self, queue: Queue, message: Message, now: float, dedup_key: str | None = None) -> Message:
        message.seq = queue.next_seq(now)
        queue.place(message, now)
        self.journal.put(NS_MESSAGE, f"{queue.key}/{message.message_id}", orjson.dumps(message.record()))
        if dedup_key is not None:
            entry = (now + DEDUP_INTERVAL, message.message_id, message.seq)
            queue.dedup[dedup_key] = entry
            self.journal.put(NS_DEDUP, f"{queue.key}/{dedup_key}", orjson.dumps(entry))
        self.signal(queue, message.visible_at)
        return message

    def _prune_dedup(self, queue: Queue, now: float) -> None:
        dedup = queue.dedup
        while dedup:
            key = next(iter(dedup))
            if dedup[key][0] > now:
                break
            del dedup[key]
            self.journal.delete(NS_DEDUP, f"{queue.key}/{key}")

    # -- receiving --------------------------------------------------------------------------------
    def receive(self, queue: Queue, now: float, limit: int, visibility: int,
                attempt_id: str | None = None) -> list[Message]:
        """Up to `limit` messages, now in flight for `visibility` seconds; dead-letters what exceeded its count."""
        if attempt_id is not None:
            repeated = self._repeat_attempt(queue, attempt_id, now, visibility)
            if repeated is not None:
                return repeated
        out: list[Message] = []
        dead_letter = self.by_arn(queue.redrive_target) if queue.redrive_target else None
        for message in queue.available(now):
            if message.enqueued_at + queue.retention <= now:
                self._forget(queue, message)
                continue
            if dead_letter is not None and message.receive_count >= queue.max_receive_count:
                # "When the ReceiveCount for a message exceeds the maxReceiveCount for a queue, Amazon SQS moves
                # the message to the dead-letter-queue" (CreateQueue reference, RedrivePolicy)
                self.move(queue, message, dead_letter, now, dead_letter=True)
                continue
            self._deliver(queue, message, now, visibility)
            out.append(message)
            if len(out) >= limit:
                break
        if attempt_id is not None and out:
            queue.attempts[attempt_id] = (now + ATTEMPT_INTERVAL, [(m, m.nonce) for m in out])
        return out

    def _repeat_attempt(self, queue: Queue, attempt_id: str, now: float, visibility: int) -> list[Message] | None:
        """A retried FIFO receive gets the same messages and receipt handles while none of them was modified."""
        for key in [k for k, (expires, _) in queue.attempts.items() if expires <= now]:
            del queue.attempts[key]
        entry = queue.attempts.get(attempt_id)
        if entry is None:
            return None
        messages = entry[1]
        if any(m.deleted or m.nonce != nonce or not m.in_flight(now) for m, nonce in messages):
            del queue.attempts[attempt_id]
            return None
        for message, _ in messages:
            # "If a retry occurs within the deduplication interval, it resets the visibility timeout"
            self._set_visibility(queue, message, now + visibility)
        return [m for m, _ in messages]

    def _deliver(self, queue: Queue, message: Message, now: float, visibility: int) -> None:
        message.receive_count += 1
        if message.first_receive_at is None:
            message.first_receive_at = now
        message.received_at = now
        message.nonce = hex_id(6)
        self._set_visibility(queue, message, now + visibility)

    def _set_visibility(self, queue: Queue, message: Message, visible_at: float) -> None:
        message.visible_at = visible_at
        message.version += 1
        queue.requeue(message)
        self.journal.put(NS_STATE, f"{queue.key}/{message.message_id}", orjson.dumps(message.state_record()))
        self.signal(queue, visible_at)

    def change_visibility(self, queue: Queue, message: Message, now: float, timeout: int) -> None:
        self._set_visibility(queue, message, now + timeout)

    def delete(self, queue: Queue, message: Message, now: float) -> None:
        self._forget(queue, message)
        if queue.fifo:
            # the group's lock may have ended with this message
            self.signal(queue, now)

    def _forget(self, queue: Queue, message: Message) -> None:
        key = f"{queue.key}/{message.message_id}"
        self.journal.delete(NS_MESSAGE, key)
        if message.receive_count:
            self.journal.delete(NS_STATE, key)
        queue.forget(message)

    def expire(self, queue: Queue, now: float) -> None:
        """Drop messages older than the retention period (also done lazily as receives reach them)."""
        cutoff = now - queue.retention
        for message in [m for m in queue.messages.values() if m.enqueued_at <= cutoff]:
            self._forget(queue, message)

    def move(self, source: Queue, message: Message, target: Queue, now: float, dead_letter: bool) -> Message:
        """Move a message to another queue: a dead-letter move (keeps its receive history) or a redrive back."""
        self._forget(source, message)
        copy = Message(message.message_id, message.body, message.md5_body, message.attributes,
                       message.md5_attributes, message.system, message.md5_system, message.sent_at,
                       # the retention clock keeps running for standard queues and restarts for FIFO
                       # (SQS Developer Guide, "Using dead-letter queues")
                       now if target.fifo else message.enqueued_at, message.sender_id, 0, message.size,
                       message.group_id if target.fifo else None, message.dedup_id if target.fifo else None,
                       source.arn if dead_letter else None, visible_at=now)
        if dead_letter:
            copy.receive_count = message.receive_count
            copy.first_receive_at = message.first_receive_at
        if target.fifo and copy.group_id is None:
            copy.group_id = message.message_id
        return self.send(target, copy, now)

    # -- message move tasks -------------------------------------------------------------------------
    def save_task(self, task: MoveTask) -> None:
        self.tasks[task.task_id] = task
        self.journal.put(NS_MOVE, task.task_id, orjson.dumps(task.record()))

    def movable(self, queue: Queue, now: float, limit: int) -> list[Message]:
        out: list[Message] = []
        for message in queue.messages.values():
            if message.visible_at <= now:
                out.append(message)
                if len(out) >= limit:
                    break
        return out

    # -- persistence ------------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]], now: float) -> None:
        for _, value in rows.get(NS_QUEUE, ()):
            queue = Queue.from_record(orjson.loads(value))
            queue.configure()
            self.queues[queue.key] = queue
            self.arns[queue.arn] = queue
        states = {key: orjson.loads(value) for key, value in rows.get(NS_STATE, ())}
        per_queue: dict[str, list[Message]] = {}
        for key, value in rows.get(NS_MESSAGE, ()):
            queue_key = key.rsplit("/", 1)[0]
            if queue_key not in self.queues:
                self.journal.delete(NS_MESSAGE, key)
                continue
            message = Message.from_record(orjson.loads(value))
            state = states.pop(key, None)
            if state is not None:
                message.apply_state(state)
            per_queue.setdefault(queue_key, []).append(message)
        for key in states:  # states whose message is gone
            self.journal.delete(NS_STATE, key)
        for queue_key, messages in per_queue.items():
            queue = self.queues[queue_key]
            messages.sort(key=lambda m: m.seq)
            for message in messages:
                if message.enqueued_at + queue.retention <= now:
                    self._forget(queue, message)
                    continue
                queue.place(message, now)
                queue.last_seq = max(queue.last_seq, message.seq)
        for key, value in rows.get(NS_DEDUP, ()):
            account, region, name, dedup_key = key.split("/", 3)
            owner = self.get(account, region, name)
            expires, message_id, seq = orjson.loads(value)
            if owner is None or expires <= now:
                self.journal.delete(NS_DEDUP, key)
            else:
                owner.dedup[dedup_key] = (expires, message_id, seq)
        for queue in self.queues.values():
            queue.dedup = dict(sorted(queue.dedup.items(), key=lambda item: item[1][0]))
        for _, value in rows.get(NS_MOVE, ()):
            task = MoveTask.from_record(orjson.loads(value))
            self.tasks[task.task_id] = task

    def reset(self) -> None:
        for queue in self.queues.values():
            queue.clear()
        self.queues.clear()
        self.arns.clear()
        self.tasks.clear()

    def all_messages(self) -> Iterable[tuple[Queue, Message]]:
        for queue in self.queues.values():
            for message in queue.messages.values():
                yield queue, message
