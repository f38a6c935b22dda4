"""Provisioned concurrency: execution environments started ahead of invocations, kept warm, replaced when they die
(https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html).

An `Allocation` is one provisioned concurrency configuration: N environments of one function version (an alias is
resolved to its version by the caller). `Provisioner` launches them in the background, runs their init, hands idle
ones to the pool, takes them back after each invocation, replaces any that dies and scales to a new count. The
keep-warm reaper never sees these environments. The Lambda API reads each allocation's status from here.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from miniaws.functions.environment import Environment, State
from miniaws.functions.invocation import FunctionSpec

log = logging.getLogger("miniaws.functions")

IN_PROGRESS = "IN_PROGRESS"
READY = "READY"
FAILED = "FAILED"
#: the StatusReason AWS gives (and CloudFormation repeats) when an environment's init fails
INIT_FAILURE = "FUNCTION_ERROR_INIT_FAILURE"

#: starts one environment with AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency; returns before init ends
ProvisionedLauncher = Callable[[FunctionSpec], Awaitable[Environment]]


class Allocation:
    """One configuration's environments: starting (init running), ready (idle or busy) and the idle ones."""

    def __init__(self, allocation_id: str, spec: FunctionSpec, requested: int) -> None:
        self.id = allocation_id
        self.spec = spec
        self.requested = requested
        self.starting: set[Environment] = set()
        self.ready: set[Environment] = set()
        #: ready environments no invocation holds, most recently used last
        self.idle: list[Environment] = []
        #: launches that have not returned their environment yet
        self.launching = 0
        #: StatusReason once an environment failed its init; no more launches until the next put
        self.failure: str | None = None
        self.closed = False

    @property
    def allocated(self) -> int:
        return min(len(self.ready), self.requested)

    @property
    def status(self) -> str:
        if self.failure is not None:
            return FAILED
        return READY if len(self.ready) >= self.requested else IN_PROGRESS

    def missing(self) -> int:
        return self.requested - len(self.ready) - len(self.starting) - self.launching


