"""What a runtime may rely on, as on AWS: the request id it is handed, its environment variables, events only when
it waits in /next, and one report per invocation. Fake executor, fake clock: no processes, no sockets."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace

import orjson
import pytest

from miniaws.core.clock import FakeClock
from miniaws.functions import service as service_module
from miniaws.functions.environment import Environment, RuntimeApiError, State
from miniaws.functions.executor import ExitCallback, Launch, OutputCallback
from miniaws.functions.invocation import Invocation
from miniaws.functions.provisioned import READY
from miniaws.functions.service import FunctionRuntime
from tests.unit.functions.test_pool import SPEC, FakeExecutor, FakeWorker, make_runtime

#: after a response the fake runtime calls this; False: it exits (status 1) instead of asking for the next event
AfterResponse = Callable[[Environment, FakeWorker], Awaitable[bool]]


class ScriptedExecutor(FakeExecutor):
    """The fake executor, remembering each worker's environment variables and the request ids its runtime got,
    with a hook between a response and the next /next."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.launches: list[Launch] = []
        self.seen: list[str] = []
        self.after_response: AfterResponse | None = None

    async def start(self, launch: Launch, on_output: OutputCallback, on_exit: ExitCallback) -> FakeWorker:
        self.launches.append(launch)
        return await super().start(launch, on_output, on_exit)

    async def _serve(self, env: Environment, worker: FakeWorker, on_output: OutputCallback) -> None:
        await asyncio.sleep(0)
        self.clock.advance(self.init_seconds)
        while True:
            try:
                invocation = await env.next_invocation()
            except RuntimeApiError:
                return  # the environment stopped while this runtime was away (the Runtime API refuses /next)
            if invocation is None:
                return
            self.seen.append(invocation.request_id)
            on_output(f"handling {invocation.request_id}\n".encode())
            env.respond(invocation.request_id, await self.handler(invocation.payload))
            if self.after_response is not None and not await self.after_response(env, worker):
                worker.exit(1)
                return


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def executor(clock: FakeClock) -> ScriptedExecutor:
    return ScriptedExecutor(clock)


async def turns(count: int = 20) -> None:
    """Let the loop run a bounded number of turns (everything here is in-process and ready)."""
    for _ in range(count):
        await asyncio.sleep(0)


# -- 1. the request id -----------------------------------------------------------------------------------------
async def test_the_callers_request_id_is_the_functions_and_the_logs(clock: FakeClock,
                                                                    executor: ScriptedExecutor) -> None:
    runtime = make_runtime(clock, executor)
    rid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    result = await runtime.invoke(SPEC, b"{}", "arn:fn", request_id=rid)
    assert result.request_id == rid and executor.seen == [rid]
    assert result.log.startswith(f"START RequestId: {rid} Version: $LATEST\nhandling {rid}\n".encode())
    assert f"END RequestId: {rid}\nREPORT RequestId: {rid}\t".encode() in result.log
    # without one (in-process callers), a fresh id per invocation
    other = await runtime.invoke(SPEC, b"{}", "arn:fn")
    assert other.request_id not in ("", rid) and executor.seen[-1] == other.request_id
    await runtime.stop()


# -- 2. AWS_EXECUTION_ENV ------------------------------------------------------------------------------------
async def test_execution_env_is_defined_for_managed_runtimes_only(clock: FakeClock,
                                                                  executor: ScriptedExecutor) -> None:
    runtime = make_runtime(clock, executor)
    custom = replace(SPEC, key="arn:c:$LATEST:1", function_arn="arn:c", function_name="c", runtime="provided.al2023",
                     handler="bootstrap")
    await runtime.invoke(SPEC, b"{}", "arn:fn")
    await runtime.invoke(custom, b"{}", "arn:c")
    python_env, custom_env = (launch.env for launch in executor.launches)
    assert python_env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert "AWS_EXECUTION_ENV" not in custom_env
    assert custom_env["AWS_LAMBDA_FUNCTION_NAME"] == "c" and custom_env["_HANDLER"] == "bootstrap"
    await runtime.stop()


