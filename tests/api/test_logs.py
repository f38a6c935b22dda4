"""CloudWatch Logs through boto3: groups, streams, PutLogEvents' batch rules, GetLogEvents' tokens, FilterLogEvents'
patterns and pagination, retention, tags, AWS's errors; persistence across a restart, reset and health."""
from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from miniaws.testing import miniaws_server
from tests.api.conftest import make_client

DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def logs(endpoint: str) -> Any:
    return make_client(endpoint, "logs")


@pytest.fixture(scope="module")
def unchecked(endpoint: str) -> Any:
    """A client that sends what it is given: the server, not botocore, must reject bad values."""
    return make_client(endpoint, "logs", config=BotoConfig(parameter_validation=False, retries={"max_attempts": 1}))


@pytest.fixture
def group(logs: Any) -> Iterator[str]:
    name = f"/test/{uuid.uuid4().hex[:12]}"
    logs.create_log_group(logGroupName=name)
    yield name
    try:
        logs.delete_log_group(logGroupName=name)
    except ClientError:
        pass


def now_ms() -> int:
    return int(time.time() * 1000)


def error_of(call: Any, *args: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    response = info.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def put(logs: Any, group: str, stream: str, messages: list[str], start: int | None = None, step: int = 1) -> Any:
    base = now_ms() if start is None else start
    return logs.put_log_events(logGroupName=group, logStreamName=stream,
                               logEvents=[{"timestamp": base + i * step, "message": m} for i, m in enumerate(messages)])


# -- groups -----------------------------------------------------------------------------------------
def test_group_lifecycle_and_errors(logs: Any) -> None:
    name = f"/life/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name, tags={"team": "core"}, logGroupClass="INFREQUENT_ACCESS")
    got = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert len(got) == 1
    assert got[0]["logGroupName"] == name and got[0]["logGroupClass"] == "INFREQUENT_ACCESS"
    assert got[0]["arn"] == f"arn:aws:logs:us-east-1:000000000000:log-group:{name}:*"
    assert got[0]["logGroupArn"] == f"arn:aws:logs:us-east-1:000000000000:log-group:{name}"
    assert abs(got[0]["creationTime"] - now_ms()) < 60_000 and "retentionInDays" not in got[0]
    assert error_of(logs.create_log_group, logGroupName=name) == (
        "ResourceAlreadyExistsException", "The specified log group already exists", 400)
    logs.delete_log_group(logGroupName=name)
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []
    assert error_of(logs.delete_log_group, logGroupName=name) == (
        "ResourceNotFoundException", "The specified log group does not exist.", 400)
    code, message, _ = error_of(logs.create_log_group, logGroupName="has:colon")
    assert code == "InvalidParameterException"
    assert message == ("1 validation error detected: Value 'has:colon' at 'logGroupName' failed to satisfy "
                       "constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+")


def test_describe_groups_prefix_pattern_and_pagination(logs: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    names = [f"/page-{tag}/g{i:02d}" for i in range(7)]
    for name in reversed(names):
        logs.create_log_group(logGroupName=name)
    seen, token, pages = [], None, 0
    while pages < 10:
        kwargs: dict[str, Any] = {"logGroupNamePrefix": f"/page-{tag}/", "limit": 3}
        if token:
            kwargs["nextToken"] = token
        out = logs.describe_log_groups(**kwargs)
        seen += [g["logGroupName"] for g in out["logGroups"]]
        pages += 1
        token = out.get("nextToken")
        if not token:
            break
    assert seen == names and pages == 3
    paginator = logs.get_paginator("describe_log_groups")
    assert [g["logGroupName"] for page in paginator.paginate(logGroupNamePrefix=f"/page-{tag}/",
                                                             PaginationConfig={"PageSize": 2})
            for g in page["logGroups"]] == names
    assert [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePattern=f"{tag}/g0")["logGroups"]
            ] == names
    assert logs.describe_log_groups(logGroupNamePattern=f"{tag.upper()}/G0")["logGroups"] == []  # case-sensitive
    code, message, _ = error_of(logs.describe_log_groups, logGroupNamePrefix="/a", logGroupNamePattern="b")
    assert code == "InvalidParameterException" and "mutually exclusive" in message
    assert error_of(logs.describe_log_groups, nextToken="not-a-token")[0] == "InvalidParameterException"
    code, message, _ = error_of(logs.describe_log_groups, limit=51)
    assert code == "InvalidParameterException" and "less than or equal to 50" in message
    for name in names:
        logs.delete_log_group(logGroupName=name)


def test_retention_policy_values_and_describe(logs: Any, group: str) -> None:
    code, message, _ = error_of(logs.put_retention_policy, logGroupName=group, retentionInDays=4)
    assert code == "InvalidParameterException"
    assert message.startswith("1 validation error detected: Value '4' at 'retentionInDays' failed to satisfy "
                              "constraint: Member must satisfy enum value set: [1, 3, 5, 7, 14, 30,")
    logs.put_retention_policy(logGroupName=group, retentionInDays=30)
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"] == 30
    logs.delete_retention_policy(logGroupName=group)
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    assert error_of(logs.put_retention_policy, logGroupName=group + "-missing", retentionInDays=1)[0] == (
        "ResourceNotFoundException")


def test_retention_drops_older_events_and_rejects_expired(logs: Any, group: str) -> None:
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = now_ms()
    put(logs, group, "s", ["ten days old", "nine days old"], start=now - 10 * DAY_MS, step=DAY_MS)
    put(logs, group, "s", ["fresh"], start=now)
    assert len(logs.get_log_events(logGroupName=group, logStreamName="s")["events"]) == 3
    logs.put_retention_policy(logGroupName=group, retentionInDays=7)
    assert [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName="s")["events"]] == ["fresh"]
    assert [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]] == ["fresh"]
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    out = put(logs, group, "s", ["a day and a half hour old", "half an hour old"], start=now - DAY_MS - 1_800_000,
              step=DAY_MS)
    assert out["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 0}
    assert [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName="s")["events"]] == [
        "half an hour old", "fresh"]


