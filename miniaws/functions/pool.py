"""Execution environments per function version: warm reuse, cold starts, concurrency limits and reaping.

`acquire` hands out a READY environment of the spec's revision (warm) or launches one (cold) — after checking
the concurrency the invocation may use: the function's reserved concurrency if it has one, else the account's
unreserved share (account limit minus all reservations), as Lambda does
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html). Idle environments are reaped after the
keep-warm period; environments of an old revision are retired when they come back.

An environment is idle again only once its runtime asks for the next event (environment.py); until then it is
"returning". On loopback the next call often arrives before that `/next` — on AWS the caller's own round trip almost
always outlasts it — so an invocation that finds no idle environment claims a returning one rather than start a cold
one: its event is handed over when the runtime asks, and comes back undelivered (for the caller to take to another
environment) if the runtime exits or takes too long instead.

Provisioned concurrency (provisioned.py) comes first: an idle provisioned environment of the revision serves the
invocation warm; beyond them, on-demand environments as before. Provisioned concurrency is carved out of the
function's reserved concurrency, or out of the account's unreserved share, so on-demand invocations get what is left.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from miniaws.core.clock import Clock
from miniaws.functions.environment import Environment, State
from miniaws.functions.invocation import FunctionSpec, Throttled
from miniaws.functions.provisioned import Provisioner

log = logging.getLogger("miniaws.functions")


class Launcher(Protocol):
    def __call__(self, spec: FunctionSpec, *, provisioned: bool = False) -> Awaitable[Environment]:
        """Start one environment (AWS_LAMBDA_INITIALIZATION_TYPE on-demand, or provisioned-concurrency);
        returns before its init completes."""


class Pool:
    def __init__(self, launch: Launcher, clock: Clock, keep_warm_seconds: float, account_limit: int,
                 init_timeout: Callable[[FunctionSpec], float] = lambda spec: 10.0) -> None:
        self._launch = launch
        self.clock = clock
        self.keep_warm_seconds = keep_warm_seconds
        self.account_limit = account_limit
        #: spec.key -> idle READY environments, most recently used last (warmest first out)
        self._idle: dict[str, list[Environment]] = {}
        self._all: set[Environment] = set()
        #: the revision each function version currently runs: spec.key by (function arn, version)
        self._current: dict[tuple[str, str], str] = {}
        #: in-flight invocations per function arn (on provisioned environments too), of those on provisioned
        #: environments, and on-demand ones of unreserved functions account-wide
        self._busy: dict[str, int] = {}
        self._provisioned_busy: dict[str, int] = {}
        self._unreserved_busy = 0
        self.provisioner = Provisioner(lambda spec: launch(spec, provisioned=True), init_timeout)
        #: reserved concurrency per function arn (absent: unreserved)
        self.reserved: dict[str, int] = {}
        #: spec.key -> released environments (provisioned too) whose runtime has not asked for its next event yet,
        #: most recently released last
        self._returning: dict[str, list[Environment]] = {}

    # -- limits ---------------------------------------------------------------------------------
    def set_reserved(self, function_arn: str, value: int | None) -> None:
        if value is None:
            self.reserved.pop(function_arn, None)
        else:
            self.reserved[function_arn] = value

    @property
    def unreserved_limit(self) -> int:
        return max(0, self.account_limit - sum(self.reserved.values()))

    def in_flight(self, function_arn: str | None = None) -> int:
        if function_arn is None:
            return sum(self._busy.values())
        return self._busy.get(function_arn, 0)

    def _carved_unreserved(self) -> int:
        """Provisioned concurrency of functions without a reservation: taken from the unreserved share."""
        carved = self.provisioner.carved
        return sum(n for arn, n in carved.items() if arn not in self.reserved) if carved else 0

    def _admit(self, spec: FunctionSpec, provisioned: bool) -> None:
        arn = spec.function_arn
        busy = self._busy.get(arn, 0)
        if provisioned:
            self._provisioned_busy[arn] = self._provisioned_busy.get(arn, 0) + 1
        else:
            reserved = self.reserved.get(arn)
            on_demand = busy - self._provisioned_busy.get(arn, 0)
            if reserved is not None:
                if on_demand >= reserved - self.provisioner.carved.get(arn, 0):
                    raise Throttled("ReservedFunctionConcurrentInvocationLimitExceeded")
            elif self._unreserved_busy >= self.unreserved_limit - self._carved_unreserved():
                raise Throttled("ConcurrentInvocationLimitExceeded")
            else:
                self._unreserved_busy += 1
        self._busy[arn] = busy + 1

    def _leave(self, spec: FunctionSpec, provisioned: bool) -> None:
        arn = spec.function_arn
        _decrement(self._busy, arn)
        if provisioned:
            _decrement(self._provisioned_busy, arn)
        elif arn not in self.reserved:
            self._unreserved_busy = max(0, self._unreserved_busy - 1)

    # -- environments ---------------------------------------------------------------------------
    async def acquire(self, spec: FunctionSpec, *, claim_returning: bool = True) -> tuple[Environment, bool]:
        """(environment, cold) for one invocation; raises Throttled. The caller must `release` it. Warm first:
        an idle provisioned environment, a returning provisioned one, an idle on-demand one, a returning on-demand
        one (unless `claim_returning` is False: an invocation that came back undelivered from one)."""
        returning = self._returning.get(spec.key) if claim_returning else None
        if self.provisioner.active:
            provisioned = self.provisioner.take(spec) or (self._claim(returning, True) if returning else None)
            if provisioned is not None:
                self._admit(spec, True)
                return provisioned, False
        self._admit(spec, False)
        try:
            self._note_revision(spec)
            idle = self._idle.get(spec.key)
            while idle:
                env = idle.pop()
                if env.state is State.READY:
                    return env, False
            if returning:
                claimed = self._claim(returning, False)
                if claimed is not None:
                    return claimed, False
            env = await self._launch(spec)
            self._all.add(env)
            return env, True
        except BaseException:
            self._leave(spec, False)
            raise

    def _claim(self, returning: list[Environment], provisioned: bool) -> Environment | None:
        for index in range(len(returning) - 1, -1, -1):
            env = returning[index]
            if env.provisioned is provisioned and env.returning and self._keeps(env):
                del returning[index]
                if not returning:
                    del self._returning[env.spec.key]
                return env
        return None

    def release(self, env: Environment) -> None:
        """The invocation is over: keep the environment warm once its runtime is back for the next event, or stop
        it (stale revision, stopped, keep-warm 0)."""
        self._leave(env.spec, env.provisioned)
        env.released()
        if env.returning and self._keeps(env):
            self._returning.setdefault(env.spec.key, []).append(env)
            env.when_back(self._came_back)
        else:
            self._shelve(env)

    def _keeps(self, env: Environment) -> bool:
        if env.provisioned:
            return self.provisioner.keeps(env)
        current = self._current.get((env.spec.function_arn, env.spec.version))
        return current == env.spec.key and self.keep_warm_seconds > 0

    def _came_back(self, env: Environment) -> None:
        """A returning environment's runtime asked for its next event (or it stopped)."""
        returning = self._returning.get(env.spec.key)
        if returning is not None and env in returning:
            returning.remove(env)
            if not returning:
                del self._returning[env.spec.key]
        self._shelve(env)

    def _shelve(self, env: Environment) -> None:
        if env.provisioned:
            if not self.provisioner.give_back(env):
                self._discard(env)
            return
        if env.state is not State.READY or not self._keeps(env):
            self._discard(env)
            return
        self._idle.setdefault(env.spec.key, []).append(env)

    def _note_revision(self, spec: FunctionSpec) -> None:
        slot = (spec.function_arn, spec.version)
        old = self._current.get(slot)
        if old != spec.key:
            self._current[slot] = spec.key
            if old is not None:
                for env in self._idle.pop(old, []):
                    self._discard(env)

    def retire(self, function_arn: str, version: str | None = None) -> None:
        """Code or configuration changed (or the function is gone): stop idle environments now, busy ones
        when they come back."""
        for slot in [s for s in self._current if s[0] == function_arn and (version is None or s[1] == version)]:
            key = self._current.pop(slot)
            for env in self._idle.pop(key, []):
                self._discard(env)

    def reap(self) -> int:
        """Stop environments idle for longer than the keep-warm period; returns how many."""
        deadline = self.clock.monotonic() - self.keep_warm_seconds
        stopped = 0
        for key in list(self._idle):
            envs = self._idle[key]
            keep = [e for e in envs if e.last_used > deadline and e.state is State.READY]
            for env in envs:
                if env not in keep:
                    self._discard(env)
                    stopped += 1
            if keep:
                self._idle[key] = keep
            else:
                del self._idle[key]
        return stopped

    def forget(self, env: Environment) -> None:
        """A launch that failed (init error, early exit): it never joins the idle set."""
        self._discard(env)

    def _discard(self, env: Environment) -> None:
        self._all.discard(env)
        if env.state is not State.STOPPED:
            env.stop()

    def environments(self, spec_key: str | None = None) -> list[Environment]:
        """Every live environment, on-demand and provisioned (of one revision if given)."""
        envs = list(self._all) + self.provisioner.environments()
        return [e for e in envs if spec_key is None or e.spec.key == spec_key]

    def idle_count(self, spec_key: str) -> int:
        return len(self._idle.get(spec_key, ()))

    def stop_all(self) -> list[Environment]:
        envs = list(self._all)
        self._idle.clear()
        self._current.clear()
        for env in envs:
            self._discard(env)
        return envs + self.provisioner.stop_all()


def _decrement(counts: dict[str, int], key: str) -> None:
    count = counts.get(key, 0) - 1
    if count > 0:
        counts[key] = count
    else:
        counts.pop(key, None)