# -- 3. events go only to a runtime waiting in /next ------------------------------------------------------------
async def test_a_runtime_that_exits_after_its_response_never_gets_the_next_event(
        clock: FakeClock, executor: ScriptedExecutor) -> None:
    runtime = make_runtime(clock, executor)
    leave = asyncio.Event()

    async def exit_when_told(env: Environment, worker: FakeWorker) -> bool:
        await leave.wait()  # e.g. awslambdaric after a 413: it logs, then its process ends
        return False

    executor.after_response = exit_when_told
    first = await runtime.invoke(SPEC, b'{"n": 1}', "arn:fn")
    assert not first.outcome.failed
    # the next invocation arrives while the runtime is between its response and its exit
    second = asyncio.ensure_future(runtime.invoke(SPEC, b'{"n": 2}', "arn:fn"))
    await turns()
    assert not second.done() and executor.started[0].exited.done() is False
    executor.after_response = None
    leave.set()
    result = await asyncio.wait_for(second, 5)
    # it ran on a new environment instead of failing with Runtime.ExitError
    assert not result.outcome.failed and result.outcome.payload == b'{"n": 2}'
    assert result.cold and len(executor.started) == 2 and executor.started[0].exited.done()
    await runtime.stop()


async def test_a_runtime_slow_to_come_back_still_serves_the_next_event_warm(
        clock: FakeClock, executor: ScriptedExecutor) -> None:
    runtime = make_runtime(clock, executor)
    back = asyncio.Event()

    async def come_back_when_told(env: Environment, worker: FakeWorker) -> bool:
        await back.wait()
        back.clear()
        return True

    executor.after_response = come_back_when_told
    await runtime.invoke(SPEC, b"{}", "arn:fn")
    env = runtime.pool.environments()[0]
    assert env.state is State.BUSY and env.returning and runtime.pool.idle_count(SPEC.key) == 0
    second = asyncio.ensure_future(runtime.invoke(SPEC, b'{"n": 2}', "arn:fn"))
    await turns()
    assert not second.done()
    back.set()
    result = await asyncio.wait_for(second, 5)
    assert not result.cold and len(executor.started) == 1 and result.outcome.payload == b'{"n": 2}'
    back.set()
    await turns()
    assert env.state is State.READY and runtime.pool.idle_count(SPEC.key) == 1
    await runtime.stop()


async def test_beyond_a_grace_the_event_goes_to_another_environment(
        clock: FakeClock, executor: ScriptedExecutor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_module, "RETURN_GRACE_SECONDS", 0.01)
    runtime = make_runtime(clock, executor)
    back = asyncio.Event()

    async def linger(env: Environment, worker: FakeWorker) -> bool:
        await back.wait()
        return True

    executor.after_response = linger
    await runtime.invoke(SPEC, b"{}", "arn:fn")
    executor.after_response = None
    # Lambda scales out rather than wait for a runtime still busy after its response
    result = await asyncio.wait_for(runtime.invoke(SPEC, b"{}", "arn:fn"), 5)
    assert result.cold and len(executor.started) == 2
    back.set()
    await turns()
    assert runtime.pool.idle_count(SPEC.key) == 2
    await runtime.stop()


async def test_a_runtime_that_never_comes_back_is_stopped_at_the_deadline(
        clock: FakeClock, executor: ScriptedExecutor) -> None:
    runtime = make_runtime(clock, executor)
    never = asyncio.Event()

    async def hang(env: Environment, worker: FakeWorker) -> bool:
        await never.wait()
        return True

    async def slow(payload: bytes) -> bytes:
        clock.advance(SPEC.timeout_s)  # the whole timeout spent before the response
        return payload

    executor.handler = slow
    executor.after_response = hang
    await runtime.invoke(SPEC, b"{}", "arn:fn")
    await turns()
    # AWS bounds the whole Invoke phase (up to the runtime's next /next) by the function's timeout
    assert executor.started[0].exited.done() and runtime.pool.environments() == []
    # an invocation that claims such an environment before that deadline is taken to a new one at the deadline
    await runtime.invoke(SPEC, b"{}", "arn:fn")
    (returning,) = runtime.pool.environments()
    assert returning.returning
    executor.after_response = None
    result = await asyncio.wait_for(runtime.invoke(SPEC, b'{"n": 3}', "arn:fn"), 5)
    assert returning.invocations == 2 and returning.state is State.STOPPED  # claimed, never delivered
    assert result.cold and result.outcome.payload == b'{"n": 3}' and len(executor.started) == 3
    assert executor.seen.count(result.request_id) == 1
    await runtime.stop()


