"""Provisioned concurrency in the pool, driven by the fake executor (no processes, no sockets, fake clock)."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import orjson
import pytest

from miniaws.core.clock import FakeClock
from miniaws.functions.environment import Environment, RuntimeApiError
from miniaws.functions.executor import ExitCallback, Launch, OutputCallback
from miniaws.functions.invocation import Throttled
from miniaws.functions.provisioned import FAILED, IN_PROGRESS, INIT_FAILURE, READY
from miniaws.functions.service import FunctionRuntime
from tests.unit.functions.test_pool import SPEC, FakeExecutor, FakeWorker, make_runtime

V1 = replace(SPEC, key="arn:fn:1:1", version="1")
V2 = replace(SPEC, key="arn:fn:2:1", version="2")


class RecordingExecutor(FakeExecutor):
    """The fake executor, remembering each worker's AWS_LAMBDA_INITIALIZATION_TYPE."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.init_types: list[str] = []

    async def start(self, launch: Launch, on_output: OutputCallback, on_exit: ExitCallback) -> FakeWorker:
        self.init_types.append(launch.env["AWS_LAMBDA_INITIALIZATION_TYPE"])
        return await super().start(launch, on_output, on_exit)

    async def _serve(self, env: Environment, worker: FakeWorker, on_output: OutputCallback) -> None:
        # an environment retired during its init refuses the runtime's first /next, as the Runtime API does
        with contextlib.suppress(RuntimeApiError):
            await super()._serve(env, worker, on_output)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def executor(clock: FakeClock) -> RecordingExecutor:
    return RecordingExecutor(clock)


async def runtime_for(clock: FakeClock, executor: FakeExecutor, **settings: Any) -> FunctionRuntime:
    runtime = make_runtime(clock, executor, **settings)
    # unpacked up front, so launches need no worker thread and a few loop turns bring environments up
    await runtime.code.path(SPEC.code_blob)
    return runtime


async def until(predicate: Callable[[], bool], turns: int = 500) -> None:
    """Let the loop run (bounded) until the background launches reach the state the test waits for."""
    for _ in range(turns):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


def alive(executor: FakeExecutor) -> list[FakeWorker]:
    return [w for w in executor.started if not w.exited.done()]


async def ready(runtime: FunctionRuntime, allocation_id: str = "fn:live") -> None:
    await until(lambda: (a := runtime.allocation(allocation_id)) is not None and a.status == READY)


async def test_environments_start_ahead_and_serve_without_init_duration(clock: FakeClock,
                                                                        executor: RecordingExecutor) -> None:
    runtime = await runtime_for(clock, executor)
    alloc = runtime.provision("fn:live", V1, 2)
    assert (alloc.status, alloc.allocated) == (IN_PROGRESS, 0)
    await ready(runtime)
    assert alloc.allocated == 2 and executor.init_types == ["provisioned-concurrency"] * 2
    result = await runtime.invoke(V1, b'{"n": 1}', "arn:fn:live")
    assert not result.cold and result.init_duration_ms is None and b"Init Duration" not in result.log
    assert result.outcome.payload == b'{"n": 1}' and len(executor.started) == 2
    # the provisioned environments are not the keep-warm reaper's to stop
    clock.advance(3600)
    assert runtime.pool.reap() == 0 and len(alive(executor)) == 2
    await runtime.stop()
    assert not alive(executor)


async def test_beyond_provisioned_invocations_run_on_demand(clock: FakeClock, executor: RecordingExecutor) -> None:
    runtime = await runtime_for(clock, executor)
    runtime.provision("fn:live", V1, 1)
    await ready(runtime)
    gate = asyncio.Event()

    async def blocked(payload: bytes) -> bytes:
        await gate.wait()
        return payload

    executor.handler = blocked
    calls = [asyncio.ensure_future(runtime.invoke(V1, b"{}", "arn:fn:live")) for _ in range(2)]
    await until(lambda: runtime.pool.in_flight("arn:fn") == 2 and len(executor.started) == 2)
    gate.set()
    first, second = await asyncio.gather(*calls)
    assert (first.cold, second.cold) == (False, True) and second.init_duration_ms is not None
    assert executor.init_types == ["provisioned-concurrency", "on-demand"]
    # another version has no provisioned environments: on-demand
    assert (await runtime.invoke(V2, b"{}", "arn:fn:2")).cold
    await runtime.stop()


