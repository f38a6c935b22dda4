"""SQS's data: queues and messages, and the order in which a queue hands its messages out. Synchronous, no I/O.

A message is *delayed* (never received, visible_at in the future), *in flight* (received, visible_at in the
future) or *visible*. Standard queues keep visible messages in a deque and the others in a heap keyed by the time
they become visible; FIFO queues keep one deque per MessageGroupId and hand out a group's messages only from its
head, and only while none of them is in flight (the group lock). Removal is lazy: a deleted message is flagged
and dropped from the structures when a scan reaches it.
"""
from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

#: ReceiveMessage returns at most 10 messages (MaxNumberOfMessages)
MAX_RECEIVE = 10


@dataclass(slots=True, eq=False)
class Message:
    message_id: str
    body: str
    md5_body: str
    #: message attributes in wire form: {"DataType": ..., "StringValue" | "BinaryValue" (base64): ...}
    attributes: dict[str, dict[str, Any]]
    md5_attributes: str | None
    #: message system attributes (AWSTraceHeader), same form
    system: dict[str, dict[str, Any]]
    md5_system: str | None
    sent_at: float
    #: the retention period counts from here (a standard DLQ keeps the original enqueue time, FIFO resets it)
    enqueued_at: float
    sender_id: str
    #: position in the queue; a FIFO queue's SequenceNumber
    seq: int
    size: int
    group_id: str | None = None
    dedup_id: str | None = None
    dlq_source_arn: str | None = None
    # -- what receives change (journaled as a separate, small record) --
    visible_at: float = 0.0
    receive_count: int = 0
    first_receive_at: float | None = None
    received_at: float | None = None
    #: identifies the latest receipt handle
    nonce: str = ""
    deleted: bool = False
    #: bumped on every state change; structure entries carrying an older version are stale
    version: int = 0

    def in_flight(self, now: float) -> bool:
        return self.receive_count > 0 and self.visible_at > now

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {"i": self.message_id, "b": self.body, "m": self.md5_body, "s": self.sent_at,
                               "e": self.enqueued_at, "u": self.sender_id, "q": self.seq, "z": self.size,
                               "v": self.visible_at}
        if self.attributes:
            out["a"], out["am"] = self.attributes, self.md5_attributes
        if self.system:
            out["y"], out["ym"] = self.system, self.md5_system
        if self.group_id is not None:
            out["g"] = self.group_id
        if self.dedup_id is not None:
            out["d"] = self.dedup_id
        if self.dlq_source_arn is not None:
            out["x"] = self.dlq_source_arn
        if self.receive_count:
            out.update(self.state_record())
        return out

    def state_record(self) -> dict[str, Any]:
        return {"v": self.visible_at, "c": self.receive_count, "f": self.first_receive_at, "r": self.received_at,
                "n": self.nonce}

    def apply_state(self, r: dict[str, Any]) -> None:
        self.visible_at = r["v"]
        self.receive_count = r.get("c", 0)
        self.first_receive_at = r.get("f")
        self.received_at = r.get("r")
        self.nonce = r.get("n", "")

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "Message":
        message = cls(r["i"], r["b"], r["m"], r.get("a") or {}, r.get("am"), r.get("y") or {}, r.get("ym"), r["s"],
                      r["e"], r["u"], r["q"], r["z"], r.get("g"), r.get("d"), r.get("x"))
        message.apply_state(r)
        return message


@dataclass(slots=True, eq=False)
class MoveTask:
    """A StartMessageMoveTask: messages from a dead-letter queue back to their sources (or one destination)."""

    task_id: str
    source_arn: str
    destination_arn: str | None
    rate: int | None
    started_at: float
    to_move: int
    moved: int = 0
    status: str = "RUNNING"
    failure: str | None = None

    def record(self) -> dict[str, Any]:
        return {"i": self.task_id, "s": self.source_arn, "d": self.destination_arn, "r": self.rate,
                "t": self.started_at, "n": self.to_move, "m": self.moved, "st": self.status, "f": self.failure}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "MoveTask":
        return cls(r["i"], r["s"], r["d"], r["r"], r["t"], r["n"], r["m"], r["st"], r["f"])