async def test_provisioned_environments_are_waited_for_too(clock: FakeClock, executor: ScriptedExecutor) -> None:
    runtime = make_runtime(clock, executor)
    await runtime.code.path(SPEC.code_blob)
    allocation = runtime.provision("alloc", SPEC, 1)
    for _ in range(200):
        if allocation.status == READY:
            break
        await asyncio.sleep(0)
    assert allocation.status == READY
    back = asyncio.Event()

    async def come_back_when_told(env: Environment, worker: FakeWorker) -> bool:
        await back.wait()
        back.clear()
        return True

    executor.after_response = come_back_when_told
    await runtime.invoke(SPEC, b"{}", "arn:fn")
    second = asyncio.ensure_future(runtime.invoke(SPEC, b"{}", "arn:fn"))
    await turns()
    back.set()
    result = await asyncio.wait_for(second, 5)
    # served by the provisioned environment, not spilled over to an on-demand cold start
    assert not result.cold and len(executor.started) == 1 and result.init_duration_ms is None
    back.set()
    await runtime.stop()


# -- 4. one report per invocation ------------------------------------------------------------------------------
async def test_a_second_report_is_an_invalid_state_transition(clock: FakeClock) -> None:
    env = Environment("e1", SPEC, clock)
    env.next_invocation()
    invocation = Invocation("r1", b"{}", "arn:fn", 0, "Root=1")
    env.start_invocation(invocation)
    env.respond("r1", b"first")
    for report in (lambda: env.respond("r1", b"again"), lambda: env.error("r1", b"{}", None)):
        with pytest.raises(RuntimeApiError) as info:
            report()
        assert (info.value.status, info.value.error_type) == (403, "InvalidStateTransition")
    assert "State transition from ResponseSent to " in str(info.value)
    assert invocation.done.result().payload == b"first"
    env.released()
    # still refused once the invocation is over, before the runtime's next /next
    with pytest.raises(RuntimeApiError) as info:
        env.respond("r1", b"late")
    assert (info.value.status, info.value.error_type) == (403, "InvalidStateTransition")
    # an id that names no invocation stays a 400
    with pytest.raises(RuntimeApiError) as info:
        env.respond("nobody", b"")
    assert (info.value.status, info.value.error_type) == (400, "InvalidRequestID")


async def test_a_report_after_an_error_is_refused_too(clock: FakeClock) -> None:
    env = Environment("e1", SPEC, clock)
    env.next_invocation()
    env.start_invocation(Invocation("r1", b"{}", "arn:fn", 0, "Root=1"))
    env.error("r1", orjson.dumps({"errorMessage": "m", "errorType": "T"}), "T")
    with pytest.raises(RuntimeApiError) as info:
        env.respond("r1", b"{}")
    assert info.value.status == 403
    assert str(info.value).startswith("State transition from InvocationErrorResponse to ResponseSent failed")


async def test_the_runtime_is_told_about_its_own_invocations_only(clock: FakeClock,
                                                                  executor: ScriptedExecutor) -> None:
    # the first invocation's runtime keeps working normally after a refused report
    runtime: FunctionRuntime = make_runtime(clock, executor)
    refused: list[int] = []

    async def report_twice(env: Environment, worker: FakeWorker) -> bool:
        try:
            env.respond(executor.seen[-1], b"twice")
        except RuntimeApiError as exc:
            refused.append(exc.status)
        return True

    executor.after_response = report_twice
    first = await runtime.invoke(SPEC, b'{"n": 1}', "arn:fn")
    second = await runtime.invoke(SPEC, b'{"n": 2}', "arn:fn")
    assert (first.outcome.payload, second.outcome.payload) == (b'{"n": 1}', b'{"n": 2}')
    assert refused == [403, 403] and not second.cold
    await runtime.stop()
