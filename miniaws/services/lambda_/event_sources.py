"""Event source mappings: the model (which queue feeds which function, in what batches) and its journaled store.
Synchronous, no I/O; the pollers that act on a mapping are in sqs_poller.py.

https://docs.aws.amazon.com/lambda/latest/api/API_EventSourceMappingConfiguration.html
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from miniaws.state.journal import Journal

NS_MAPPING = "lambda.esm"
#: what LastProcessingResult says before the first batch
NO_RECORDS = "No records processed"


@dataclass(slots=True)
class EventSourceMapping:
    uuid: str
    account: str
    region: str
    source_arn: str
    #: the function's name and the qualifier (version or alias) the mapping invokes, if any
    function_name: str
    qualifier: str | None
    batch_size: int
    #: MaximumBatchingWindowInSeconds
    window: int
    enabled: bool
    last_modified: float
    response_types: list[str] = field(default_factory=list)
    #: ScalingConfig.MaximumConcurrency (None: not set)
    max_concurrency: int | None = None
    last_result: str = NO_RECORDS

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:event-source-mapping:{self.uuid}"

    @property
    def function_arn(self) -> str:
        arn = f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name}"
        return f"{arn}:{self.qualifier}" if self.qualifier else arn

    @property
    def state(self) -> str:
        return "Enabled" if self.enabled else "Disabled"

    @property
    def reports_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.response_types

    def record(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "EventSourceMapping":
        return cls(**record)

    def wire(self, state: str | None = None) -> dict[str, Any]:
        """EventSourceMappingConfiguration; `state` overrides the settled State (Creating, Updating, ...) in the
        answer to the call that started the transition."""
        out: dict[str, Any] = {
            "UUID": self.uuid, "BatchSize": self.batch_size, "MaximumBatchingWindowInSeconds": self.window,
            "EventSourceArn": self.source_arn, "FunctionArn": self.function_arn, "LastModified": self.last_modified,
            "LastProcessingResult": self.last_result, "State": state or self.state,
            "StateTransitionReason": "USER_INITIATED", "FunctionResponseTypes": list(self.response_types),
            "EventSourceMappingArn": self.arn,
        }
        if self.max_concurrency is not None:
            out["ScalingConfig"] = {"MaximumConcurrency": self.max_concurrency}
        return out


class MappingStore:
    """Mappings by UUID; every change is journaled before the response goes out (DESIGN §6)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.mappings: dict[str, EventSourceMapping] = {}

    def get(self, uuid: str) -> EventSourceMapping | None:
        return self.mappings.get(uuid)

    def save(self, mapping: EventSourceMapping) -> None:
        self.mappings[mapping.uuid] = mapping
        self.journal.put(NS_MAPPING, mapping.uuid, orjson.dumps(mapping.record()))

    def delete(self, mapping: EventSourceMapping) -> None:
        self.mappings.pop(mapping.uuid, None)
        self.journal.delete(NS_MAPPING, mapping.uuid)

    def of(self, account: str, region: str) -> Iterator[EventSourceMapping]:
        """The scope's mappings in a stable order (by UUID, so pages hold still while mappings change)."""
        for mapping in sorted(self.mappings.values(), key=lambda m: m.uuid):
            if mapping.account == account and mapping.region == region:
                yield mapping

    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        for _, value in rows.get(NS_MAPPING, ()):
            mapping = EventSourceMapping.from_record(orjson.loads(value))
            self.mappings[mapping.uuid] = mapping

    def reset(self) -> None:
        self.mappings.clear()