@dataclass(slots=True, eq=False)
class Queue:
    name: str
    account: str
    region: str
    fifo: bool
    created: float
    modified: float
    attributes: dict[str, str]
    tags: dict[str, str] = field(default_factory=dict)
    last_purge: float | None = None
    #: live messages by id, in send order
    messages: dict[str, Message] = field(default_factory=dict)
    # standard queues: visible messages, and the rest keyed by when they become visible
    ready: deque[tuple[int, Message]] = field(default_factory=deque)
    pending: list[tuple[float, int, int, Message]] = field(default_factory=list)
    # FIFO queues: messages per MessageGroupId, oldest first
    groups: dict[str, deque[Message]] = field(default_factory=dict)
    #: deduplication key -> (expires at, message id, seq) for the 5-minute interval, oldest first
    dedup: dict[str, tuple[float, str, int]] = field(default_factory=dict)
    #: ReceiveRequestAttemptId -> (expires at, [(message, nonce)])
    attempts: dict[str, tuple[float, list[tuple[Message, str]]]] = field(default_factory=dict)
    last_seq: int = 0
    # -- settings parsed from `attributes` by configure() (the hot paths must not re-parse text) --
    visibility_timeout: int = 30
    delay_seconds: int = 0
    retention: int = 345_600
    max_size: int = 1_048_576
    wait_seconds: int = 0
    content_dedup: bool = False
    dedup_per_group: bool = False
    redrive_target: str | None = None
    max_receive_count: int = 0

    def configure(self) -> None:
        a = self.attributes
        self.visibility_timeout = int(a["VisibilityTimeout"])
        self.delay_seconds = int(a["DelaySeconds"])
        self.retention = int(a["MessageRetentionPeriod"])
        self.max_size = int(a["MaximumMessageSize"])
        self.wait_seconds = int(a["ReceiveMessageWaitTimeSeconds"])
        self.content_dedup = a.get("ContentBasedDeduplication") == "true"
        self.dedup_per_group = a.get("DeduplicationScope") == "messageGroup"
        policy = orjson.loads(a["RedrivePolicy"]) if a.get("RedrivePolicy") else None
        self.redrive_target = policy["deadLetterTargetArn"] if policy else None
        self.max_receive_count = int(policy["maxReceiveCount"]) if policy else 0

    #: `<account>/<region>/<name>`: the store's key and the prefix of the queue's journal keys
    key: str = field(init=False)
    arn: str = field(init=False)

    def __post_init__(self) -> None:
        self.key = f"{self.account}/{self.region}/{self.name}"
        self.arn = f"arn:aws:sqs:{self.region}:{self.account}:{self.name}"

    def record(self) -> dict[str, Any]:
        return {"n": self.name, "a": self.account, "r": self.region, "f": self.fifo, "c": self.created,
                "m": self.modified, "at": self.attributes, "t": self.tags, "p": self.last_purge}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "Queue":
        return cls(r["n"], r["a"], r["r"], r["f"], r["c"], r["m"], r["at"], r["t"], r["p"])

    # -- placing messages ---------------------------------------------------------------------------
    def next_seq(self, now: float) -> int:
        """Increasing across restarts (time-based), like SQS's large, non-consecutive sequence numbers."""
        seq = int(now * 1_000_000)
        if seq <= self.last_seq:
            seq = self.last_seq + 1
        self.last_seq = seq
        return seq

    def place(self, message: Message, now: float) -> None:
        """Put a live message where its state says it belongs (after send, restore or a state change)."""
        if self.fifo:
            self.groups.setdefault(message.group_id or "", deque()).append(message)
        elif message.visible_at <= now:
            self.ready.append((message.version, message))
        else:
            heapq.heappush(self.pending, (message.visible_at, message.seq, message.version, message))
        self.messages[message.message_id] = message

    def requeue(self, message: Message) -> None:
        """After a receive or a visibility change: a standard queue's message waits in the heap again."""
        if not self.fifo:
            heapq.heappush(self.pending, (message.visible_at, message.seq, message.version, message))

    def forget(self, message: Message) -> None:
        message.deleted = True
        self.messages.pop(message.message_id, None)
        if self.fifo:
            group = self.groups.get(message.group_id or "")
            if group is not None:
                while group and group[0].deleted:
                    group.popleft()
                if not group:
                    del self.groups[message.group_id or ""]

    def clear(self) -> None:
        for message in self.messages.values():
            message.deleted = True
        self.messages.clear()
        self.ready.clear()
        self.pending.clear()
        self.groups.clear()
        self.attempts.clear()

    # -- handing messages out -----------------------------------------------------------------------
    def available(self, now: float) -> Iterator[Message]:
        """Receivable messages in delivery order. The caller must deliver or remove each one before the next."""
        if self.fifo:
            yield from self._available_fifo(now)
            return
        pending = self.pending
        while pending and pending[0][0] <= now:
            _, _, version, message = heapq.heappop(pending)
            if not message.deleted and message.version == version:
                self.ready.append((version, message))
        ready = self.ready
        while ready:
            version, message = ready.popleft()
            if message.deleted or message.version != version:
                continue
            yield message

    def _available_fifo(self, now: float) -> Iterator[Message]:
        for group in list(self.groups.values()):
            if self._locked(group, now):
                continue
            # the group's messages in order, stopping at the first that is not visible yet; a snapshot, because
            # removing a message (expiry, dead-letter move) pops it from the group
            batch: list[Message] = []
            for message in group:
                if message.deleted:
                    continue
                if message.visible_at > now or len(batch) == MAX_RECEIVE:
                    break
                batch.append(message)
            yield from batch

    @staticmethod
    def _locked(group: deque[Message], now: float) -> bool:
        """A group is locked while any of its received messages is in flight (they form its head)."""
        for message in group:
            if message.deleted:
                continue
            if message.receive_count == 0:
                return False
            if message.visible_at > now:
                return True
        return False

    def next_visible_at(self, now: float) -> float | None:
        """When a message that is not receivable now becomes receivable (to time long polls), if ever."""
        if not self.fifo:
            while self.pending:
                when, _, version, message = self.pending[0]
                if message.deleted or message.version != version:
                    heapq.heappop(self.pending)
                    continue
                return when
            return None
        soonest: float | None = None
        for group in self.groups.values():
            for message in group:
                if message.deleted:
                    continue
                if message.visible_at > now:
                    soonest = message.visible_at if soonest is None else min(soonest, message.visible_at)
                if message.receive_count == 0 or message.visible_at > now:
                    break
        return soonest

    def counts(self, now: float) -> tuple[int, int, int]:
        """(visible, in flight, delayed): exact, unlike AWS's approximations."""
        visible = in_flight = delayed = 0
        for message in self.messages.values():
            if message.visible_at <= now:
                visible += 1
            elif message.receive_count:
                in_flight += 1
            else:
                delayed += 1
        return visible, in_flight, delayed