async def test_a_dead_environment_is_replaced(clock: FakeClock, executor: RecordingExecutor) -> None:
    runtime = await runtime_for(clock, executor)
    runtime.provision("fn:live", V1, 2)
    await ready(runtime)
    executor.started[0].kill()
    alloc = runtime.allocation("fn:live")
    assert alloc is not None
    await until(lambda: len(executor.started) == 3 and alloc.status == READY)
    assert len(alive(executor)) == 2 and alloc.allocated == 2

    async def crash(payload: bytes) -> bytes:
        raise ConnectionError

    executor.handler = crash  # dies during an invocation: replaced as well
    result = await runtime.invoke(V1, b"{}", "arn:fn:live")
    assert result.outcome.failed and not result.cold
    executor.handler = executor.echo
    await until(lambda: len(executor.started) == 4 and alloc.status == READY)
    assert len(alive(executor)) == 2
    await runtime.stop()


async def test_init_failure_fails_the_allocation_without_retrying(clock: FakeClock,
                                                                   executor: RecordingExecutor) -> None:
    runtime = await runtime_for(clock, executor)
    executor.init_error = orjson.dumps({"errorMessage": "Unable to import module 'app'",
                                        "errorType": "Runtime.ImportModuleError"})
    alloc = runtime.provision("fn:live", V1, 2)
    await until(lambda: alloc.status == FAILED and not alive(executor))
    for _ in range(20):
        await asyncio.sleep(0)
    assert alloc.failure == INIT_FAILURE and alloc.allocated == 0 and len(executor.started) == 2
    # invocations fall back to on-demand (which reports the init error itself)
    result = await runtime.invoke(V1, b"{}", "arn:fn:live")
    assert result.cold and result.outcome.error_type == "Runtime.ImportModuleError"
    # a new put tries again
    executor.init_error = None
    runtime.provision("fn:live", V1, 2)
    await ready(runtime)
    assert len(alive(executor)) == 2
    await runtime.stop()


async def test_scaling_up_and_down(clock: FakeClock, executor: RecordingExecutor) -> None:
    runtime = await runtime_for(clock, executor)
    alloc = runtime.provision("fn:live", V1, 3)
    await ready(runtime)
    runtime.provision("fn:live", V1, 1)
    assert alloc.status == READY and alloc.allocated == 1 and len(alive(executor)) == 1
    runtime.provision("fn:live", V1, 2)
    assert alloc.status == IN_PROGRESS
    await ready(runtime)
    assert len(alive(executor)) == 2 and len(executor.started) == 4
    await runtime.stop()


async def test_scaling_down_while_busy_stops_the_surplus_when_it_returns(clock: FakeClock,
                                                                         executor: RecordingExecutor) -> None:
    runtime = await runtime_for(clock, executor)
    alloc = runtime.provision("fn:live", V1, 2)
    await ready(runtime)
    gate = asyncio.Event()

    async def blocked(payload: bytes) -> bytes:
        await gate.wait()
        return payload

    executor.handler = blocked
    calls = [asyncio.ensure_future(runtime.invoke(V1, b"{}", "arn:fn:live")) for _ in range(2)]
    await until(lambda: runtime.pool.in_flight("arn:fn") == 2)
    runtime.provision("fn:live", V1, 1)
    assert len(alive(executor)) == 2  # both busy: nothing is killed mid-invocation
    gate.set()
    results = await asyncio.gather(*calls)
    assert not any(r.outcome.failed or r.cold for r in results)
    await until(lambda: len(alive(executor)) == 1)
    assert alloc.allocated == 1 and alloc.status == READY and len(executor.started) == 2
    await runtime.stop()


