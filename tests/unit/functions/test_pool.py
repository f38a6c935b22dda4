"""The pool and the environment state machine, driven by a fake executor: no processes, no sockets, fake clock."""
from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import orjson
import pytest

from miniaws.core.clock import FakeClock
from miniaws.functions.environment import Environment, RuntimeApiError, State
from miniaws.functions.executor import ExitCallback, Launch, OutputCallback
from miniaws.functions.invocation import FunctionSpec, Invocation, Throttled
from miniaws.functions.service import FunctionRuntime, RuntimeSettings

Handler = Callable[[bytes], Awaitable[bytes]]
ZIP = io.BytesIO()
with zipfile.ZipFile(ZIP, "w") as _z:
    _z.writestr("app.py", "")
SPEC = FunctionSpec(key="arn:fn:$LATEST:1", function_name="fn", function_arn="arn:fn", version="$LATEST",
                    runtime="python3.12", handler="app.handler", memory_mb=128, timeout_s=3, code_blob="code",
                    region="us-east-1", account_id="000000000000")


class FakeWorker:
    def __init__(self, on_exit: ExitCallback, pid: int) -> None:
        self.pid = pid
        self._on_exit = on_exit
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def kill(self) -> None:
        self.exit(-9)

    def exit(self, status: int) -> None:
        if not self.exited.done():
            self.exited.set_result(status)
            self._on_exit(status)

    def peak_rss_mb(self) -> int:
        return 0 if self.exited.done() else 42

    def rss_mb(self) -> int:
        return self.peak_rss_mb()

    async def wait(self) -> int:
        return await self.exited


