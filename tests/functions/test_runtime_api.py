"""The Runtime API listener on a real loopback socket, driven by an HTTP client playing the runtime (no worker
process): what runtimes other than ours (awslambdaric, curl scripts) depend on at the wire level."""
from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import orjson
import pytest

from miniaws.core.clock import FakeClock
from miniaws.functions.environment import Environment
from miniaws.functions.invocation import FunctionSpec, Invocation, Outcome
from miniaws.functions.runtime_api import MAX_RESPONSE_BYTES, RuntimeApi

SPEC = FunctionSpec(key="arn:fn:$LATEST:1", function_name="fn", function_arn="arn:fn", version="$LATEST",
                    runtime="provided.al2023", handler="h.fn", memory_mb=128, timeout_s=3, code_blob="code",
                    region="us-east-1", account_id="000000000000")
ARN = "arn:aws:lambda:us-east-1:000000000000:function:fn"


@dataclass
class Sandbox:
    env: Environment
    base: str
    http: aiohttp.ClientSession

    async def invoke(self, request_id: str, client_context: str | None = None) -> Invocation:
        """Hand the environment an event (its runtime is waiting in /next)."""
        invocation = Invocation(request_id, b'{"n": 1}', ARN, 1_700_000_003_000, "Root=1-a-b", client_context)
        self.env.start_invocation(invocation)
        return invocation

    async def next_event(self, request_id: str, client_context: str | None = None) -> aiohttp.ClientResponse:
        """After the current invocation is settled and released: the 'runtime' asks for the next event, which is
        handed over once it waits."""
        self.env.released()
        waiting = asyncio.ensure_future(self.http.get(f"{self.base}/invocation/next"))
        available: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.env.when_back(lambda _: available.set_result(None))
        await asyncio.wait_for(available, 5)
        await self.invoke(request_id, client_context)
        return await asyncio.wait_for(waiting, 5)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    api = RuntimeApi()
    env = Environment("e1", SPEC, FakeClock())
    endpoint = await api.open(env)
    async with aiohttp.ClientSession() as http:
        box = Sandbox(env, f"http://{endpoint}/2018-06-01/runtime", http)
        # the runtime's first /next ends init; then the first event is handed over
        first = asyncio.ensure_future(http.get(f"{box.base}/invocation/next"))
        await asyncio.wait_for(env.wait_ready(), 5)
        await box.invoke("req-1")
        response = await asyncio.wait_for(first, 5)
        assert response.status == 200 and response.headers["Lambda-Runtime-Aws-Request-Id"] == "req-1"
        await response.read()
        yield box
    env.stop()
    await api.close_all()


async def _outcome(invocation: Invocation) -> Outcome:
    assert invocation.done.done()
    return invocation.done.result()


async def test_event_headers_and_a_base64_client_context_handed_over_as_json(sandbox: Sandbox) -> None:
    await sandbox.http.post(f"{sandbox.base}/invocation/req-1/response", data=b"1")
    context = {"custom": {"k": "v"}, "env": {"platform": "x"}, "client": {}}
    # Invoke's ClientContext is base64 (X-Amz-Client-Context); runtimes json-parse the header they get
    async with await sandbox.next_event("req-2", base64.b64encode(orjson.dumps(context)).decode()) as response:
        assert await response.read() == b'{"n": 1}'
        headers = response.headers
    assert headers["Lambda-Runtime-Aws-Request-Id"] == "req-2"
    assert headers["Lambda-Runtime-Deadline-Ms"] == "1700000003000"
    assert headers["Lambda-Runtime-Invoked-Function-Arn"] == ARN
    assert headers["Lambda-Runtime-Trace-Id"] == "Root=1-a-b" and headers["Content-Type"] == "application/json"
    assert orjson.loads(headers["Lambda-Runtime-Client-Context"]) == context


async def test_a_client_context_that_is_not_base64_json_is_left_out(sandbox: Sandbox) -> None:
    await sandbox.http.post(f"{sandbox.base}/invocation/req-1/response", data=b"1")
    async with await sandbox.next_event("req-2", "not base64 {}") as response:
        assert response.status == 200 and "Lambda-Runtime-Client-Context" not in response.headers


async def test_a_response_of_exactly_the_limit_is_accepted(sandbox: Sandbox) -> None:
    invocation = sandbox.env.current
    assert invocation is not None
    async with sandbox.http.post(f"{sandbox.base}/invocation/req-1/response",
                                 data=io.BytesIO(b"x" * MAX_RESPONSE_BYTES)) as response:
        assert response.status == 202 and await response.json() == {"status": "OK"}
    outcome = await _outcome(invocation)
    assert outcome.kind == "ok" and len(outcome.payload) == MAX_RESPONSE_BYTES == 6_291_556