async def test_deprovision_retires_idle_now_and_busy_on_return(clock: FakeClock, executor: RecordingExecutor) -> None:
    runtime = await runtime_for(clock, executor)
    runtime.provision("fn:live", V1, 2)
    await ready(runtime)
    gate = asyncio.Event()

    async def blocked(payload: bytes) -> bytes:
        await gate.wait()
        return payload

    executor.handler = blocked
    call = asyncio.ensure_future(runtime.invoke(V1, b"{}", "arn:fn:live"))
    await until(lambda: runtime.pool.in_flight("arn:fn") == 1)
    runtime.deprovision("fn:live")
    assert runtime.allocation("fn:live") is None and len(alive(executor)) == 1
    gate.set()
    assert not (await call).outcome.failed
    await until(lambda: not alive(executor))
    assert runtime.pool.environments() == [] and runtime.pool.provisioner.carved == {}
    await runtime.stop()


async def test_stop_leaves_no_worker_even_mid_launch(clock: FakeClock, executor: RecordingExecutor) -> None:
    runtime = await runtime_for(clock, executor, cold_start_delay_ms=1)
    runtime.provision("fn:live", V1, 2)
    await asyncio.sleep(0)  # launches in flight (in the simulated provisioning delay)
    await runtime.stop()
    assert runtime.pool.environments() == []
    # both launches returned after the stop: their workers were killed and waited for
    assert len(executor.started) == 2 and all(w.exited.done() for w in executor.started)


async def test_a_new_version_replaces_the_environments(clock: FakeClock, executor: RecordingExecutor) -> None:
    runtime = await runtime_for(clock, executor)
    runtime.provision("fn:live", V1, 1)
    await ready(runtime)
    first = executor.started[0]
    alloc = runtime.provision("fn:live", V2, 1)  # the alias moved to version 2
    assert first.exited.done() and alloc.status == IN_PROGRESS and alloc.spec is V2
    await ready(runtime)
    assert not (await runtime.invoke(V2, b"{}", "arn:fn:live")).cold
    assert (await runtime.invoke(V1, b"{}", "arn:fn:1")).cold
    await runtime.stop()


async def test_provisioned_concurrency_is_carved_out_of_the_limits(clock: FakeClock,
                                                                   executor: RecordingExecutor) -> None:
    runtime = await runtime_for(clock, executor, account_concurrency=4)
    runtime.pool.set_reserved("arn:fn", 2)
    runtime.provision("fn:live", V1, 2)
    await ready(runtime)
    # the reservation is all provisioned: on-demand invocations (another version) have nothing left
    with pytest.raises(Throttled) as info:
        await runtime.invoke(V2, b"{}", "arn:fn:2")
    assert info.value.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert not (await runtime.invoke(V1, b"{}", "arn:fn:live")).cold
    # an unreserved function's provisioned concurrency comes out of the account's unreserved share (4 - 2 = 2)
    other = replace(SPEC, key="arn:g:1:1", function_arn="arn:g", function_name="g", version="1")
    runtime.provision("g:live", other, 1)
    await ready(runtime, "g:live")
    gate = asyncio.Event()

    async def blocked(payload: bytes) -> bytes:
        await gate.wait()
        return payload

    executor.handler = blocked
    calls = [asyncio.ensure_future(runtime.invoke(other, b"{}", "arn:g:live")) for _ in range(2)]
    await until(lambda: runtime.pool.in_flight("arn:g") == 2)
    with pytest.raises(Throttled) as info:
        await runtime.invoke(other, b"{}", "arn:g:live")
    assert info.value.reason == "ConcurrentInvocationLimitExceeded"
    gate.set()
    results = await asyncio.gather(*calls)
    assert sorted(r.cold for r in results) == [False, True]
    await runtime.stop()