class FakeExecutor:
    """Plays the runtime inside each 'worker': init takes `init_seconds` of fake time, then it serves events."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.envs: dict[str, Environment] = {}
        self.started: list[FakeWorker] = []
        self.init_seconds = 0.25
        self.init_error: bytes | None = None
        self.handler: Handler = self.echo
        self._tasks: list[asyncio.Task[None]] = []

    @staticmethod
    async def echo(payload: bytes) -> bytes:
        return payload

    async def open_api(self, env: Environment) -> str:
        endpoint = f"fake:{len(self.envs)}"
        self.envs[endpoint] = env
        return endpoint

    async def close_api(self, env: Environment) -> None:
        return None

    async def start(self, launch: Launch, on_output: OutputCallback, on_exit: ExitCallback) -> FakeWorker:
        env = self.envs[launch.env["AWS_LAMBDA_RUNTIME_API"]]
        worker = FakeWorker(on_exit, 1000 + len(self.started))
        self.started.append(worker)
        self._tasks.append(asyncio.get_running_loop().create_task(self._serve(env, worker, on_output)))
        return worker

    async def _serve(self, env: Environment, worker: FakeWorker, on_output: OutputCallback) -> None:
        await asyncio.sleep(0)
        self.clock.advance(self.init_seconds)
        if self.init_error is not None:
            env.init_error(self.init_error, "Runtime.ImportModuleError")
            return
        count = 0
        while True:
            invocation = await env.next_invocation()
            if invocation is None:
                return
            count += 1
            on_output(f"call {count}\n".encode())
            try:
                env.respond(invocation.request_id, await self.handler(invocation.payload))
            except ConnectionError:
                worker.exit(1)
                return


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def executor(clock: FakeClock) -> FakeExecutor:
    return FakeExecutor(clock)


def make_runtime(clock: FakeClock, executor: FakeExecutor, **settings: Any) -> FunctionRuntime:
    async def read_blob(blob_id: str) -> bytes:
        return ZIP.getvalue()

    return FunctionRuntime(clock, executor, read_blob, lambda: "http://127.0.0.1:4566", RuntimeSettings(**settings),
                           open_runtime_api=executor.open_api, close_runtime_api=executor.close_api)


async def test_cold_then_warm_reuses_the_environment(clock: FakeClock, executor: FakeExecutor) -> None:
    runtime = make_runtime(clock, executor)
    first = await runtime.invoke(SPEC, b'{"n": 1}', "arn:fn")
    second = await runtime.invoke(SPEC, b'{"n": 2}', "arn:fn")
    assert (first.cold, second.cold) == (True, False)
    assert first.init_duration_ms == pytest.approx(250.0) and second.init_duration_ms is None
    assert b"Init Duration: 250.00 ms\t" in first.log and b"Init Duration" not in second.log
    assert second.outcome.payload == b'{"n": 2}' and not second.outcome.failed
    # module state survives while warm: the same worker served both calls
    assert len(executor.started) == 1 and b"call 2" in second.log
    assert second.log.startswith(f"START RequestId: {second.request_id} Version: $LATEST\n".encode())
    assert f"END RequestId: {second.request_id}\nREPORT RequestId: {second.request_id}\t".encode() in second.log
    assert b"\tMemory Size: 128 MB\tMax Memory Used: 42 MB\t" in second.log
    await runtime.stop()
    assert executor.started[0].exited.done()


async def test_a_new_revision_retires_old_environments(clock: FakeClock, executor: FakeExecutor) -> None:
    runtime = make_runtime(clock, executor)
    await runtime.invoke(SPEC, b"{}", "arn:fn")
    updated = replace(SPEC, key="arn:fn:$LATEST:2", memory_mb=256)
    result = await runtime.invoke(updated, b"{}", "arn:fn")
    assert result.cold and len(executor.started) == 2
    assert executor.started[0].exited.done() and not executor.started[1].exited.done()
    runtime.retire("arn:fn")
    assert executor.started[1].exited.done()
    await runtime.stop()


async def test_idle_environments_are_reaped_after_keep_warm(clock: FakeClock, executor: FakeExecutor) -> None:
    runtime = make_runtime(clock, executor, keep_warm_seconds=60)
    await runtime.invoke(SPEC, b"{}", "arn:fn")
    clock.advance(30)
    assert runtime.pool.reap() == 0
    clock.advance(31)
    assert runtime.pool.reap() == 1 and executor.started[0].exited.done()
    assert (await runtime.invoke(SPEC, b"{}", "arn:fn")).cold
    await runtime.stop()


async def test_keep_warm_zero_is_always_cold(clock: FakeClock, executor: FakeExecutor) -> None:
    runtime = make_runtime(clock, executor, keep_warm_seconds=0)
    results = [await runtime.invoke(SPEC, b"{}", "arn:fn") for _ in range(3)]
    assert [r.cold for r in results] == [True, True, True]
    assert all(w.exited.done() for w in executor.started)
    await runtime.stop()


async def test_parallel_invokes_scale_out_then_throttle(clock: FakeClock, executor: FakeExecutor) -> None:
    runtime = make_runtime(clock, executor, account_concurrency=3)
    gate = asyncio.Event()

    async def blocked(payload: bytes) -> bytes:
        await gate.wait()
        return payload

    executor.handler = blocked
    calls = [asyncio.ensure_future(runtime.invoke(SPEC, b"{}", "arn:fn")) for _ in range(3)]
    await asyncio.sleep(0.01)
    assert runtime.pool.in_flight("arn:fn") == 3
    with pytest.raises(Throttled) as info:
        await runtime.invoke(SPEC, b"{}", "arn:fn")
    assert info.value.reason == "ConcurrentInvocationLimitExceeded"
    gate.set()
    results = await asyncio.gather(*calls)
    assert all(r.cold for r in results) and len(executor.started) == 3
    assert runtime.pool.idle_count(SPEC.key) == 3 and runtime.pool.in_flight() == 0
    await runtime.stop()


async def test_reserved_concurrency(clock: FakeClock, executor: FakeExecutor) -> None:
    runtime = make_runtime(clock, executor, account_concurrency=10)
    runtime.pool.set_reserved("arn:fn", 0)
    with pytest.raises(Throttled) as info:
        await runtime.invoke(SPEC, b"{}", "arn:fn")
    assert info.value.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert executor.started == [] and runtime.pool.in_flight() == 0
    runtime.pool.set_reserved("arn:fn", 4)
    assert runtime.pool.unreserved_limit == 6
    other = replace(SPEC, key="arn:g:$LATEST:1", function_arn="arn:g", function_name="g")
    gate = asyncio.Event()

    async def blocked(payload: bytes) -> bytes:
        await gate.wait()
        return payload

    executor.handler = blocked
    calls = [asyncio.ensure_future(runtime.invoke(other, b"{}", "arn:g")) for _ in range(6)]
    await asyncio.sleep(0.01)
    with pytest.raises(Throttled):
        await runtime.invoke(other, b"{}", "arn:g")
    gate.set()
    await asyncio.gather(*calls)
    await runtime.stop()


async def test_init_error_is_reported_by_the_first_invocation(clock: FakeClock, executor: FakeExecutor) -> None:
    runtime = make_runtime(clock, executor)
    executor.init_error = orjson.dumps({"errorMessage": "Unable to import module 'app'",
                                        "errorType": "Runtime.ImportModuleError"})
    result = await runtime.invoke(SPEC, b"{}", "arn:fn")
    assert result.outcome.failed and result.outcome.error_type == "Runtime.ImportModuleError"
    assert orjson.loads(result.outcome.payload)["errorType"] == "Runtime.ImportModuleError"
    assert b"Status: error\tError Type: Runtime.ImportModuleError" in result.log
    assert executor.started[0].exited.done() and runtime.pool.idle_count(SPEC.key) == 0
    await runtime.stop()


async def test_a_worker_dying_mid_invocation_is_an_exit_error(clock: FakeClock, executor: FakeExecutor) -> None:
    runtime = make_runtime(clock, executor)

    async def crash(payload: bytes) -> bytes:
        raise ConnectionError

    executor.handler = crash
    result = await runtime.invoke(SPEC, b"{}", "arn:fn")
    body = orjson.loads(result.outcome.payload)
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"] == f"RequestId: {result.request_id} Error: Runtime exited with error: exit status 1"
    assert b"Max Memory Used: 42 MB" in result.log  # measured at init, the worker being gone now
    executor.handler = executor.echo
    assert (await runtime.invoke(SPEC, b"{}", "arn:fn")).cold
    await runtime.stop()


async def test_environment_state_machine(clock: FakeClock) -> None:
    env = Environment("e1", SPEC, clock)
    assert env.state is State.STARTING
    clock.advance(0.5)
    waiter = env.next_invocation()
    assert env.state is State.READY and env.init_duration_ms == pytest.approx(500.0)
    invocation = Invocation("r1", b"{}", "arn:fn", 0, "Root=1")
    env.start_invocation(invocation)
    assert env.state is State.BUSY and waiter.result() is invocation
    with pytest.raises(RuntimeApiError) as info:
        env.respond("other", b"")
    assert info.value.status == 400
    with pytest.raises(RuntimeApiError):
        env.init_error(b"{}", None)
    env.respond("r1", b"ok")
    assert invocation.done.result().payload == b"ok"
    env.released()
    # not idle again before its runtime asks for the next event (Lambda hands events only to a runtime in /next);
    # an invocation handed over meanwhile gets its event at that /next
    assert env.state is State.BUSY and env.returning
    second = Invocation("r2", b"{}", "arn:fn", 0, "Root=1")
    env.start_invocation(second)
    assert not second.delivered
    assert env.next_invocation().result() is second and second.delivered
    pending = env.next_invocation()
    env.stop()
    assert env.state is State.STOPPED and pending.result() is None and env.stopped.done()
    with pytest.raises(RuntimeApiError):
        env.next_invocation()
