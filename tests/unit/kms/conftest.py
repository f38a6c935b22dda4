"""A KMS service on a fake clock and a recording journal, called directly (no sockets)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from miniaws.config import Config
from miniaws.core.clock import FakeClock
from miniaws.core.context import Principal, RequestContext
from miniaws.services.kms.api import KmsService

ACCOUNT = "111122223333"
REGION = "eu-west-1"


class RecordingJournal:
    """Keeps the latest value per (namespace, key), like the SQLite journal after a commit."""

    def __init__(self) -> None:
        self.write_count = 0
        self.rows: dict[tuple[str, str], bytes] = {}

    def put(self, ns: str, key: str, value: bytes) -> None:
        self.write_count += 1
        self.rows[(ns, key)] = value

    def delete(self, ns: str, key: str) -> None:
        self.write_count += 1
        self.rows.pop((ns, key), None)

    def after_commit(self, callback: Callable[[], None]) -> None:
        callback()

    async def durable(self) -> None:
        return None

    async def clear(self) -> None:
        self.rows.clear()

    async def close(self) -> None:
        return None

    def grouped(self) -> dict[str, list[tuple[str, bytes]]]:
        out: dict[str, list[tuple[str, bytes]]] = {}
        for (ns, key), value in sorted(self.rows.items()):
            out.setdefault(ns, []).append((key, value))
        return out


class Kms:
    """The service plus what a test needs to drive it: a clock to advance and a call helper."""

    def __init__(self, config: Config, clock: FakeClock, journal: RecordingJournal) -> None:
        self.config, self.clock, self.journal = config, clock, journal
        self.service = KmsService(config, clock, journal)

    async def __call__(self, operation: str, account: str = ACCOUNT, region: str = REGION,
                       **params: Any) -> Any:
        ctx = RequestContext("kms", operation, account, region, "req", self.clock, Principal(None, account))
        return await self.service.call(operation, ctx, params)


@pytest.fixture
def kms() -> Kms:
    return Kms(Config(ephemeral=True), FakeClock(), RecordingJournal())