class Provisioner:
    def __init__(self, launch: ProvisionedLauncher, init_timeout: Callable[[FunctionSpec], float]) -> None:
        self._launch = launch
        self._init_timeout = init_timeout
        self.allocations: dict[str, Allocation] = {}
        #: spec.key -> the allocations whose environments run that revision
        self._by_key: dict[str, list[Allocation]] = {}
        self._owner: dict[Environment, Allocation] = {}
        #: function arn -> provisioned concurrency configured on it (carved out of its concurrency limits)
        self.carved: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: environments whose launch returned after their allocation closed: stopped at once, awaited by `settle`
        self._late: list[Environment] = []

    # -- configuration --------------------------------------------------------------------------
    def put(self, allocation_id: str, spec: FunctionSpec, requested: int) -> Allocation:
        """Create or update an allocation: scale to `requested`; a new spec (an alias moved to another version)
        replaces every environment. A failed allocation tries again."""
        alloc = self.allocations.get(allocation_id)
        if alloc is not None and alloc.spec.key != spec.key:
            self._close(alloc)
            alloc = None
        if alloc is None:
            alloc = Allocation(allocation_id, spec, requested)
            self.allocations[allocation_id] = alloc
            self._by_key.setdefault(spec.key, []).append(alloc)
        alloc.requested = requested
        alloc.failure = None
        self._recount(spec.function_arn)
        self._trim(alloc)
        self._fill(alloc)
        return alloc

    def remove(self, allocation_id: str) -> None:
        """Retire an allocation: idle and starting environments stop now, busy ones when their invocation ends."""
        alloc = self.allocations.get(allocation_id)
        if alloc is not None:
            self._close(alloc)

    def get(self, allocation_id: str) -> Allocation | None:
        return self.allocations.get(allocation_id)

    @property
    def active(self) -> bool:
        return bool(self._by_key)

    # -- the pool's side ------------------------------------------------------------------------
    def take(self, spec: FunctionSpec) -> Environment | None:
        """An idle provisioned environment of this revision, or None."""
        for alloc in self._by_key.get(spec.key, ()):
            while alloc.idle:
                env = alloc.idle.pop()
                if env.state is State.READY:
                    return env
        return None

    def keeps(self, env: Environment) -> bool:
        """Whether the environment stays provisioned once its invocation is over (see give_back)."""
        alloc = self._owner.get(env)
        return alloc is not None and not alloc.closed and len(alloc.ready) <= alloc.requested

    def give_back(self, env: Environment) -> bool:
        """The invocation is over and the runtime waits for its next event (or the environment stopped): True if
        the environment stays provisioned; False if the caller must stop it (its allocation is gone or smaller now,
        or it stopped)."""
        alloc = self._owner.get(env)
        if alloc is None:
            return False
        if alloc.closed or env.state is not State.READY or len(alloc.ready) > alloc.requested:
            self._drop(alloc, env)
            self._fill(alloc)
            return False
        alloc.idle.append(env)
        return True

    def environments(self) -> list[Environment]:
        return list(self._owner)

    def stop_all(self) -> list[Environment]:
        envs = list(self._owner)
        for alloc in list(self.allocations.values()):
            self._close(alloc)
        for env in envs:
            env.stop()
        return envs

    async def settle(self, timeout: float) -> list[Environment]:
        """Wait (bounded) for launches still in flight; returns the environments they started after stop_all."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
        late, self._late = self._late, []
        return late

    # -- bookkeeping ----------------------------------------------------------------------------
    def _close(self, alloc: Allocation) -> None:
        alloc.closed = True
        if self.allocations.get(alloc.id) is alloc:
            del self.allocations[alloc.id]
        peers = self._by_key.get(alloc.spec.key, [])
        if alloc in peers:
            peers.remove(alloc)
            if not peers:
                del self._by_key[alloc.spec.key]
        self._recount(alloc.spec.function_arn)
        for env in list(alloc.idle) + list(alloc.starting):
            self._drop(alloc, env)
            env.stop()
        # busy environments are stopped by the pool when their invocation ends (give_back says False)

    def _recount(self, function_arn: str) -> None:
        total = sum(a.requested for a in self.allocations.values() if a.spec.function_arn == function_arn)
        if total:
            self.carved[function_arn] = total
        else:
            self.carved.pop(function_arn, None)

    def _trim(self, alloc: Allocation) -> None:
        """Scale down: stop surplus environments, starting ones first, then idle ones; busy surplus ones are
        stopped as they come back."""
        surplus = len(alloc.ready) + len(alloc.starting) - alloc.requested
        for env in list(alloc.starting)[:max(0, surplus)]:
            self._drop(alloc, env)
            env.stop()
            surplus -= 1
        while surplus > 0 and alloc.idle:
            env = alloc.idle.pop(0)
            self._drop(alloc, env)
            env.stop()
            surplus -= 1

    def _drop(self, alloc: Allocation, env: Environment) -> None:
        alloc.starting.discard(env)
        alloc.ready.discard(env)
        if env in alloc.idle:
            alloc.idle.remove(env)
        if self._owner.get(env) is alloc:
            del self._owner[env]

    def _fill(self, alloc: Allocation) -> None:
        if alloc.closed or alloc.failure is not None:
            return
        for _ in range(alloc.missing()):
            alloc.launching += 1
            task = asyncio.ensure_future(self._start_one(alloc))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _start_one(self, alloc: Allocation) -> None:
        try:
            env = await self._launch(alloc.spec)
        except Exception:
            alloc.launching -= 1
            log.exception("provisioned concurrency for %s: launch failed", alloc.id)
            self._failed(alloc)
            return
        alloc.launching -= 1
        if alloc.closed or alloc.missing() < 0:
            env.stop()
            self._late.append(env)
            return
        alloc.starting.add(env)
        self._owner[env] = alloc
        env.stopped.add_done_callback(lambda _: self._lost(env))
        try:
            await asyncio.wait_for(env.wait_ready(), self._init_timeout(alloc.spec))
        except asyncio.TimeoutError:
            env.stop()
        if env not in alloc.starting:
            return  # dropped meanwhile (closed or scaled down); already stopped
        alloc.starting.discard(env)
        if env.state is not State.READY:
            self._drop(alloc, env)
            self._failed(alloc)
            return
        # init ran ahead of time: invocations of this environment report no Init Duration, as on AWS
        env.init_reported = True
        alloc.ready.add(env)
        alloc.idle.append(env)
        if alloc.status == READY:
            log.debug("provisioned concurrency for %s is ready (%d environments)", alloc.id, alloc.requested)

    def _failed(self, alloc: Allocation) -> None:
        if not alloc.closed and alloc.failure is None:
            alloc.failure = INIT_FAILURE
            log.info("provisioned concurrency for %s failed: an environment's init did not complete", alloc.id)

    def _lost(self, env: Environment) -> None:
        """A provisioned environment stopped: if it was not retired on purpose, start a replacement."""
        alloc = self._owner.get(env)
        if alloc is None or env in alloc.starting:
            return  # retired on purpose, or still in init (its _start_one decides)
        self._drop(alloc, env)
        self._fill(alloc)
