"""The SQS store with a fake clock: visibility, delays, retention, FIFO groups and deduplication, dead-letter
moves, signals for long polls, and journal replay (what a restart brings back)."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from miniaws.services.sqs import attributes
from miniaws.services.sqs.md5 import md5_of_body
from miniaws.services.sqs.models import Message, Queue
from miniaws.services.sqs.store import SqsStore

T0 = 1_700_000_000.0


class RecordingJournal:
    """The journal as a dict of live records, like the SQLite table after commits."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], bytes] = {}
        self.write_count = 0

    def put(self, ns: str, key: str, value: bytes) -> None:
        self.records[(ns, key)] = value
        self.write_count += 1

    def delete(self, ns: str, key: str) -> None:
        self.records.pop((ns, key), None)
        self.write_count += 1

    def after_commit(self, callback: Callable[[], None]) -> None:
        callback()

    async def durable(self) -> None:
        return None

    async def clear(self) -> None:
        self.records.clear()

    async def close(self) -> None:
        return None

    def rows(self) -> dict[str, list[tuple[str, bytes]]]:
        out: dict[str, list[tuple[str, bytes]]] = {}
        for (ns, key), value in sorted(self.records.items()):
            out.setdefault(ns, []).append((key, value))
        return out


@pytest.fixture
def journal() -> RecordingJournal:
    return RecordingJournal()


@pytest.fixture
def signals() -> list[tuple[str, float]]:
    return []


@pytest.fixture
def store(journal: RecordingJournal, signals: list[tuple[str, float]]) -> SqsStore:
    return SqsStore(journal, lambda queue, when: signals.append((queue.name, when)))


def make_queue(store: SqsStore, name: str, fifo: bool = False, **attrs: str) -> Queue:
    merged = {**attributes.defaults(fifo), **attributes.normalize(attrs, fifo, creating=True)}
    queue = Queue(name, "000000000000", "us-east-1", fifo, T0, T0, merged)
    store.save_queue(queue)
    return queue


def send(store: SqsStore, queue: Queue, body: str, now: float = T0, delay: int = 0, group: str | None = None,
         dedup: str | None = None) -> Message:
    message = Message(str(uuid.uuid4()), body, md5_of_body(body), {}, None, {}, None, now, now, "sender", 0,
                      len(body), group, dedup, visible_at=now + delay)
    return store.send(queue, message, now, dedup_key=dedup)


def bodies(messages: list[Message]) -> list[str]:
    return [m.body for m in messages]


def test_visibility_timeout_hides_then_returns(store: SqsStore) -> None:
    queue = make_queue(store, "std")
    send(store, queue, "a")
    [got] = store.receive(queue, T0, 10, 30)
    assert got.receive_count == 1 and queue.counts(T0) == (0, 1, 0)
    assert store.receive(queue, T0 + 29.9, 10, 30) == []
    [again] = store.receive(queue, T0 + 30, 10, 30)
    assert again is got and got.receive_count == 2 and got.first_receive_at == T0


def test_change_visibility_and_delete(store: SqsStore) -> None:
    queue = make_queue(store, "std")
    message = send(store, queue, "a")
    store.receive(queue, T0, 1, 600)
    store.change_visibility(queue, message, T0 + 1, 0)
    assert queue.counts(T0 + 1) == (1, 0, 0)
    [got] = store.receive(queue, T0 + 1, 1, 600)
    store.delete(queue, got, T0 + 2)
    assert queue.counts(T0 + 1000) == (0, 0, 0)
    assert store.receive(queue, T0 + 1000, 10, 30) == []


def test_delay_and_counts(store: SqsStore) -> None:
    queue = make_queue(store, "std")
    send(store, queue, "later", delay=60)
    send(store, queue, "now")
    assert queue.counts(T0) == (1, 0, 1)
    assert bodies(store.receive(queue, T0, 10, 100)) == ["now"]
    assert queue.next_visible_at(T0) == T0 + 60
    assert queue.counts(T0 + 60) == (1, 1, 0)
    assert bodies(store.receive(queue, T0 + 60, 10, 100)) == ["later"]


def test_retention_expires_messages(store: SqsStore, journal: RecordingJournal) -> None:
    queue = make_queue(store, "short", MessageRetentionPeriod="60")
    send(store, queue, "old")
    assert store.receive(queue, T0 + 60, 10, 30) == []
    assert not queue.messages
    assert not [k for k in journal.records if k[0] == "sqs.message"]


def test_fifo_group_lock_and_order(store: SqsStore) -> None:
    queue = make_queue(store, "f.fifo", fifo=True)
    for body, group in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b")]:
        send(store, queue, body, group=group, dedup=body)
    first = store.receive(queue, T0, 1, 30)
    assert bodies(first) == ["a1"]
    # group a is locked while a1 is in flight; b is served in order
    assert bodies(store.receive(queue, T0, 10, 30)) == ["b1", "b2"]
    assert store.receive(queue, T0, 10, 30) == []
    store.delete(queue, first[0], T0)
    assert bodies(store.receive(queue, T0, 10, 30)) == ["a2"]


