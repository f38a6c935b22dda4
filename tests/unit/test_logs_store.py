"""The CloudWatch Logs store with a fake clock and a journal that records: the memory caps, retention, journal
chunks and their deletion, restore; and the function runtime's LogStore on top of it (stream names, accounts)."""
from __future__ import annotations

from miniaws.core.clock import FakeClock
from miniaws.functions.invocation import FunctionSpec
from miniaws.functions.logs import LogStore, stream_name
from miniaws.services.logs.models import DAY_MS, MESSAGE, SEQ, TS, LogGroup, held_size
from miniaws.services.logs.store import NS_EVENTS, NS_GROUP, NS_STREAM, LogsStore
from tests.helpers.journals import RecordingJournal


def durable_stream(store: LogsStore, name: str = "/app") -> LogGroup:
    group = LogGroup("111122223333", "eu-west-1", name, store.now_ms(), durable=True)
    store.add_group(group)
    store.add_stream(group, "s", store.now_ms(), durable=True)
    return group


def test_event_cap_drops_the_oldest_across_streams_and_forgets_emptied_lambda_streams() -> None:
    clock = FakeClock()
    store = LogsStore(RecordingJournal(), clock, event_cap=100)
    base = store.now_ms()
    store.append_lines("000000000000", "us-east-1", "/aws/lambda/f", "old-env", [f"old {i}" for i in range(30)], base)
    for i in range(80):
        store.append_lines("000000000000", "us-east-1", "/aws/lambda/f", "new-env", [f"new {i}"], base + 1 + i)
    group = store.get_group("000000000000", "us-east-1", "/aws/lambda/f")
    assert group is not None
    assert 90 <= group.event_count <= 100
    # the oldest went first: part of old-env, nothing of new-env
    assert [e[MESSAGE] for e in group.streams["new-env"].events] == [f"new {i}" for i in range(80)]
    assert group.streams["old-env"].events[-1][MESSAGE] == "old 29"
    for i in range(80, 200):
        store.append_lines("000000000000", "us-east-1", "/aws/lambda/f", "new-env", [f"new {i}"], base + 1 + i)
    assert "old-env" not in group.streams and group.event_count <= 100
    assert group.stored_bytes == sum(held_size(e[MESSAGE]) for e in group.streams["new-env"].events)


def test_byte_cap_bounds_a_group() -> None:
    store = LogsStore(RecordingJournal(), FakeClock(), byte_cap=10_000)
    group = durable_stream(store)
    for i in range(50):
        store.put_events(group, group.streams["s"], [(store.now_ms() + i, "x" * 974)], store.now_ms())
    assert group.stored_bytes <= 10_000 and group.event_count == group.stored_bytes // 1000


def test_batches_are_journal_chunks_deleted_with_their_last_event_and_restored() -> None:
    clock = FakeClock()
    journal = RecordingJournal()
    store = LogsStore(journal, clock)
    group = durable_stream(store)
    stream = group.streams["s"]
    now = store.now_ms()
    store.put_events(group, stream, [(now - 3 * DAY_MS, "three days"), (now - 3 * DAY_MS + 1, "still three")], now)
    store.put_events(group, stream, [(now - DAY_MS - 1, "a day"), (now, "today")], now)
    store.put_events(group, stream, [(now - 2 * DAY_MS, "two days")], now)  # older than the stream's newest
    assert [e[MESSAGE] for e in stream.events] == ["three days", "still three", "two days", "a day", "today"]
    assert len(journal.keys(NS_EVENTS)) == 3
    group.retention = 1
    store.save_group(group)
    store.expire(group, store.now_ms())
    assert [e[MESSAGE] for e in stream.events] == ["today"]
    # the first and third chunks lost every event; the second keeps one
    assert len(journal.keys(NS_EVENTS)) == 1
    restored = LogsStore(RecordingJournal(), clock)
    restored.restore(journal.grouped())
    again = restored.get_group("111122223333", "eu-west-1", "/app")
    assert again is not None and again.retention == 1 and again.durable
    assert [(e[TS], e[SEQ], e[MESSAGE]) for e in again.streams["s"].events] == [
        (e[TS], e[SEQ], e[MESSAGE]) for e in stream.events]
    assert again.event_count == 1 and again.stored_bytes == held_size("today")
    # new events sort after the restored ones even at the same timestamp
    restored.put_events(again, again.streams["s"], [(now, "later today")], now)
    assert [e[MESSAGE] for e in again.streams["s"].events] == ["today", "later today"]


def test_removing_a_group_deletes_its_records_and_lambda_lines_write_none() -> None:
    journal = RecordingJournal()
    store = LogsStore(journal, FakeClock())
    group = durable_stream(store)
    store.put_events(group, group.streams["s"], [(store.now_ms(), "m")], store.now_ms())
    store.append_lines("111122223333", "eu-west-1", "/app", "lambda-env", ["in memory"])
    store.append_lines("111122223333", "eu-west-1", "/aws/lambda/x", "env", ["in memory"])
    assert (journal.keys(NS_GROUP), journal.keys(NS_STREAM)) == (["111122223333:eu-west-1:/app"],
                                                                 ["111122223333:eu-west-1:/app:s"])
    store.remove_group(group)
    assert journal.rows == {}
    assert [g.name for g in store.all_groups()] == ["/aws/lambda/x"]


def spec(account: str = "123456789012", region: str = "eu-central-1", version: str = "$LATEST") -> FunctionSpec:
    return FunctionSpec("key", "fn", f"arn:aws:lambda:{region}:{account}:function:fn", version, "python3.12",
                        "app.handler", 128, 3, "blob", region, account)


def test_runtime_log_store_names_streams_like_lambda_and_writes_where_the_function_lives() -> None:
    clock = FakeClock(1_700_000_000.0)  # 2023-11-14
    store = LogsStore(RecordingJournal(), clock)
    logs = LogStore()
    logs.attach(store, "000000000000", "us-east-1")
    name = logs.open(spec(version="3"), "env-1")
    assert name.startswith("2023/11/14/[3]") and len(name) == len("2023/11/14/[3]") + 32
    assert name[-32:] == name[-32:].lower() and int(name[-32:], 16) >= 0
    logs.write(spec(version="3"), "env-1", b"START RequestId: r Version: 3\nhello\n\nEND RequestId: r\n")
    group = store.get_group("123456789012", "eu-central-1", "/aws/lambda/fn")
    assert group is not None and not group.durable
    assert [e[MESSAGE] for e in group.streams[name].events] == ["START RequestId: r Version: 3", "hello",
                                                               "END RequestId: r"]
    logs.close("env-1")
    logs.write(spec(version="3"), "env-1", "after close: a new stream")
    assert len(group.streams) == 2
    # the same function name in another region: events() reads both, oldest first
    clock.advance(1)
    logs.write(spec(region="us-west-2"), "env-2", "west")
    assert [e["message"] for e in logs.events("/aws/lambda/fn")][-1] == "west"
    assert len(logs.events("/aws/lambda/fn", limit=2)) == 2
    logs.append("/aws/lambda/fn", "async-failures", "failed")  # legacy: the default account and region
    assert store.get_group("000000000000", "us-east-1", "/aws/lambda/fn") is not None
    logs.clear()  # attached: the Logs service resets the store, not the runtime
    assert logs.groups() == ["/aws/lambda/fn"]
    standalone = LogStore()
    standalone.write(spec(), "e", "x")
    standalone.clear()
    assert standalone.groups() == []


def test_stream_name_format() -> None:
    assert stream_name("$LATEST", 0.0).startswith("1970/01/01/[$LATEST]")