@pytest.mark.parametrize("size", [MAX_RESPONSE_BYTES + 1, 8 * 1024 * 1024])
async def test_an_oversized_response_gets_413_and_fails_the_invocation(sandbox: Sandbox, size: int) -> None:
    invocation = sandbox.env.current
    assert invocation is not None
    async with sandbox.http.post(f"{sandbox.base}/invocation/req-1/response", data=io.BytesIO(b"x" * size)) as response:
        assert response.status == 413
        assert await response.json() == {"errorMessage": "Exceeded maximum allowed payload size (6291556 bytes).",
                                          "errorType": "RequestEntityTooLarge"}
    outcome = await _outcome(invocation)
    assert outcome.kind == "error" and outcome.error_type == "Function.ResponseSizeTooLarge"
    assert orjson.loads(outcome.payload) == {
        "errorMessage": f"Response payload size ({size} bytes) exceeded maximum allowed payload size "
                        "(6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge"}
    # the connection stays usable: the runtime's next call is answered
    async with sandbox.http.post(f"{sandbox.base}/invocation/other/response", data=b"1") as again:
        assert again.status == 400


async def test_error_document_with_an_xray_cause_reaches_the_caller_without_it(sandbox: Sandbox) -> None:
    invocation = sandbox.env.current
    assert invocation is not None
    document = {"errorMessage": "boom", "errorType": "Oops", "stackTrace": ["at x"],
                "errorCause": {"paths": [], "working_directory": "/var/task", "exceptions": []}}
    async with sandbox.http.post(f"{sandbox.base}/invocation/req-1/error", data=orjson.dumps(document),
                                 headers={"Content-Type": "application/vnd.aws.lambda.error.cause+json",
                                          "Lambda-Runtime-Function-Error-Type": "Oops"}) as response:
        assert response.status == 202
    outcome = await _outcome(invocation)
    assert outcome.kind == "error" and outcome.error_type == "Oops"
    assert orjson.loads(outcome.payload) == {"errorMessage": "boom", "errorType": "Oops", "stackTrace": ["at x"]}


async def test_a_plain_error_document_is_passed_through(sandbox: Sandbox) -> None:
    invocation = sandbox.env.current
    assert invocation is not None
    body = b'{"errorMessage": "m", "errorType": "T", "requestId": "req-1", "stackTrace": []}'
    async with sandbox.http.post(f"{sandbox.base}/invocation/req-1/error", data=body,
                                 headers={"Content-Type": "application/json"}) as response:
        assert response.status == 202
    outcome = await _outcome(invocation)
    # no Lambda-Runtime-Function-Error-Type header (awslambdaric sends none): the function error is Unhandled
    assert (outcome.kind, outcome.error_type, outcome.payload) == ("error", "Unhandled", body)


async def test_a_response_for_another_request_is_refused(sandbox: Sandbox) -> None:
    async with sandbox.http.post(f"{sandbox.base}/invocation/other/response", data=b"1") as response:
        assert response.status == 400 and (await response.json())["errorType"] == "InvalidRequestID"
    async with sandbox.http.get(f"{sandbox.base}/invocation/req-1/nothing") as response:
        assert response.status == 404


async def test_expect_100_continue_is_answered_before_the_body(sandbox: Sandbox) -> None:
    # curl sends `Expect: 100-continue` before a body over 1 MB and would otherwise wait a second for the answer
    invocation = sandbox.env.current
    assert invocation is not None
    host, port = sandbox.base.split("/")[2].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(b"POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert interim.startswith(b"HTTP/1.1 100 Continue")
        writer.write(b"hello")
        final = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert final.startswith(b"HTTP/1.1 202")
    finally:
        writer.close()
    outcome = await _outcome(invocation)
    assert (outcome.kind, outcome.payload) == ("ok", b"hello")


async def test_a_second_report_for_a_settled_invocation_is_forbidden(sandbox: Sandbox) -> None:
    invocation = sandbox.env.current
    assert invocation is not None
    async with sandbox.http.post(f"{sandbox.base}/invocation/req-1/response", data=b"1") as response:
        assert response.status == 202
    for kind in ("response", "error"):
        async with sandbox.http.post(f"{sandbox.base}/invocation/req-1/{kind}", data=b"2") as response:
            assert response.status == 403
            body = await response.json()
        assert body["errorType"] == "InvalidStateTransition"
        assert body["errorMessage"].startswith("State transition from ResponseSent to ")
    outcome = await _outcome(invocation)
    assert (outcome.kind, outcome.payload) == ("ok", b"1")
