"""Log stream operations: create, delete, describe (by name or by last event time, either direction)."""
from __future__ import annotations

from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.logs.api_common import LogsBase, paginate
from miniaws.services.logs.errors import InvalidParameterException, ResourceAlreadyExistsException, stream_not_found
from miniaws.services.logs.models import TS, LogGroup, LogStream
from miniaws.services.logs.tokens import sequence_token


def describe_stream(group: LogGroup, stream: LogStream) -> dict[str, Any]:
    out: dict[str, Any] = {"logStreamName": stream.name, "creationTime": stream.created,
                           "arn": stream.arn(group), "storedBytes": 0}  # storedBytes: deprecated, always 0
    if stream.events:
        out["firstEventTimestamp"] = stream.events[0][TS]
        out["lastEventTimestamp"] = stream.events[-1][TS]
        out["uploadSequenceToken"] = sequence_token(stream.last_seq)
    if stream.last_ingestion is not None:
        out["lastIngestionTime"] = stream.last_ingestion
    return out


class StreamOperations(LogsBase):
    @operation("CreateLogStream")
    def create_log_stream(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        group = self.group_named(ctx, params["logGroupName"])
        name = params["logStreamName"]
        if name in group.streams:
            raise ResourceAlreadyExistsException("The specified log stream already exists")
        self.store.add_stream(group, name, self.now_ms(), durable=True)
        return {}

    @operation("DeleteLogStream")
    def delete_log_stream(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        group = self.group_named(ctx, params["logGroupName"])
        stream = group.streams.get(params["logStreamName"])
        if stream is None:
            raise stream_not_found()
        self.store.remove_stream(group, stream)
        return {}

    @operation("DescribeLogStreams")
    def describe_log_streams(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        group = self.group_of(ctx, params)
        prefix = params.get("logStreamNamePrefix")
        by_time = params.get("orderBy") == "LastEventTime"
        if by_time and prefix is not None:
            raise InvalidParameterException("Cannot order by LastEventTime with a logStreamNamePrefix.")
        self.store.expire(group, self.now_ms())
        descending = bool(params.get("descending"))

        def key(stream: LogStream) -> list[Any]:
            if by_time:
                return [stream.events[-1][TS] if stream.events else 0, stream.name]
            return [stream.name]

        streams = [s for s in group.streams.values() if prefix is None or s.name.startswith(prefix)]
        streams.sort(key=key, reverse=descending)
        page, token = paginate(streams, key, params, "streams", descending)
        out: dict[str, Any] = {"logStreams": [describe_stream(group, stream) for stream in page]}
        if token is not None:
            out["nextToken"] = token
        return out