def test_deletion_protection(logs: Any) -> None:
    name = f"/protected/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name, deletionProtectionEnabled=True)
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["deletionProtectionEnabled"] is True
    assert error_of(logs.delete_log_group, logGroupName=name) == (
        "ValidationException", "Cannot delete log group with deletion protection enabled. Disable deletion "
        "protection first.", 400)
    logs.put_log_group_deletion_protection(logGroupIdentifier=name, deletionProtectionEnabled=False)
    logs.delete_log_group(logGroupName=name)


def test_tags_by_arn_and_legacy_calls(logs: Any, group: str) -> None:
    arn = f"arn:aws:logs:us-east-1:000000000000:log-group:{group}"
    logs.tag_resource(resourceArn=arn, tags={"a": "1", "b": "2"})
    logs.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "2"}
    logs.tag_log_group(logGroupName=group, tags={"c": "3"})
    logs.untag_log_group(logGroupName=group, tags=["b"])
    assert logs.list_tags_log_group(logGroupName=group)["tags"] == {"c": "3"}
    assert error_of(logs.tag_resource, resourceArn=arn, tags={f"k{i}": "v" for i in range(50)})[0] == (
        "TooManyTagsException")
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"c": "3"}
    assert error_of(logs.list_tags_for_resource, resourceArn=arn + "-missing") == (
        "ResourceNotFoundException", "The specified log group does not exist.", 400)


