"""A KMS service on a fake clock and a recording journal, called directly (no sockets)."""
from __future__ import annotations

from typing import Any

import pytest

from miniaws.config import Config
from miniaws.core.clock import FakeClock
from miniaws.core.context import Principal, RequestContext
from miniaws.services.kms.api import KmsService
from tests.helpers.journals import RecordingJournal

__all__ = ["ACCOUNT", "REGION", "Kms", "RecordingJournal"]

ACCOUNT = "111122223333"
REGION = "eu-west-1"


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
