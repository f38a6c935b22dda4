"""CloudWatch Logs data: log groups, their streams and each stream's events, kept sorted by (timestamp, sequence).

Synchronous, no I/O, no wire formats: the store (store.py) journals, the operations (api_*.py) shape answers.
Every event carries a sequence number unique across the service, so (timestamp, seq) orders a stream totally and
is the position the GetLogEvents and FilterLogEvents tokens point at.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any, Final

from miniaws.core.arns import partition

#: CloudWatch Logs counts every event as its UTF-8 message plus 26 bytes (PutLogEvents batch size, storage)
EVENT_OVERHEAD = 26
DAY_MS = 86_400_000


def event_size(message: str) -> int:
    """What an event counts for in a PutLogEvents batch: its UTF-8 bytes plus 26."""
    return len(message.encode("utf-8")) + EVENT_OVERHEAD


def held_size(message: str) -> int:
    """What an event counts for in a group's storedBytes and memory cap: event_size with characters for bytes
    (exact for ASCII; cheaper than encoding every line Lambda writes)."""
    return len(message) + EVENT_OVERHEAD


#: One event: (timestamp, seq, ingestion time, message, journal chunk). A plain tuple, not a NamedTuple: a stream's
#: list then sorts and bisects by (timestamp, seq) with no key function, and building one costs a quarter as much
#: (Lambda writes one per line). The chunk is the journal record (PutLogEvents batch) holding the event; 0 for
#: lines kept only in memory (Lambda's).
LogEvent = tuple[int, int, int, str, int]
TS: Final = 0
SEQ: Final = 1
INGESTED: Final = 2
MESSAGE: Final = 3
CHUNK: Final = 4


@dataclass(slots=True)
class LogStream:
    name: str
    created: int
    #: made through the API (journaled); streams Lambda opens for its environments live in memory only
    durable: bool = False
    events: list[LogEvent] = field(default_factory=list)
    last_ingestion: int | None = None
    #: the newest event's sequence number: the stream's (no longer enforced) upload sequence token
    last_seq: int = 0
    #: live events per journal chunk: a chunk record is deleted once retention or the caps dropped all of them
    chunks: dict[int, int] = field(default_factory=dict)

    def add(self, events: list[LogEvent]) -> None:
        """Insert a chronological batch (from one journal chunk, or none). Lines usually arrive in order (a plain append); an older batch is merged
        by one sort, which is linear on two sorted runs."""
        if not events:
            return
        mine = self.events
        late = bool(mine) and events[0][TS] < mine[-1][TS]
        mine.extend(events)
        if late:
            mine.sort()
        chunk = events[0][CHUNK]  # one batch, one chunk
        if chunk:
            self.chunks[chunk] = self.chunks.get(chunk, 0) + len(events)
        newest = events[-1]
        if self.last_ingestion is None or newest[INGESTED] > self.last_ingestion:
            self.last_ingestion = newest[INGESTED]
        self.last_seq = max(self.last_seq, newest[SEQ])

    def index(self, timestamp: int, seq: int = 0) -> int:
        """Position of the first event at or after (timestamp, seq)."""
        return bisect_left(self.events, (timestamp, seq))

    def arn(self, group: "LogGroup") -> str:
        return f"{group.arn}:log-stream:{self.name}"


@dataclass(slots=True)
class LogGroup:
    account: str
    region: str
    name: str
    created: int
    retention: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    kms_key_id: str | None = None
    group_class: str = "STANDARD"
    deletion_protection: bool = False
    #: made or changed through the API (journaled); a group Lambda created implicitly lives in memory until then
    durable: bool = False
    streams: dict[str, LogStream] = field(default_factory=dict)
    event_count: int = 0
    #: sum of held_size() over the live events: DescribeLogGroups' storedBytes and the memory cap's measure
    stored_bytes: int = 0

    @property
    def key(self) -> str:
        # `:` is in neither a group nor a stream name (their patterns), so it separates journal key parts
        return f"{self.account}:{self.region}:{self.name}"

    @property
    def arn(self) -> str:
        """The logGroupArn form (no trailing `:*`), which tagging and logGroupIdentifier take."""
        return f"arn:{partition(self.region)}:logs:{self.region}:{self.account}:log-group:{self.name}"

    def describe(self) -> dict[str, Any]:
        """A LogGroup as DescribeLogGroups returns it (`arn` ends in `:*`, `logGroupArn` does not)."""
        out: dict[str, Any] = {
            "logGroupName": self.name, "creationTime": self.created, "metricFilterCount": 0,
            "arn": self.arn + ":*", "storedBytes": self.stored_bytes, "logGroupClass": self.group_class,
            "logGroupArn": self.arn, "deletionProtectionEnabled": self.deletion_protection,
        }
        if self.retention is not None:
            out["retentionInDays"] = self.retention
        if self.kms_key_id:
            out["kmsKeyId"] = self.kms_key_id
        return out

    def record(self) -> dict[str, Any]:
        return {"a": self.account, "r": self.region, "n": self.name, "t": self.created, "ret": self.retention,
                "tg": self.tags, "k": self.kms_key_id, "c": self.group_class, "dp": self.deletion_protection}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "LogGroup":
        return cls(r["a"], r["r"], r["n"], r["t"], r["ret"], dict(r["tg"]), r["k"], r["c"], r["dp"], durable=True)