# -- streams ----------------------------------------------------------------------------------------
def test_streams_create_describe_order_and_delete(logs: Any, group: str) -> None:
    now = now_ms()
    for name, offset in (("b-stream", 3), ("a-stream", 1), ("c-stream", 2)):
        logs.create_log_stream(logGroupName=group, logStreamName=name)
        put(logs, group, name, ["x"], start=now - 1000 + offset)
    assert error_of(logs.create_log_stream, logGroupName=group, logStreamName="a-stream") == (
        "ResourceAlreadyExistsException", "The specified log stream already exists", 400)
    by_name = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"] for s in by_name] == ["a-stream", "b-stream", "c-stream"]
    first = by_name[0]
    assert first["arn"] == f"arn:aws:logs:us-east-1:000000000000:log-group:{group}:log-stream:a-stream"
    assert first["firstEventTimestamp"] == first["lastEventTimestamp"] == now - 999
    assert "lastIngestionTime" in first and "uploadSequenceToken" in first
    by_time = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True)["logStreams"]
    assert [s["logStreamName"] for s in by_time] == ["b-stream", "c-stream", "a-stream"]
    page = logs.describe_log_streams(logGroupIdentifier=group, orderBy="LastEventTime", limit=2)
    rest = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", nextToken=page["nextToken"])
    assert [s["logStreamName"] for s in page["logStreams"] + rest["logStreams"]] == ["a-stream", "c-stream",
                                                                                      "b-stream"]
    assert "nextToken" not in rest
    assert [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="c")[
        "logStreams"]] == ["c-stream"]
    code, message, _ = error_of(logs.describe_log_streams, logGroupName=group, orderBy="LastEventTime",
                                logStreamNamePrefix="a")
    assert (code, message) == ("InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix.")
    logs.delete_log_stream(logGroupName=group, logStreamName="b-stream")
    assert error_of(logs.delete_log_stream, logGroupName=group, logStreamName="b-stream") == (
        "ResourceNotFoundException", "The specified log stream does not exist.", 400)
    assert error_of(logs.create_log_stream, logGroupName=group + "-none", logStreamName="x") == (
        "ResourceNotFoundException", "The specified log group does not exist.", 400)
    arn = f"arn:aws:logs:us-east-1:000000000000:log-group:{group}"  # logGroupIdentifier: no trailing :*
    assert error_of(logs.describe_log_streams, logGroupIdentifier=arn + ":*")[0] == "InvalidParameterException"
    assert len(logs.describe_log_streams(logGroupIdentifier=arn)["logStreams"]) == 2
    code, message, _ = error_of(logs.describe_log_streams, logGroupName=group, logGroupIdentifier=arn)
    assert (code, message) == ("InvalidParameterException",
                               "LogGroup name and LogGroup ARN are mutually exclusive parameters.")


# -- PutLogEvents -----------------------------------------------------------------------------------
def test_put_log_events_batch_rules(logs: Any, unchecked: Any, group: str) -> None:
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = now_ms()
    code, message, _ = error_of(logs.put_log_events, logGroupName=group, logStreamName="s", logEvents=[
        {"timestamp": now, "message": "later"}, {"timestamp": now - 5, "message": "earlier"}])
    assert (code, message) == ("InvalidParameterException",
                               "Log events in a single PutLogEvents request must be in chronological order.")
    code, message, _ = error_of(logs.put_log_events, logGroupName=group, logStreamName="s", logEvents=[
        {"timestamp": now - DAY_MS - 1, "message": "a"}, {"timestamp": now, "message": "b"}])
    assert code == "InvalidParameterException" and "cannot span more than 24 hours" in message
    big = "x" * 262_118  # 4 x (262,118 + 26) = 1,048,576: exactly the limit
    assert "rejectedLogEventsInfo" not in put(logs, group, "s", [big] * 4)
    code, message, _ = error_of(put, logs, group, "s", [big] * 4 + ["y"])
    assert (code, message) == ("InvalidParameterException", "Upload too large: 1048603 bytes exceeds limit of 1048576")
    code, message, _ = error_of(unchecked.put_log_events, logGroupName=group, logStreamName="s",
                                logEvents=[{"timestamp": now, "message": "m"}] * 10_001)
    assert code == "InvalidParameterException"
    assert message.endswith("at 'logEvents' failed to satisfy constraint: Member must have length less than or "
                            "equal to 10000")
    assert error_of(unchecked.put_log_events, logGroupName=group, logStreamName="s", logEvents=[])[0] == (
        "InvalidParameterException")
    # sequence tokens are ignored, as AWS has done since 2023
    out = logs.put_log_events(logGroupName=group, logStreamName="s", sequenceToken="bogus",
                              logEvents=[{"timestamp": now, "message": "ok"}])
    assert out["nextSequenceToken"] and "rejectedLogEventsInfo" not in out
    assert error_of(put, logs, group, "missing", ["m"]) == (
        "ResourceNotFoundException", "The specified log stream does not exist.", 400)
    assert error_of(put, logs, group + "-missing", "s", ["m"]) == (
        "ResourceNotFoundException", "The specified log group does not exist.", 400)