def test_fifo_expired_visibility_redelivers_in_order(store: SqsStore) -> None:
    queue = make_queue(store, "f.fifo", fifo=True)
    for body in ("1", "2", "3"):
        send(store, queue, body, group="g", dedup=body)
    assert bodies(store.receive(queue, T0, 2, 10)) == ["1", "2"]
    assert queue.next_visible_at(T0) == T0 + 10
    assert bodies(store.receive(queue, T0 + 10, 10, 10)) == ["1", "2", "3"]


def test_fifo_deduplication_window(store: SqsStore, journal: RecordingJournal) -> None:
    queue = make_queue(store, "f.fifo", fifo=True)
    original = send(store, queue, "x", group="g", dedup="d1")
    assert store.duplicate_of(queue, "d1", T0 + 299) == (original.message_id, original.seq)
    assert store.duplicate_of(queue, "d1", T0 + 300) is None
    assert ("sqs.dedup", f"{queue.key}/d1") not in journal.records


def test_dead_letter_after_max_receive_count(store: SqsStore) -> None:
    dlq = make_queue(store, "dlq")
    source = make_queue(store, "src", RedrivePolicy=orjson.dumps(
        {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 2}).decode())
    send(store, source, "poison")
    assert len(store.receive(source, T0, 1, 1)) == 1
    assert len(store.receive(source, T0 + 1, 1, 1)) == 1
    assert store.receive(source, T0 + 2, 1, 1) == []
    [dead] = store.receive(dlq, T0 + 2, 1, 30)
    assert dead.body == "poison" and dead.dlq_source_arn == source.arn and dead.receive_count == 3


def test_signals_for_long_polls(store: SqsStore, signals: list[tuple[str, float]]) -> None:
    queue = make_queue(store, "std")
    send(store, queue, "a", delay=5)
    store.receive(queue, T0 + 5, 1, 30)
    assert signals == [("std", T0 + 5), ("std", T0 + 35)]


def test_replay_brings_back_exactly_the_live_messages(store: SqsStore, journal: RecordingJournal) -> None:
    queue = make_queue(store, "std", VisibilityTimeout="100")
    kept = send(store, queue, "kept")
    flying = send(store, queue, "flying")
    gone = send(store, queue, "gone")
    received = store.receive(queue, T0, 10, 100)
    assert {m.body for m in received} == {"kept", "flying", "gone"}
    store.delete(queue, gone, T0)
    store.change_visibility(queue, kept, T0, 0)
    fifo = make_queue(store, "f.fifo", fifo=True)
    send(store, fifo, "f1", group="g", dedup="one")

    replayed = SqsStore(RecordingJournal())
    replayed.restore(journal.rows(), T0 + 1)
    queue2 = replayed.get("000000000000", "us-east-1", "std")
    assert queue2 is not None and queue2.visibility_timeout == 100
    assert {m.body for m in queue2.messages.values()} == {"kept", "flying"}
    assert queue2.counts(T0 + 1) == (1, 1, 0)
    assert queue2.messages[flying.message_id].nonce == flying.nonce
    assert bodies(replayed.receive(queue2, T0 + 101, 10, 30)) == ["kept", "flying"]
    fifo2 = replayed.get("000000000000", "us-east-1", "f.fifo")
    assert fifo2 is not None and "one" in fifo2.dedup
    assert bodies(replayed.receive(fifo2, T0 + 1, 10, 30)) == ["f1"]
    # sequence numbers keep increasing across the restart
    assert send(replayed, fifo2, "f2", now=T0 + 1, group="g", dedup="two").seq > fifo2.messages[
        next(iter(fifo2.messages))].seq


def test_replay_drops_expired_and_orphans(store: SqsStore, journal: RecordingJournal) -> None:
    queue = make_queue(store, "short", MessageRetentionPeriod="60")
    send(store, queue, "old")
    journal.put("sqs.message", "000000000000/us-east-1/nope/x", b"{}")
    replayed_journal = RecordingJournal()
    replayed_journal.records = dict(journal.records)
    replayed = SqsStore(replayed_journal)
    replayed.restore(journal.rows(), T0 + 61)
    assert not replayed.get("000000000000", "us-east-1", "short").messages  # type: ignore[union-attr]
    assert not [k for k in replayed_journal.records if k[0] == "sqs.message"]


def test_purge_and_remove_queue_clear_the_journal(store: SqsStore, journal: RecordingJournal) -> None:
    queue = make_queue(store, "std")
    for i in range(3):
        send(store, queue, str(i))
    store.receive(queue, T0, 1, 30)
    store.purge(queue, T0)
    assert not [k for k in journal.records if k[0] in ("sqs.message", "sqs.state")]
    store.remove_queue(queue)
    assert not journal.records
