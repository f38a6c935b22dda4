"""The CloudWatch Logs store: groups per account and region, their streams and events, retention, the memory caps,
and the journal records. Synchronous, no I/O. Also the one place Lambda's function logs are written to
(`append_lines`, through functions/logs.py), so the API and the runtime read the same events.

Durability: groups, streams, retention and tags made or changed through the API are journaled (`logs.group`,
`logs.stream`); every accepted PutLogEvents batch is one `logs.events` record keyed by its stream and first
sequence number, deleted once retention or the caps have dropped all its events. Lines Lambda writes for its
functions are kept in memory only — cheap on the invoke path, gone after a restart (a Lambda group or stream
becomes durable when the API changes it: retention, tags, CreateLogStream, PutLogEvents).

Memory is bounded per log group (AWS keeps everything; an emulator cannot): past GROUP_EVENT_CAP events or
GROUP_BYTE_CAP bytes (message characters + 26 per event), the oldest events of the group are dropped until it is back
under 90% of both, so the cost is paid in batches. A Lambda stream emptied that way is forgotten.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterator
from operator import itemgetter

import orjson

from miniaws.core.clock import Clock
from miniaws.services.logs.models import (CHUNK, DAY_MS, EVENT_OVERHEAD, INGESTED, MESSAGE, SEQ, TS, LogEvent,
                                          LogGroup, LogStream, held_size)
from miniaws.state.journal import Journal

NS_GROUP = "logs.group"
NS_STREAM = "logs.stream"
NS_EVENTS = "logs.events"

GROUP_EVENT_CAP = 10_000
GROUP_BYTE_CAP = 16 * 1024 * 1024


class LogsStore:
    def __init__(self, journal: Journal, clock: Clock, event_cap: int = GROUP_EVENT_CAP,
                 byte_cap: int = GROUP_BYTE_CAP) -> None:
        self.journal = journal
        self.clock = clock
        self.event_cap = event_cap
        self.byte_cap = byte_cap
        #: (account, region) -> group name -> group
        self.regions: dict[tuple[str, str], dict[str, LogGroup]] = {}
        self._seq = 1

    def now_ms(self) -> int:
        return int(self.clock.now() * 1000)

    def _take_seqs(self, count: int) -> int:
        first = self._seq
        self._seq += count
        return first

    # -- groups ---------------------------------------------------------------------------------
    def groups(self, account: str, region: str) -> dict[str, LogGroup]:
        found = self.regions.get((account, region))
        if found is None:
            found = self.regions[(account, region)] = {}
        return found

    def get_group(self, account: str, region: str, name: str) -> LogGroup | None:
        groups = self.regions.get((account, region))
        return groups.get(name) if groups is not None else None

    def all_groups(self) -> Iterator[LogGroup]:
        for groups in self.regions.values():
            yield from groups.values()

    def add_group(self, group: LogGroup) -> None:
        self.groups(group.account, group.region)[group.name] = group
        if group.durable:
            self.save_group(group)

    def save_group(self, group: LogGroup) -> None:
        """Journal the group's settings; an implicit (Lambda) group becomes durable from here on."""
        group.durable = True
        self.journal.put(NS_GROUP, group.key, orjson.dumps(group.record()))

    def remove_group(self, group: LogGroup) -> None:
        for stream in list(group.streams.values()):
            self.remove_stream(group, stream)
        self.groups(group.account, group.region).pop(group.name, None)
        if group.durable:
            self.journal.delete(NS_GROUP, group.key)

    # -- streams --------------------------------------------------------------------------------
    def add_stream(self, group: LogGroup, name: str, created: int, durable: bool) -> LogStream:
        stream = group.streams[name] = LogStream(name, created)
        if durable:
            self.save_stream(group, stream)
        return stream

    def save_stream(self, group: LogGroup, stream: LogStream) -> None:
        if not group.durable:
            self.save_group(group)
        stream.durable = True
        self.journal.put(NS_STREAM, f"{group.key}:{stream.name}",
                         orjson.dumps({"n": stream.name, "t": stream.created}))

    def remove_stream(self, group: LogGroup, stream: LogStream) -> None:
        self._drop(group, stream, len(stream.events))
        group.streams.pop(stream.name, None)
        if stream.durable:
            self.journal.delete(NS_STREAM, f"{group.key}:{stream.name}")

    # -- events ---------------------------------------------------------------------------------
    def put_events(self, group: LogGroup, stream: LogStream, batch: list[tuple[int, str]], now: int) -> int:
        """Store an accepted, chronological PutLogEvents batch as one journal record; returns the last event's
        sequence number (the batch's nextSequenceToken)."""
        if not stream.durable:
            self.save_stream(group, stream)
        if not batch:
            return self._seq - 1
        first = self._take_seqs(len(batch))
        events = [(ts, first + i, now, message, first) for i, (ts, message) in enumerate(batch)]
        self.journal.put(NS_EVENTS, f"{group.key}:{stream.name}:{first}",
                         orjson.dumps([[e[TS], e[SEQ], e[INGESTED], e[MESSAGE]] for e in events]))
        self._account(group, stream, events, sum(len(message) for _, message in batch))
        return events[-1][SEQ]

    def append_lines(self, account: str, region: str, group_name: str, stream_name: str, lines: list[str],
                     timestamp: int | None = None) -> None:
        """Lambda's log lines for one environment's stream (memory only). The group and the stream are created
        on first use, as Lambda does when its role may (logs:CreateLogGroup, logs:CreateLogStream)."""
        if not lines:
            return
        now = self.now_ms()
        group = self.get_group(account, region, group_name)
        if group is None:
            group = LogGroup(account, region, group_name, now)
            self.add_group(group)
        stream = group.streams.get(stream_name)
        if stream is None:
            stream = self.add_stream(group, stream_name, now, durable=False)
        when = now if timestamp is None else timestamp
        first = self._take_seqs(len(lines))
        self._account(group, stream, [(when, seq, now, line, 0) for seq, line in enumerate(lines, first)],
                      sum(map(len, lines)))

    def _account(self, group: LogGroup, stream: LogStream, events: list[LogEvent], characters: int) -> None:
        stream.add(events)
        group.event_count += len(events)
        group.stored_bytes += characters + EVENT_OVERHEAD * len(events)
        if group.event_count > self.event_cap or group.stored_bytes > self.byte_cap:
            self._shrink(group)

    def expire(self, group: LogGroup, now: int) -> None:
        """Drop the events retention no longer keeps (AWS deletes them; we do it whenever the group is read)."""
        if group.retention is None:
            return
        cutoff = now - group.retention * DAY_MS
        for stream in group.streams.values():
            if stream.events and stream.events[0][TS] < cutoff:
                self._drop(group, stream, stream.index(cutoff))

    def _shrink(self, group: LogGroup) -> None:
        """The memory cap: drop the group's oldest events, across its streams, to 90% of both limits."""
        keep_events = self.event_cap - self.event_cap // 10
        keep_bytes = self.byte_cap - self.byte_cap // 10
        count, size = group.event_count, group.stored_bytes
        drops: dict[str, int] = {}
        live = [s for s in group.streams.values() if s.events]
        if len(live) == 1:  # the usual case (one busy environment): its oldest events, no merge needed
            events = live[0].events
            index = min(len(events), max(0, count - keep_events))
            size -= _characters(events[:index]) + EVENT_OVERHEAD * index
            while index < len(events) and size > keep_bytes:
                size, index = size - held_size(events[index][MESSAGE]), index + 1
            drops[live[0].name] = index
        else:
            heap = [(s.events[0][TS], s.events[0][SEQ], s.name) for s in live]
            heapq.heapify(heap)
            while heap and (count > keep_events or size > keep_bytes):
                _, _, name = heapq.heappop(heap)
                events = group.streams[name].events
                index = drops.get(name, 0)
                count, size, drops[name] = count - 1, size - held_size(events[index][MESSAGE]), index + 1
                if index + 1 < len(events):
                    heapq.heappush(heap, (events[index + 1][TS], events[index + 1][SEQ], name))
        for name, dropped in drops.items():
            stream = group.streams[name]
            self._drop(group, stream, dropped)
            if not stream.events and not stream.durable:
                del group.streams[name]

    def _drop(self, group: LogGroup, stream: LogStream, count: int) -> None:
        """Forget the stream's `count` oldest events, and the journal chunks left with none."""
        if count <= 0:
            return
        gone = stream.events[:count]
        del stream.events[:count]
        group.event_count -= len(gone)
        group.stored_bytes -= _characters(gone) + EVENT_OVERHEAD * len(gone)
        chunks = stream.chunks
        for event in gone if chunks else ():  # Lambda's lines belong to no chunk
            if event[CHUNK]:
                left = chunks[event[CHUNK]] - 1
                if left:
                    chunks[event[CHUNK]] = left
                else:
                    del chunks[event[CHUNK]]
                    self.journal.delete(NS_EVENTS, f"{group.key}:{stream.name}:{event[CHUNK]}")

    # -- lifecycle ------------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        for _, value in rows.get(NS_GROUP, ()):
            group = LogGroup.from_record(orjson.loads(value))
            self.groups(group.account, group.region)[group.name] = group
        for key, value in rows.get(NS_STREAM, ()):
            owner = self._group_by_key(key.rpartition(":")[0])
            if owner is not None:
                r = orjson.loads(value)
                owner.streams[r["n"]] = LogStream(r["n"], r["t"], durable=True)
        top = 0
        for key, value in rows.get(NS_EVENTS, ()):
            stream_key, _, chunk = key.rpartition(":")
            group_key, _, stream_name = stream_key.rpartition(":")
            owner = self._group_by_key(group_key)
            stream = owner.streams.get(stream_name) if owner is not None else None
            if owner is None or stream is None:
                continue
            events = [(ts, seq, ingestion, message, int(chunk))
                      for ts, seq, ingestion, message in orjson.loads(value)]
            top = max(top, events[-1][SEQ])
            self._account(owner, stream, events, _characters(events))
        self._seq = max(self._seq, top + 1)
        now = self.now_ms()
        for group in self.all_groups():
            self.expire(group, now)

    def _group_by_key(self, key: str) -> LogGroup | None:
        account, _, rest = key.partition(":")
        region, _, name = rest.partition(":")
        return self.get_group(account, region, name)

    def reset(self) -> None:
        self.regions.clear()


_message = itemgetter(MESSAGE)


def _characters(events: list[LogEvent]) -> int:
    return sum(map(len, map(_message, events)))