def test_put_log_events_rejects_too_old_and_too_new(logs: Any, group: str) -> None:
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = now_ms()
    batch = [{"timestamp": now - 14 * DAY_MS - 3_600_000 + i, "message": f"old {i}"} for i in range(2)]
    batch += [{"timestamp": now - 14 * DAY_MS + 3_600_000, "message": "kept"}]
    out = logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=batch)
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1}
    out = put(logs, group, "s", ["kept too", "future", "further"], start=now, step=3 * 3_600_000)
    assert out["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 1}
    messages = [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName="s")["events"]]
    assert messages == ["kept", "kept too"]


# -- GetLogEvents -----------------------------------------------------------------------------------
def test_get_log_events_tokens_walk_both_ways(logs: Any, group: str) -> None:
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    start = now_ms() - 100_000
    put(logs, group, "s", [f"m{i}" for i in range(10)], start=start, step=1000)
    tail = logs.get_log_events(logGroupName=group, logStreamName="s", limit=3)
    assert [e["message"] for e in tail["events"]] == ["m7", "m8", "m9"]
    assert tail["nextForwardToken"].startswith("f/") and tail["nextBackwardToken"].startswith("b/")
    # the end of the stream: the same forward token comes back, with nothing
    end = logs.get_log_events(logGroupName=group, logStreamName="s", nextToken=tail["nextForwardToken"])
    assert end["events"] == [] and end["nextForwardToken"] == tail["nextForwardToken"]
    # walk backward to the head, three at a time
    seen, token = [e["message"] for e in tail["events"]], tail["nextBackwardToken"]
    for _ in range(10):
        page = logs.get_log_events(logGroupName=group, logStreamName="s", nextToken=token, limit=3)
        if not page["events"]:
            assert page["nextBackwardToken"] == token
            break
        seen = [e["message"] for e in page["events"]] + seen
        token = page["nextBackwardToken"]
    assert seen == [f"m{i}" for i in range(10)]
    # from the head forward, and new events appear behind the last forward token
    head = logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True, limit=4)
    assert [e["message"] for e in head["events"]] == ["m0", "m1", "m2", "m3"]
    assert head["events"][0]["timestamp"] == start and "ingestionTime" in head["events"][0]
    put(logs, group, "s", ["m10"], start=start + 10_000)
    nxt = logs.get_log_events(logGroupName=group, logStreamName="s", nextToken=end["nextForwardToken"])
    assert [e["message"] for e in nxt["events"]] == ["m10"]
    # startTime inclusive, endTime exclusive
    window = logs.get_log_events(logGroupName=group, logStreamName="s", startTime=start + 2000,
                                 endTime=start + 5000, startFromHead=True)
    assert [e["message"] for e in window["events"]] == ["m2", "m3", "m4"]
    assert error_of(logs.get_log_events, logGroupName=group, logStreamName="s", nextToken="f/123")[0] == (
        "InvalidParameterException")
    assert error_of(logs.get_log_events, logGroupName=group, logStreamName="nope") == (
        "ResourceNotFoundException", "The specified log stream does not exist.", 400)


