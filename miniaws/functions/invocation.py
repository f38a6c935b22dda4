"""What the function runtime passes around: a function version to run, one invocation, and its outcome.

`FunctionSpec` is built by the Lambda service from a function version's configuration; the runtime never reads
the Lambda models. Environments are pooled per `FunctionSpec.key`, which changes whenever code or configuration
does, so an update retires the environments of the old revision.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    #: pool key: unqualified ARN + version + revision; a new key means new environments
    key: str
    function_name: str
    #: unqualified function ARN: the concurrency scope (reserved concurrency is per function)
    function_arn: str
    version: str
    runtime: str
    handler: str
    memory_mb: int
    timeout_s: int
    code_blob: str
    region: str
    account_id: str
    environment: tuple[tuple[str, str], ...] = ()
    #: blob ids of layer zips, in the function's order (later layers overwrite earlier files in AWS)
    layer_blobs: tuple[str, ...] = ()

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.function_name}"


@dataclass(slots=True)
class Outcome:
    """How one invocation ended. `kind` is ok | error | timeout | exit | init_error | throttled, or undelivered:
    the runtime went away (or did not come back) before asking for the event, which never reached it."""

    kind: str
    payload: bytes = b""
    #: errorType for errors (also the Lambda-Runtime-Function-Error-Type a runtime sent)
    error_type: str | None = None

    @property
    def failed(self) -> bool:
        return self.kind != "ok"


@dataclass(slots=True)
class Invocation:
    request_id: str
    payload: bytes
    invoked_arn: str
    #: epoch milliseconds at which the function times out (Lambda-Runtime-Deadline-Ms)
    deadline_ms: int
    trace_id: str
    client_context: str | None = None
    done: asyncio.Future[Outcome] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    #: monotonic time at which the runtime received the event (Duration starts here)
    started: float = 0.0
    finished: float = 0.0
    #: the runtime has received the event (its /next returned it)
    delivered: bool = False

    def finish(self, outcome: Outcome) -> bool:
        """Settle the invocation once; later reports (a response after a timeout) are ignored."""
        if self.done.done():
            return False
        self.done.set_result(outcome)
        return True


class Throttled(Exception):
    """No concurrency left for the function (reserved) or the account; Lambda answers 429."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
