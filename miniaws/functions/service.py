"""The function runtime's front: invoke a function version synchronously or queue an Event invocation.

`FunctionRuntime.invoke` takes an environment from the pool (warm — provisioned concurrency first —, or a cold start
it launches: code unpacked, Runtime API listener opened, worker spawned through the executor, Init Duration
measured), hands it the event, waits for the outcome under the function's timeout (a timeout kills the environment),
and writes the START/END/REPORT lines around the worker's output, all under the caller's request id. An event that
never reached its runtime (claimed on an environment whose runtime then exited, or was too slow to ask for it) is
offered to another environment, as Lambda only ever hands an event to a runtime waiting in /next. It knows nothing
about the Lambda API's models: the Lambda service passes a FunctionSpec and turns the result into Invoke's wire shape.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from miniaws.core.clock import Clock
from miniaws.core.ids import hex_id, request_id as new_request_id
from miniaws.functions import logs as fmt
from miniaws.functions.bootstrap import PYTHON_BOOTSTRAP
from miniaws.functions.code import CodeCache
from miniaws.functions.environment import Environment, State
from miniaws.functions.executor import Executor, Launch, python_command
from miniaws.functions.invocation import FunctionSpec, Invocation, Outcome
from miniaws.functions.logs import LogStore
from miniaws.functions.pool import Pool
from miniaws.functions.provisioned import Allocation

log = logging.getLogger("miniaws.functions")

#: AWS limits the init phase of on-demand functions to 10 seconds
INIT_TIMEOUT_SECONDS = 10.0
#: how often the memory watchdog looks at a busy worker's RSS (only invocations longer than this are polled)
WATCH_INTERVAL = 0.1
#: how long an event claimed on a returning environment waits for its runtime's /next before it is taken to another
#: environment: on AWS a runtime still busy after its response keeps its environment busy and the event goes
#: elsewhere; the grace keeps a runtime merely slow to be scheduled on a loaded machine from costing a cold start
RETURN_GRACE_SECONDS = 1.0
#: environments one invocation is offered to: the first may come back undelivered (its runtime exited or lingered
#: before asking for the event); later ones are idle or new, whose runtime waits in /next
DELIVERY_ATTEMPTS = 3
#: variables a function's Environment may not set (AWS rejects them: "reserved keys")
RESERVED_VARIABLES = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})


@dataclass(slots=True)
class InvokeResult:
    request_id: str
    outcome: Outcome
    #: the invocation's log (START … REPORT), for LogType=Tail
    log: bytes
    cold: bool
    init_duration_ms: float | None = None
    duration_ms: float = 0.0
    max_memory_mb: int = 0


@dataclass(slots=True)
class RuntimeSettings:
    keep_warm_seconds: float = 600.0
    account_concurrency: int = 1000
    cold_start_delay_ms: int = 0
    time_scale: float = 1.0
    #: runtime name -> interpreter for python runtimes; absent: the interpreter miniaws runs on
    interpreters: Mapping[str, str] = field(default_factory=dict)
    credentials: tuple[str, str] = ("test", "test")


class FunctionRuntime:
    def __init__(self, clock: Clock, executor: Executor, read_blob: Callable[[str], Awaitable[bytes]],
                 endpoint: Callable[[], str], settings: RuntimeSettings | None = None,
                 open_runtime_api: Callable[[Environment], Awaitable[str]] | None = None,
                 close_runtime_api: Callable[[Environment], Awaitable[None]] | None = None) -> None:
        from miniaws.functions.runtime_api import RuntimeApi

        self.clock = clock
        self.settings = settings or RuntimeSettings()
        self.executor = executor
        self.endpoint = endpoint
        self.code = CodeCache(read_blob)
        self.logs = LogStore()
        self.api = RuntimeApi()
        self._open_api = open_runtime_api or self.api.open
        self._close_api = close_runtime_api or self.api.close
        self.pool = Pool(self.launch, clock, self.settings.keep_warm_seconds, self.settings.account_concurrency,
                         provisioned_init_timeout)
        #: per environment: output received since its current invocation started (or since init)
        self._output: dict[str, bytearray] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: environments an invoke holds: their output belongs to that invoke's log, even after they stop
        self._held: set[str] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._announced: set[str] = set()

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        if self.settings.keep_warm_seconds > 0:
            self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())

    async def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
        envs = self.pool.stop_all()
        # provisioned environments still being launched are stopped as their launch returns
        envs += await self.pool.provisioner.settle(timeout=5.0)
        # wait for every worker to be reaped: no zombies survive miniaws
        waits = [env.worker.wait() for env in envs if env.worker is not None]
        if waits:
            await asyncio.wait([asyncio.ensure_future(w) for w in waits], timeout=5.0)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)
        await self.api.close_all()
        self.code.close()

    def reset(self) -> None:
        self.pool.stop_all()
        self.logs.clear()

    def retire(self, function_arn: str, version: str | None = None) -> None:
        self.pool.retire(function_arn, version)

    # -- provisioned concurrency ----------------------------------------------------------------
    def provision(self, allocation_id: str, spec: FunctionSpec, count: int) -> Allocation:
        """Keep `count` environments of `spec` initialised and warm under `allocation_id` (one provisioned
        concurrency configuration); starts or stops environments in the background to get there."""
        return self.pool.provisioner.put(allocation_id, spec, count)

    def deprovision(self, allocation_id: str) -> None:
        self.pool.provisioner.remove(allocation_id)

    def allocation(self, allocation_id: str) -> Allocation | None:
        return self.pool.provisioner.get(allocation_id)

    async def _reap_forever(self) -> None:
        period = max(0.05, min(self.settings.keep_warm_seconds / 2, 30.0)) / self.settings.time_scale
        while True:
            await asyncio.sleep(period)
            stopped = self.pool.reap()
            if stopped:
                log.debug("reaped %d idle execution environments", stopped)

    # -- launching ------------------------------------------------------------------------------
    async def launch(self, spec: FunctionSpec, *, provisioned: bool = False) -> Environment:
        """A new environment whose worker is spawned (a cold start, or one for provisioned concurrency); returns
        before init completes."""
        if self.settings.cold_start_delay_ms > 0:
            # simulated provisioning (config): AWS does not count it in Init Duration either
            await asyncio.sleep(self.settings.cold_start_delay_ms / 1000.0)
        code_dir = await self.code.path(spec.code_blob)
        opt_dir = await self.code.layers_path(spec.layer_blobs)
        env = Environment(f"{hex_id(8)}", spec, self.clock, self._on_output)
        env.provisioned = provisioned
        self._output[env.id] = bytearray()
        try:
            env.endpoint = await self._open_api(env)
            launch = self._launch_for(spec, env, code_dir, opt_dir)
            env.created = self.clock.monotonic()
            try:
                env.worker = await self.executor.start(launch, env.output, env.exited)
            except OSError as exc:
                # a missing or non-executable bootstrap: the first invocation reports it, as Lambda does
                env.init_failure = Outcome("init_error", orjson.dumps({
                    "errorType": "Runtime.InvalidEntrypoint",
                    "errorMessage": f"RequestId: Error: Couldn't find valid bootstrap(s) or could not run "
                                    f"{launch.argv[0]}: {exc.strerror or exc}"}), "Runtime.InvalidEntrypoint")
                env.stop()
        except BaseException:
            env.stop()
            self._forget(env)
            raise
        env.stopped.add_done_callback(lambda _: self._spawn(self._closed(env)))
        return env

    def _launch_for(self, spec: FunctionSpec, env: Environment, code_dir: Path, opt_dir: Path | None) -> Launch:
        stream = self.logs.open(spec, env.id)
        access_key, secret = self.settings.credentials
        variables = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "en_US.UTF-8", "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(code_dir), "LAMBDA_RUNTIME_DIR": str(Path(PYTHON_BOOTSTRAP).parent),
            "_HANDLER": spec.handler, "AWS_LAMBDA_RUNTIME_API": env.endpoint,
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name, "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb), "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "provisioned-concurrency" if env.provisioned else "on-demand",
            "AWS_REGION": spec.region, "AWS_DEFAULT_REGION": spec.region,
            # a 12-digit access key selects that account in miniaws, so calls from inside land in the
            # function's own account
            "AWS_ACCESS_KEY_ID": spec.account_id if access_key == "test" else access_key,
            "AWS_SECRET_ACCESS_KEY": secret,
            # boto3 inside the function talks to miniaws with no code change
            "AWS_ENDPOINT_URL": self.endpoint(),
        }
        python_path = [str(code_dir)]
        if opt_dir is not None:
            # where AWS puts layer contents on the paths (/opt/bin, /opt/lib, /opt/python, ...site-packages)
            variables["PATH"] = f"{opt_dir / 'bin'}:{variables['PATH']}"
            variables["LD_LIBRARY_PATH"] = str(opt_dir / "lib")
            python_path += [str(opt_dir / "python"), str(opt_dir / "python" / "lib" / spec.runtime / "site-packages")]
            variables["MINIAWS_LAMBDA_OPT"] = str(opt_dir)  # /opt itself cannot be created without root
        variables.update(dict(spec.environment))
        if spec.runtime.startswith("python"):
            interpreter = self.settings.interpreters.get(spec.runtime, sys.executable)
            if spec.runtime not in self._announced:
                self._announced.add(spec.runtime)
                log.info("runtime %s runs on %s", spec.runtime, interpreter)
            variables["PYTHONPATH"] = ":".join(python_path)
            # managed runtimes only: AWS defines no AWS_EXECUTION_ENV for OS-only runtimes (provided.*)
            # (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html)
            variables["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{spec.runtime}"
            argv = tuple(python_command(interpreter, PYTHON_BOOTSTRAP))
        else:
            # provided.*: the function's own bootstrap is the runtime (from the code, else from a layer's /opt)
            bootstrap = code_dir / "bootstrap"
            if not bootstrap.exists() and opt_dir is not None and (opt_dir / "bootstrap").exists():
                bootstrap = opt_dir / "bootstrap"
            argv = (str(bootstrap),)
        return Launch(argv, variables, str(code_dir))

    def _on_output(self, env: Environment, data: bytes) -> None:
        buffer = self._output.get(env.id)
        if buffer is not None:
            buffer.extend(data)

    def _take_output(self, env: Environment) -> bytes:
        buffer = self._output.get(env.id)
        if not buffer:
            return b""
        data = bytes(buffer)
        buffer.clear()
        return data

    async def _closed(self, env: Environment) -> None:
        if env.id not in self._held:
            self._forget(env)
        await self._close_api(env)

    def _forget(self, env: Environment) -> None:
        leftover = self._take_output(env)
        if leftover:
            self.logs.write(env.spec, env.id, leftover)
        self._output.pop(env.id, None)
        self.logs.close(env.id)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- invoking -------------------------------------------------------------------------------
    async def invoke(self, spec: FunctionSpec, payload: bytes, invoked_arn: str, client_context: str | None = None,
                     request_id: str | None = None) -> InvokeResult:
        """Run one invocation to its end. Raises Throttled when no concurrency is left. `request_id` is the Invoke
        request's own (x-amzn-RequestId): on AWS the function's aws_request_id and the log lines carry that id."""
        rid = request_id or new_request_id()
        attempt = 1
        while True:
            last = attempt >= DELIVERY_ATTEMPTS
            result = await self._attempt(spec, rid, payload, invoked_arn, client_context, attempt == 1, last)
            if result is not None:
                return result
            attempt += 1

    async def _attempt(self, spec: FunctionSpec, rid: str, payload: bytes, invoked_arn: str,
                       client_context: str | None, claim_returning: bool, last: bool) -> InvokeResult | None:
        """One environment's try at the invocation; None if the event never reached its runtime."""
        env, cold = await self.pool.acquire(spec, claim_returning=claim_returning)
        self._held.add(env.id)
        try:
            if cold:
                try:
                    await asyncio.wait_for(env.wait_ready(), INIT_TIMEOUT_SECONDS)
                except asyncio.TimeoutError:
                    env.init_failure = Outcome("timeout", error_type="Sandbox.Timedout")
                    env.stop()
            if env.state is not State.READY and not env.returning:
                return await self._failed_init(env, rid)
            return await self._run(env, cold, rid, payload, invoked_arn, client_context, last)
        finally:
            self._held.discard(env.id)
            self.pool.release(env)
            if env.state is State.STOPPED:
                self._forget(env)

    async def _run(self, env: Environment, cold: bool, rid: str, payload: bytes, invoked_arn: str,
                   client_context: str | None, last: bool = True) -> InvokeResult | None:
        spec = env.spec
        init_output = self._take_output(env)
        if init_output:
            self.logs.write(spec, env.id, init_output)
        deadline_ms = int((time.time() + spec.timeout_s) * 1000)
        invocation = Invocation(rid, payload, invoked_arn, deadline_ms, _trace_id(), client_context)
        env.start_invocation(invocation)
        outcome = await self._watch(env, invocation)
        if outcome.kind == "undelivered":
            if not last:
                return None  # the runtime never saw it: no log lines, the caller offers it to another environment
            outcome = Outcome("exit", b"Runtime exited without providing a reason", "Runtime.ExitError")
        elif outcome.error_type == "Function.ResponseSizeTooLarge":
            # the runtime was answered 413 and reports it (awslambdaric logs it, then exits): on AWS that report is
            # part of this invocation's log, which ends when the runtime asks for its next event or exits
            await _until_back(env)
        # a worker that died has no /proc entry left: report the peak last seen
        max_memory = max(env.worker.peak_rss_mb() if env.worker is not None else 0, env.peak_rss_mb)
        env.peak_rss_mb = max_memory
        if outcome.kind == "ok" and max_memory > spec.memory_mb:
            # it outgrew MemorySize between two watchdog looks: AWS would have killed it
            outcome = _out_of_memory()
            env.fail_current(outcome)
        if outcome.kind in ("timeout", "exit") and env.state is not State.STOPPED:
            env.stop()
        await _drain_output()
        duration_ms = max(0.0, (invocation.finished - invocation.started) * 1000.0)
        init_ms = None
        if not env.init_reported:
            env.init_reported = True
            init_ms = env.init_duration_ms
        body = self._take_output(env)
        status: str | None = None
        if outcome.kind == "timeout":
            message = f"{fmt.iso_now()} {rid} Task timed out after {duration_ms / 1000:.2f} seconds"
            body += (message + "\n").encode()
            outcome.payload = orjson.dumps({"errorMessage": message})
            status = "timeout"
        elif outcome.kind == "exit":
            reason = outcome.payload.decode()
            error_type = outcome.error_type or "Runtime.ExitError"
            body += f"RequestId: {rid} Error: {reason}\n{error_type}\n".encode()
            outcome.payload = orjson.dumps({"errorType": error_type,
                                            "errorMessage": f"RequestId: {rid} Error: {reason}"})
            status = "error"
        text = (fmt.start_line(rid, spec.version) + body + fmt.end_line(rid)
                + fmt.report_line(rid, duration_ms, spec.memory_mb, max_memory, init_ms, status,
                                  outcome.error_type if status == "error" else None))
        self.logs.write(spec, env.id, text)
        return InvokeResult(rid, outcome, text, cold, init_ms, duration_ms, max_memory)

    async def _watch(self, env: Environment, invocation: Invocation) -> Outcome:
        """Wait for the outcome under the timeout, looking at the worker's RSS every WATCH_INTERVAL: MemorySize
        is enforced by killing the environment, as Lambda does ("signal: killed", Runtime.OutOfMemory)."""
        spec = env.spec
        loop = asyncio.get_running_loop()
        begun = loop.time()
        deadline = begun + spec.timeout_s
        while True:
            remaining = deadline - loop.time()
            try:
                return await asyncio.wait_for(asyncio.shield(invocation.done), max(0.0, min(remaining, WATCH_INTERVAL)))
            except asyncio.TimeoutError:
                pass
            if invocation.done.done():
                return invocation.done.result()
            waited = loop.time() - begun
            if (not invocation.delivered and (waited >= RETURN_GRACE_SECONDS or remaining <= WATCH_INTERVAL)
                    and env.withdraw(invocation)):
                # its runtime is still busy after its last response: Lambda would have sent the event elsewhere
                return Outcome("undelivered")
            if remaining <= WATCH_INTERVAL:
                outcome = Outcome("timeout", error_type="Sandbox.Timedout")
            elif env.worker is not None and env.worker.rss_mb() > spec.memory_mb:
                env.peak_rss_mb = max(env.peak_rss_mb, env.worker.peak_rss_mb())
                outcome = _out_of_memory()
            else:
                continue
            invocation.finished = self.clock.monotonic()
            env.fail_current(outcome)
            return outcome

    async def _failed_init(self, env: Environment, rid: str) -> InvokeResult:
        """The environment could not start: the invocation reports the init error, as Lambda does."""
        spec = env.spec
        await _drain_output()
        failure = env.init_failure or Outcome("exit", b"Runtime exited without providing a reason",
                                              "Runtime.ExitError")
        if failure.kind == "exit":
            failure = Outcome("error", orjson.dumps({
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {rid} Error: {failure.payload.decode()}"}), "Runtime.ExitError")
        elif failure.kind == "timeout":
            failure = Outcome("error", orjson.dumps({
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {rid} Error: Task timed out after {INIT_TIMEOUT_SECONDS:.2f} seconds"}),
                "Sandbox.Timedout")
        else:
            failure = Outcome("error", failure.payload, failure.error_type)
        init_ms = (self.clock.monotonic() - env.created) * 1000.0
        text = (self._take_output(env) + fmt.start_line(rid, spec.version) + fmt.end_line(rid)
                + fmt.report_line(rid, 0.0, spec.memory_mb, 0, init_ms, "error", failure.error_type))
        self.logs.write(spec, env.id, text)
        return InvokeResult(rid, failure, text, True, init_ms)


def provisioned_init_timeout(spec: FunctionSpec) -> float:
    """AWS retries an on-demand init that exceeds 10 s; provisioned concurrency initialises ahead of any invocation
    and may take up to the function's timeout (whichever is longer)."""
    return max(INIT_TIMEOUT_SECONDS, float(spec.timeout_s))


def _out_of_memory() -> Outcome:
    return Outcome("exit", b"Runtime exited with error: signal: killed", "Runtime.OutOfMemory")


async def _until_back(env: Environment) -> None:
    """Wait (at most RETURN_GRACE_SECONDS) for the runtime to ask for its next event or for the environment to stop."""
    back: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    env.when_back(lambda _: None if back.done() else back.set_result(None))
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(back, RETURN_GRACE_SECONDS)


async def _drain_output() -> None:
    """Let output the worker wrote before its response reach us: the pipe was readable before the response
    arrived, so it is delivered within the next loop iterations (two cover uvloop's idle/poll ordering)."""
    for _ in range(3):
        await asyncio.sleep(0)


def _trace_id() -> str:
    # X-Ray trace header format: Root=1-<8 hex epoch seconds>-<24 hex>;Parent=<16 hex>;Sampled=0
    return f"Root=1-{int(time.time()):08x}-{hex_id(12)};Parent={hex_id(8)};Sampled=0"