# -- FilterLogEvents --------------------------------------------------------------------------------
@pytest.fixture
def filled(logs: Any, group: str) -> tuple[str, int]:
    start = now_ms() - 60_000
    logs.create_log_stream(logGroupName=group, logStreamName="web-1")
    logs.create_log_stream(logGroupName=group, logStreamName="web-2")
    logs.create_log_stream(logGroupName=group, logStreamName="worker")
    put(logs, group, "web-1", ["[ERROR] IllegalArgumentException in handler", "INFO request served"],
        start=start, step=10)
    put(logs, group, "web-2", ["WARN slow disk", "INFO Failed to process the request"], start=start + 5, step=10)
    put(logs, group, "worker", [json.dumps({"level": "error", "latency": 750, "user": {"id": 7}}),
                                json.dumps({"level": "info", "latency": 20, "ip": "10.1.2.3"})],
        start=start + 7, step=10)
    return group, start


def messages_of(logs: Any, group: str, pattern: str, **kwargs: Any) -> list[str]:
    return [e["message"] for e in logs.filter_log_events(logGroupName=group, filterPattern=pattern, **kwargs)["events"]]


def test_filter_interleaves_streams_in_time_order(logs: Any, filled: tuple[str, int]) -> None:
    group, start = filled
    out = logs.filter_log_events(logGroupName=group, interleaved=True)
    assert [(e["logStreamName"], e["timestamp"] - start) for e in out["events"]] == [
        ("web-1", 0), ("web-2", 5), ("worker", 7), ("web-1", 10), ("web-2", 15), ("worker", 17)]
    assert len({e["eventId"] for e in out["events"]}) == 6 and out["searchedLogStreams"] == []
    assert "nextToken" not in out
    assert len(messages_of(logs, group, "", logStreamNames=["web-2", "worker"])) == 4
    assert len(messages_of(logs, group, "", logStreamNamePrefix="web")) == 4
    assert messages_of(logs, group, "", startTime=start + 7, endTime=start + 15) == [
        json.dumps({"level": "error", "latency": 750, "user": {"id": 7}}), "INFO request served",
        "INFO Failed to process the request"]  # both ends inclusive
    code, message, _ = error_of(logs.filter_log_events, logGroupName=group, logStreamNames=["a"],
                                logStreamNamePrefix="a")
    assert code == "InvalidParameterException" and "mutually exclusive" in message


def test_filter_patterns_text_and_json(logs: Any, filled: tuple[str, int]) -> None:
    group, _ = filled
    assert messages_of(logs, group, "ERROR Exception") == ["[ERROR] IllegalArgumentException in handler"]
    # case-sensitive substrings: only the JSON event has "error" in lower case
    assert messages_of(logs, group, "error") == [json.dumps({"level": "error", "latency": 750, "user": {"id": 7}})]
    assert messages_of(logs, group, '"Failed to process"') == ["INFO Failed to process the request"]
    assert messages_of(logs, group, "?WARN ?ERROR") == ["[ERROR] IllegalArgumentException in handler",
                                                        "WARN slow disk"]
    assert messages_of(logs, group, "INFO -Failed") == ["INFO request served"]
    assert messages_of(logs, group, "%ILL?egal%") == []
    assert messages_of(logs, group, "%Ill?egal%") == ["[ERROR] IllegalArgumentException in handler"]
    assert len(messages_of(logs, group, '{ $.level = "error" }')) == 1
    assert len(messages_of(logs, group, "{ $.latency > 100 || $.ip = 10.1.* }")) == 2
    assert len(messages_of(logs, group, "{ ($.latency >= 20) && $.user.id = 7 }")) == 1
    assert len(messages_of(logs, group, "{ $.user NOT EXISTS }")) == 1
    code, message, _ = error_of(logs.filter_log_events, logGroupName=group, filterPattern="{ $.level = }")
    assert code == "InvalidParameterException"
    code, message, _ = error_of(logs.filter_log_events, logGroupName=group, filterPattern="{ $.level = 1")
    assert (code, message) == ("InvalidParameterException", "If a filter pattern starts with '{' it must end with '}'")
    code, message, _ = error_of(logs.filter_log_events, logGroupName=group, filterPattern="[ip, user]")
    assert code == "InvalidParameterException" and "Space-delimited" in message


