"""One execution environment and its state machine: STARTING → READY ⇄ BUSY → STOPPED.

The Runtime API (runtime_api.py, or a fake worker in tests) drives it: the runtime's first
`GET /invocation/next` ends init (Init Duration); `/response` and `/error` settle the current invocation;
`/init/error` or the worker's exit stop it.

Lambda hands an event only to a runtime waiting in `/next`. READY means the runtime waits there; an environment
whose invocation is over stays BUSY ("returning") until its runtime asks again, bounded by the invocation's deadline
as Lambda bounds the whole Invoke phase by the function's timeout
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html). An invocation may claim a returning
environment — the warm path on loopback, where the next call often arrives before the runtime's `/next` — but its
event is handed over only when the runtime asks for it. If the runtime exits first (awslambdaric after a 413) the
invocation ends "undelivered", and the caller takes it to another environment; nothing reaches a dying runtime.
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
Watcher = Callable[["Environment"], None]


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
        #: the current invocation while its event waits for the runtime's next /next (claimed while returning)
        self._queued: Invocation | None = None
        #: the last invocation settled and released, and how it was settled (for a late second report)
        self._settled: tuple[str, str] | None = None
        #: called once the runtime asks for its next event, or the environment stops (see when_back)
        self._watcher: Watcher | None = None
        #: stops an environment whose runtime does not come back for its next event before the deadline
        self._overdue: asyncio.TimerHandle | None = None
        self.stopped: asyncio.Future[None] = loop.create_future()

    def __repr__(self) -> str:
        return f"<Environment {self.id} {self.spec.function_name}:{self.spec.version} {self.state.value}>"

    # -- the caller's side ----------------------------------------------------------------------
    async def wait_ready(self) -> None:
        """Return once init is done; raise nothing: on failure `init_failure` says why and the state is STOPPED."""
        await asyncio.shield(self._ready)

    def start_invocation(self, invocation: Invocation) -> None:
        """Hand over an event: at once to a runtime waiting in /next (READY), else (a returning environment) when
        its runtime asks for it."""
        if self.state is not State.READY and not self.returning:
            raise RuntimeError(f"cannot invoke {self!r}")
        self.state = State.BUSY
        self.current = invocation
        self.invocations += 1
        self._watcher = None  # taken: whoever waited for it to come back no longer does
        invocation.started = self.clock.monotonic()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            invocation.delivered = True
            waiter.set_result(invocation)
        else:
            self._queued = invocation

    def withdraw(self, invocation: Invocation) -> bool:
        """Take back an event the runtime has not asked for (it is slow to come back): True if it was withdrawn,
        the environment is then returning again."""
        if self._queued is not invocation or invocation.done.done():
            return False
        self._queued = None
        self.current = None
        self.invocations -= 1
        return True

    def fail_current(self, outcome: Outcome) -> None:
        """Settle the current invocation from outside (timeout, memory limit); the caller stops the environment."""
        invocation = self.current
        if invocation is not None:
            invocation.finished = self.clock.monotonic()
            invocation.finish(outcome)

    def released(self) -> None:
        """The invocation is over as far as the caller is concerned. READY at once if the runtime already waits in
        /next; else the environment stays BUSY (returning) until it does, for at most what is left of the
        invocation's timeout (then it is stopped)."""
        invocation, self.current = self.current, None
        self.last_used = self.clock.monotonic()
        if invocation is not None and invocation.done.done():
            outcome = invocation.done.result()
            self._settled = (invocation.request_id, "ResponseSent" if outcome.kind == "ok" else
                             "InvocationErrorResponse")
        if self.state is not State.BUSY:
            return
        if self._waiter is not None and not self._waiter.done():
            self.state = State.READY
        elif invocation is not None and self._overdue is None:
            remaining = max(0.0, self.spec.timeout_s - (self.clock.monotonic() - invocation.started))
            self._overdue = asyncio.get_running_loop().call_later(remaining, self._not_back)

    @property
    def returning(self) -> bool:
        """Released, its runtime not waiting for the next event yet."""
        return self.state is State.BUSY and self.current is None

    def when_back(self, watcher: Watcher) -> None:
        """Call `watcher(self)` once the runtime asks for its next event, or the environment has stopped: now if it
        is READY (waiting in /next) or STOPPED already. One watcher at a time."""
        if self.state is State.READY or self.state is State.STOPPED:
            watcher(self)
        else:
            self._watcher = watcher

    def _notify(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher(self)

    def _not_back(self) -> None:
        self._overdue = None
        if self.state is State.BUSY and (self.current is None or self._queued is self.current):
            log.info("%r: the runtime did not ask for its next event within the function's timeout; stopping it",
                     self)
            self.stop()

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
        if self._overdue is not None:
            self._overdue.cancel()
            self._overdue = None
        future: asyncio.Future[Invocation | None] = asyncio.get_running_loop().create_future()
        queued, self._queued = self._queued, None
        if queued is not None:
            # Duration runs from the moment the runtime receives the event
            queued.started = self.clock.monotonic()
            queued.delivered = True
            future.set_result(queued)
            return future
        self._waiter = future
        if self.state is State.STARTING:
            self.init_duration_ms = (self.clock.monotonic() - self.created) * 1000.0
            self.state = State.READY
            if self.worker is not None:
                self.peak_rss_mb = self.worker.peak_rss_mb()
            if not self._ready.done():
                self._ready.set_result(None)
        elif self.returning:
            # back for the next event after a released invocation: available again
            self.state = State.READY
        if self._watcher is not None:
            self._notify()
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
        self._undeliverable()
        if self.current is not None:
            self.fail_current(failure)
        self._mark_stopped()

    def _settle(self, request_id: str, outcome: Outcome) -> None:
        invocation = self.current
        target = "ResponseSent" if outcome.kind == "ok" else "InvocationErrorResponse"
        if invocation is not None and invocation.request_id == request_id:
            if invocation.done.done():
                settled = invocation.done.result()
                raise _not_allowed("ResponseSent" if settled.kind == "ok" else "InvocationErrorResponse", target)
            invocation.finished = self.clock.monotonic()
            invocation.finish(outcome)
            return
        if self._settled is not None and self._settled[0] == request_id and (invocation is None
                                                                            or not invocation.delivered):
            # a second report for the invocation just settled, before the runtime's next /next
            raise _not_allowed(self._settled[1], target)
        raise RuntimeApiError(400, "InvalidRequestID", f"no invocation {request_id} in progress")

    def _undeliverable(self) -> None:
        """The runtime is gone before asking for the event it was to get: the caller takes it elsewhere."""
        queued, self._queued = self._queued, None
        if queued is not None:
            queued.finish(Outcome("undelivered"))

    def _mark_stopped(self) -> None:
        if self.state is State.STOPPED:
            return
        self._undeliverable()
        if self._overdue is not None:
            self._overdue.cancel()
            self._overdue = None
        self.state = State.STOPPED
        if not self._ready.done():
            self._ready.set_result(None)
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if not self.stopped.done():
            self.stopped.set_result(None)
        self._notify()


def _not_allowed(state: str, target: str) -> RuntimeApiError:
    """A second /response or /error for a settled invocation: Lambda's Runtime API answers 403
    InvalidStateTransition (the wording follows AWS's runtime interface emulator, from memory)."""
    return RuntimeApiError(403, "InvalidStateTransition", f"State transition from {state} to {target} failed "
                                                          "for runtime. Error: State transition is not allowed")


def _signal_name(number: int) -> str:
    import signal

    # Go's wording, as AWS's runtime reports it ("signal: killed")
    names = {signal.SIGKILL: "killed", signal.SIGSEGV: "segmentation fault", signal.SIGTERM: "terminated",
             signal.SIGABRT: "aborted"}
    try:
        return names.get(signal.Signals(number), signal.Signals(number).name.lower())
    except ValueError:
        return str(number)
