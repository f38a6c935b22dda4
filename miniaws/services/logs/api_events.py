"""Log event operations: PutLogEvents (AWS's batch rules), GetLogEvents (forward/backward tokens over one stream)
and FilterLogEvents (streams of a group interleaved by time, filtered by a pattern)."""
from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.logs.api_common import LogsBase
from miniaws.services.logs.errors import InvalidParameterException, stream_not_found
from miniaws.services.logs.filters import PatternError, compile_pattern
from miniaws.services.logs.models import DAY_MS, INGESTED, MESSAGE, SEQ, TS, LogEvent, LogStream, event_size
from miniaws.services.logs.tokens import (Position, event_id, opaque, parse_opaque, parse_stream_token,
                                          sequence_token, stream_token)

# PutLogEvents quotas (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html)
MAX_BATCH_BYTES = 1_048_576
MAX_BATCH_SPAN_MS = DAY_MS
TOO_NEW_MS = 2 * 3_600_000
TOO_OLD_MS = 14 * DAY_MS
#: GetLogEvents and FilterLogEvents return at most 10,000 events or 1 MB
MAX_EVENTS = 10_000
MAX_RESPONSE_BYTES = 1_048_576


class EventOperations(LogsBase):
    @operation("PutLogEvents")
    def put_log_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        group = self.group_named(ctx, params["logGroupName"])
        stream = group.streams.get(params["logStreamName"])
        if stream is None:
            raise stream_not_found()
        # sequenceToken is ignored: AWS stopped enforcing it in 2023 (no InvalidSequenceTokenException,
        # no DataAlreadyAcceptedException)
        batch = [(event["timestamp"], event["message"]) for event in params["logEvents"]]
        size = sum(event_size(message) for _, message in batch)
        if size > MAX_BATCH_BYTES:
            raise InvalidParameterException(f"Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}")
        if any(batch[i][0] < batch[i - 1][0] for i in range(1, len(batch))):
            raise InvalidParameterException("Log events in a single PutLogEvents request must be in chronological "
                                            "order.")
        if batch[-1][0] - batch[0][0] > MAX_BATCH_SPAN_MS:
            raise InvalidParameterException("The batch of log events in a single PutLogEvents request cannot span "
                                            "more than 24 hours.")
        now = self.now_ms()
        # events too far in the past or future, or older than the retention period, are rejected, not an error;
        # the batch is chronological, so each kind is a prefix or a suffix named by an index
        too_old = _last_before(batch, now - TOO_OLD_MS)
        expired = _last_before(batch, now - group.retention * DAY_MS) if group.retention is not None else -1
        too_new = next((i for i, (ts, _) in enumerate(batch) if ts > now + TOO_NEW_MS), None)
        accepted = batch[max(too_old, expired) + 1:too_new]
        seq = self.store.put_events(group, stream, accepted, now)
        out: dict[str, Any] = {"nextSequenceToken": sequence_token(seq)}
        rejected: dict[str, int] = {}
        if too_new is not None:
            rejected["tooNewLogEventStartIndex"] = too_new
        if too_old >= 0:
            rejected["tooOldLogEventEndIndex"] = too_old
        if expired >= 0:
            rejected["expiredLogEventEndIndex"] = expired
        if rejected:
            out["rejectedLogEventsInfo"] = rejected
        return out

    @operation("GetLogEvents")
    def get_log_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        group = self.group_of(ctx, params)
        stream = group.streams.get(params["logStreamName"])
        if stream is None:
            raise stream_not_found()
        self.store.expire(group, self.now_ms())
        events = stream.events
        start, end = params.get("startTime"), params.get("endTime")
        low = stream.index(start) if start is not None else 0
        # endTime is exclusive here ("events with a timestamp equal to or later than this time are not included")
        high = stream.index(end) if end is not None else len(events)
        limit = params.get("limit") or MAX_EVENTS
        token = params.get("nextToken")
        direction, position = parse_stream_token(token) if token else ("", (0, 0))
        if direction == "f":
            low = max(low, stream.index(*position))
        elif direction == "b":
            high = min(high, stream.index(*position))
        forward = direction == "f" or (not direction and bool(params.get("startFromHead")))
        first, last = _window(events, low, high, limit, forward)
        chosen = events[first:last]
        return {
            "events": [{"timestamp": e[TS], "message": e[MESSAGE], "ingestionTime": e[INGESTED]}
                       for e in chosen],
            # at either end the token that was passed comes back unchanged, so a reader can poll with it
            "nextForwardToken": token if direction == "f" and not chosen else stream_token("f", _after(stream, last)),
            "nextBackwardToken": token if direction == "b" and not chosen else stream_token("b", _at(stream, first)),
        }

    @operation("FilterLogEvents")
    def filter_log_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        group = self.group_of(ctx, params)
        names, prefix = params.get("logStreamNames"), params.get("logStreamNamePrefix")
        if names is not None and prefix is not None:
            raise InvalidParameterException("logStreamNames and logStreamNamePrefix are mutually exclusive "
                                            "parameters.")
        try:
            matches = compile_pattern(params.get("filterPattern"))
        except PatternError as exc:
            raise InvalidParameterException(str(exc)) from None
        self.store.expire(group, self.now_ms())
        if names is not None:
            streams = [group.streams[name] for name in dict.fromkeys(names) if name in group.streams]
        else:
            streams = [s for s in group.streams.values() if prefix is None or s.name.startswith(prefix)]
        token = params.get("nextToken")
        cursor: Position = (0, 0)
        if token is not None:
            decoded = parse_opaque("filter", token)
            if not (isinstance(decoded, list) and len(decoded) == 2 and all(isinstance(v, int) for v in decoded)):
                raise InvalidParameterException("The specified nextToken is invalid.")
            cursor = (decoded[0], decoded[1])
        start, end = params.get("startTime"), params.get("endTime")
        limit = params.get("limit") or MAX_EVENTS
        found: list[dict[str, Any]] = []
        budget = MAX_RESPONSE_BYTES
        last: LogEvent | None = None
        more = False
        for event, stream in _interleaved(streams, max(cursor, (start or 0, 0)), end):
            if not matches(event[MESSAGE]):
                continue
            size = event_size(event[MESSAGE])
            if len(found) >= limit or size > budget:
                more = True
                break
            budget -= size
            last = event
            found.append({"logStreamName": stream.name, "timestamp": event[TS], "message": event[MESSAGE],
                          "ingestionTime": event[INGESTED], "eventId": event_id(event[TS], event[SEQ])})
        out: dict[str, Any] = {"events": found, "searchedLogStreams": []}  # searchedLogStreams: deprecated, empty
        if more and last is not None:
            # only while matching events remain: the last page has no nextToken
            out["nextToken"] = opaque("filter", [last[TS], last[SEQ] + 1])
        return out


