"""One execution environment and its state machine: STARTING → READY ⇄ BUSY → STOPPED.

The Runtime API (runtime_api.py, or a fake worker in tests) drives it: the runtime's first
`GET /invocation/next` ends init (Init Duration), each later one makes the environment READY again;
`/response` and `/error` settle the current invocation; `/init/error` or the worker's exit stop it.
Everything here is synchronous bookkeeping except the waits the caller awaits.
"""
from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable

from miniaws.core.clock import Clock
from miniaws.functions.executor import Worker
from miniaws.functions.invocation import FunctionSpec, Invocation, Outcome

log = logging.getLogger("miniaws.functions")

LogSink = Callable[["Environment", bytes], None]


class State(enum.Enum):
    STARTING = "STARTING"
    READY = "READY"
    BUSY = "BUSY"
    STOPPED = "STOPPED"


class RuntimeApiError(Exception):
    """A Runtime API call that does not fit the environment's state (e.g. a response for another request)."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type


class Environment:
    def __init__(self, env_id: str, spec: FunctionSpec, clock: Clock, on_log: LogSink | None = None) -> None:
        self.id = env_id
        self.spec = spec
        self.clock = clock
        self.state = State.STARTING
        #: started for provisioned concurrency (AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency)
        self.provisioned = False
        self.worker: Worker | None = None
        #: host:port of this environment's Runtime API (AWS_LAMBDA_RUNTIME_API)
        self.endpoint = ""
        self.created = clock.monotonic()
        self.last_used = self.created
        #: milliseconds from spawn to the runtime's first /next; reported once, on the first invocation
        self.init_duration_ms: float | None = None
        self.init_reported = False
        #: how init failed (init/error or an exit before the first /next), handed to the first invocation
        self.init_failure: Outcome | None = None
        self.current: Invocation | None = None
        self.invocations = 0
        #: the largest Max Memory Used reported so far (a killed worker can no longer be measured)
        self.peak_rss_mb = 0
        self._on_log = on_log
        loop = asyncio.get_running_loop()
        self._ready: asyncio.Future[None] = loop.create_future()
        #: the runtime's pending GET /next, if it is waiting (resolved with None when the environment stops)
        self._waiter: asyncio.Future[Invocation | None] | None = None
        #: an invocation handed over before the runtime came back for it
        self._queued: Invocation | None = None
        self.stopped: asyncio.Future[None] = loop.create_future()

    def __repr__(self) -> str:
        return f"<Environment {self.id} {self.spec.function_name}:{self.spec.version} {self.state.value}>"

    # -- the caller's side ----------------------------------------------------------------------
    async def wait_ready(self) -> None:
        """Return once init is done; raise nothing: on failure `init_failure` says why and the state is STOPPED."""
        await asyncio.shield(self._ready)

    def start_invocation(self, invocation: Invocation) -> None:
        if self.state is not State.READY:
            raise RuntimeError(f"cannot invoke {self!r}")
        self.state = State.BUSY
        self.current = invocation
        self.invocations += 1
        invocation.started = self.clock.monotonic()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(invocation)
        else:
            self._queued = invocation

    def fail_current(self, outcome: Outcome) -> None:
        """Settle the current invocation from outside (timeout, memory limit); the caller stops the environment."""
        invocation = self.current
        if invocation is not None:
            invocation.finished = self.clock.monotonic()
            invocation.finish(outcome)

    def released(self) -> None:
        """The invocation is over as far as the caller is concerned; the next /next makes us READY."""
        self.current = None
        self.last_used = self.clock.monotonic()
        if self.state is State.BUSY:
            self.state = State.READY

    def stop(self) -> None:
        """Kill the worker; its exit callback finishes the bookkeeping (also called when it is already gone)."""
        if self.worker is not None:
            self.worker.kill()
        self._mark_stopped()

    # -- the Runtime API's side -------------------------------------------------------------------
    def next_invocation(self) -> asyncio.Future[Invocation | None]:
        """GET /runtime/invocation/next: a future resolved with the next event (long poll), or with None if the
        environment stops first."""
        if self.state is State.STOPPED:
            raise RuntimeApiError(403, "Runtime.Stopped", "the execution environment is shutting down")
        if self.state is State.STARTING:
            self.init_duration_ms = (self.clock.monotonic() - self.created) * 1000.0
            self.state = State.READY
            if self.worker is not None:
                self.peak_rss_mb = self.worker.peak_rss_mb()
            if not self._ready.done():
                self._ready.set_result(None)
        future: asyncio.Future[Invocation | None] = asyncio.get_running_loop().create_future()
        queued, self._queued = self._queued, None
        if queued is not None:
            future.set_result(queued)
        else:
            self._waiter = future
        return future

    def respond(self, request_id: str, payload: bytes) -> None:
        """POST /runtime/invocation/<id>/response."""
        self._settle(request_id, Outcome("ok", payload))

    def error(self, request_id: str, payload: bytes, error_type: str | None) -> None:
        """POST /runtime/invocation/<id>/error."""
        self._settle(request_id, Outcome("error", payload, error_type or "Unhandled"))

    def init_error(self, payload: bytes, error_type: str | None) -> None:
        """POST /runtime/init/error: the environment cannot serve; the first invocation reports why."""
        if self.state is not State.STARTING:
            raise RuntimeApiError(403, "InvalidStateTransition", "init is already complete")
        self.init_failure = Outcome("init_error", payload, error_type or "Runtime.Unknown")
        self.stop()

    def output(self, data: bytes) -> None:
        if self._on_log is not None:
            self._on_log(self, data)

    def exited(self, status: int) -> None:
        """The worker process is gone (crash, kill, or a runtime that returned)."""
        reason = f"signal: {_signal_name(-status)}" if status < 0 else f"exit status {status}"
        failure = Outcome("exit", error_type="Runtime.ExitError",
                          payload=f"Runtime exited with error: {reason}".encode())
        if self.state is State.STARTING and self.init_failure is None:
            self.init_failure = failure
        if self.current is not None:
            self.fail_current(failure)
        self._mark_stopped()

    def _settle(self, request_id: str, outcome: Outcome) -> None:
        invocation = self.current
        if invocation is None or invocation.request_id != request_id:
            raise RuntimeApiError(400, "InvalidRequestID", f"no invocation {request_id} in progress")
        invocation.finished = self.clock.monotonic()
        invocation.finish(outcome)

    def _mark_stopped(self) -> None:
        if self.state is State.STOPPED:
            return
        self.state = State.STOPPED
        if not self._ready.done():
            self._ready.set_result(None)
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if not self.stopped.done():
            self.stopped.set_result(None)


def _signal_name(number: int) -> str:
    import signal

    # Go's wording, as AWS's runtime reports it ("signal: killed")
    names = {signal.SIGKILL: "killed", signal.SIGSEGV: "segmentation fault", signal.SIGTERM: "terminated",
             signal.SIGABRT: "aborted"}
    try:
        return names.get(signal.Signals(number), signal.Signals(number).name.lower())
    except ValueError:
        return str(number)