def test_filter_pagination_with_next_token(logs: Any, group: str) -> None:
    logs.create_log_stream(logGroupName=group, logStreamName="a")
    logs.create_log_stream(logGroupName=group, logStreamName="b")
    start = now_ms() - 60_000
    put(logs, group, "a", [f"hit a{i}" if i % 3 else f"miss a{i}" for i in range(12)], start=start, step=2)
    put(logs, group, "b", [f"hit b{i}" for i in range(5)], start=start + 1, step=2)
    seen: list[str] = []
    token = None
    for _ in range(20):
        kwargs: dict[str, Any] = {"logGroupName": group, "filterPattern": "hit", "limit": 4}
        if token:
            kwargs["nextToken"] = token
        out = logs.filter_log_events(**kwargs)
        assert len(out["events"]) <= 4
        seen += [e["message"] for e in out["events"]]
        token = out.get("nextToken")
        if token is None:
            break
    expected = [e["message"] for e in logs.filter_log_events(logGroupName=group, filterPattern="hit")["events"]]
    assert seen == expected and len(expected) == 8 + 5
    paginator = logs.get_paginator("filter_log_events")
    assert [e["message"] for page in paginator.paginate(logGroupName=group, filterPattern="hit",
                                                        PaginationConfig={"PageSize": 5})
            for e in page["events"]] == expected
    assert error_of(logs.filter_log_events, logGroupName=group, nextToken="garbage")[0] == (
        "InvalidParameterException")
    assert error_of(logs.filter_log_events, logGroupName=group + "-none") == (
        "ResourceNotFoundException", "The specified log group does not exist.", 400)


def test_unimplemented_operation_is_named(logs: Any) -> None:
    code, message, status = error_of(logs.describe_metric_filters)
    assert (code, status) == ("NotImplemented", 501) and "DescribeMetricFilters" in message


# -- server-level: persistence, reset, health -------------------------------------------------------
def test_state_survives_restart_lambda_lines_do_not(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    now = now_ms()
    with miniaws_server(data_dir=data, ephemeral=False) as aws:
        logs = aws.client("logs")
        logs.create_log_group(logGroupName="/durable", tags={"k": "v"})
        logs.put_retention_policy(logGroupName="/durable", retentionInDays=14)
        logs.create_log_stream(logGroupName="/durable", logStreamName="s")
        put(logs, "/durable", "s", ["one", "two"], start=now)
        put(logs, "/durable", "s", ["three"], start=now + 5)
        logs.create_log_group(logGroupName="/gone")
        logs.delete_log_group(logGroupName="/gone")
        runtime_logs = aws.server_thread.server.services["lambda"].runtime.logs  # type: ignore[attr-defined]
        aws.server_thread.call(_append(runtime_logs, "/aws/lambda/fn", "2024/01/01/[$LATEST]abc", "in memory"))
        assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["/aws/lambda/fn", "/durable"]
    with miniaws_server(data_dir=data, ephemeral=False) as aws:
        logs = aws.client("logs")
        groups = logs.describe_log_groups()["logGroups"]
        assert [(g["logGroupName"], g.get("retentionInDays")) for g in groups] == [("/durable", 14)]
        assert logs.list_tags_log_group(logGroupName="/durable")["tags"] == {"k": "v"}
        got = logs.get_log_events(logGroupName="/durable", logStreamName="s", startFromHead=True)["events"]
        assert [(e["message"], e["timestamp"]) for e in got] == [("one", now), ("two", now + 1), ("three", now + 5)]
        put(logs, "/durable", "s", ["four"], start=now + 6)
        assert [e["message"] for e in logs.filter_log_events(logGroupName="/durable")["events"]][-1] == "four"
        # reset forgets everything; health lists the service like the others
        with urllib.request.urlopen(urllib.request.Request(f"{aws.endpoint_url}/_miniaws/reset", method="POST")):
            pass
        assert logs.describe_log_groups()["logGroups"] == []
        with urllib.request.urlopen(f"{aws.endpoint_url}/_miniaws/health") as response:
            assert json.loads(response.read())["services"]["logs"] == "running"


async def _append(store: Any, group: str, stream: str, message: str) -> None:
    store.append(group, stream, message)