def _last_before(batch: list[tuple[int, str]], cutoff: int) -> int:
    """Index of the last event older than `cutoff` in a chronological batch, or -1."""
    last = -1
    for index, (ts, _) in enumerate(batch):
        if ts >= cutoff:
            break
        last = index
    return last


def _window(events: list[LogEvent], low: int, high: int, limit: int, forward: bool) -> tuple[int, int]:
    """The slice [first, last) of events[low:high] a page holds: `limit` events and 1 MB at most, taken from the
    low end when reading forward, from the high end otherwise."""
    if high <= low:
        return (low, low) if forward else (high, high)
    budget, count = MAX_RESPONSE_BYTES, 0
    if forward:
        last = low
        while last < high and count < limit:
            budget -= event_size(events[last][MESSAGE])
            if budget < 0:
                break
            last, count = last + 1, count + 1
        return low, last
    first = high
    while first > low and count < limit:
        budget -= event_size(events[first - 1][MESSAGE])
        if budget < 0:
            break
        first, count = first - 1, count + 1
    return first, high


def _at(stream: LogStream, index: int) -> Position:
    """The position of events[index] (its start), or just past the last event at the end."""
    if index < len(stream.events):
        event = stream.events[index]
        return event[TS], event[SEQ]
    return _after(stream, index)


def _after(stream: LogStream, index: int) -> Position:
    """The position just past events[index - 1]: a forward read from it starts with the event after it."""
    if index <= 0:
        return _at(stream, 0) if stream.events else (0, 0)
    event = stream.events[index - 1]
    return event[TS], event[SEQ] + 1


def _interleaved(streams: list[LogStream], start: Position, end: int | None) -> Iterator[tuple[LogEvent, LogStream]]:
    """The events of `streams` from `start` to `end` (inclusive: FilterLogEvents' endTime is) in time order."""
    def one(stream: LogStream) -> Iterator[tuple[int, int, LogEvent, LogStream]]:
        events = stream.events
        stop = stream.index(end + 1) if end is not None else len(events)
        for index in range(stream.index(*start), stop):
            event = events[index]
            yield event[TS], event[SEQ], event, stream

    # (timestamp, seq) is unique, so the merge never compares events or streams
    for _, _, event, stream in heapq.merge(*(one(s) for s in streams)):
        yield event, stream

