"""AWS's own Python runtime interface client (awslambdaric) as a provided.al2023 custom runtime, invoked with
boto3: the function's `bootstrap` runs `python -m awslambdaric <handler>`, as AWS documents for custom runtimes
and container images, so everything it does goes through our Runtime API unmodified."""
from __future__ import annotations

import base64
import json
import re
import sys
import urllib.request
import uuid
from typing import Any

import pytest

from miniaws.testing import MiniAws
from tests.functions.event_support import wait_for
from tests.helpers.lambda_code import ROLE, zipped

pytest.importorskip("awslambdaric")

pytestmark = pytest.mark.subprocess

HANDLER = '''
import os

COUNT = 0


def fn(event, context):
    global COUNT
    COUNT += 1
    op = event.get("op")
    print("handling", op, COUNT)
    if op == "fail":
        raise ValueError("boom: " + event["why"])
    if op == "context":
        cc = context.client_context
        return {"request_id": context.aws_request_id, "remaining": context.get_remaining_time_in_millis(),
                "arn": context.invoked_function_arn, "name": context.function_name,
                "memory": context.memory_limit_in_mb, "log_group": context.log_group_name,
                "custom": cc.custom if cc else None, "trace": os.environ.get("_X_AMZN_TRACE_ID"),
                "execution_env": os.environ.get("AWS_EXECUTION_ENV")}
    if op == "whoami":
        print("whoami", context.aws_request_id)
    if op == "count":
        return {"count": COUNT, "pid": os.getpid()}
    if op == "size":
        return len(event["data"])
    if op == "big":
        return "x" * event["n"]
    return event
'''

REPORT = re.compile(r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
                    r"Memory Size: \d+ MB\tMax Memory Used: \d+ MB\t(?:Init Duration: (?P<init>\d+\.\d\d) ms\t)?", re.M)


def code(handler_module: str = HANDLER) -> bytes:
    # the test interpreter has awslambdaric installed; the bootstrap is the custom runtime AWS describes
    bootstrap = f'#!/bin/sh\nexec "{sys.executable}" -m awslambdaric "$_HANDLER"\n'
    return zipped({"bootstrap": bootstrap, "handler.py": handler_module}, modes={"bootstrap": 0o755})


def create(lam: Any, **params: Any) -> str:
    name = f"ric-{uuid.uuid4().hex[:8]}"
    params.setdefault("Code", {"ZipFile": code()})
    params.setdefault("Handler", "handler.fn")
    lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Timeout=10, **params)
    return name


def invoke(lam: Any, name: str, event: Any, **kwargs: Any) -> tuple[dict[str, Any], Any, str]:
    """(response, decoded payload, log tail)."""
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode(), LogType="Tail", **kwargs)
    return response, json.loads(response["Payload"].read()), base64.b64decode(response["LogResult"]).decode()


def report(log: str) -> re.Match[str]:
    match = REPORT.search(log)
    assert match is not None, log
    return match


@pytest.fixture(scope="module")
def ric(lam: Any) -> str:
    return create(lam)


def test_json_round_trip_cold_then_warm(lam: Any) -> None:
    name = create(lam)
    event = {"op": "echo", "text": "héllo ☃", "nested": {"list": [1, 2.5, None, True]}}
    response, body, log = invoke(lam, name, event)
    assert response["StatusCode"] == 200 and "FunctionError" not in response and body == event
    cold = report(log)
    assert cold["init"] is not None
    assert log.startswith(f"START RequestId: {cold['id']} Version: $LATEST\n")
    assert f"handling echo 1\nEND RequestId: {cold['id']}\nREPORT RequestId: {cold['id']}\t" in log
    # warm: the same process and module state, no Init Duration
    _, first, _ = invoke(lam, name, {"op": "count"})
    _, second, log = invoke(lam, name, {"op": "count"})
    assert (first["count"], second["count"]) == (2, 3) and first["pid"] == second["pid"]
    assert report(log)["init"] is None


def test_function_error_has_awslambdarics_shape(lam: Any, ric: str) -> None:
    response, body, log = invoke(lam, ric, {"op": "fail", "why": "bad input"})
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amz-function-error"] == "Unhandled"
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "boom: bad input"
    assert any("in fn" in frame for frame in body["stackTrace"])
    assert body["requestId"] == report(log)["id"]
    # awslambdaric keeps a multi-line error in one log event by joining its lines with \r
    assert "[ERROR] ValueError: boom: bad input\rTraceback (most recent call last):" in log


def test_context_fields(lam: Any, ric: str) -> None:
    client_context = base64.b64encode(json.dumps({"custom": {"who": "test"}, "env": {}, "client": {}}).encode())
    _, out, log = invoke(lam, ric, {"op": "context"}, ClientContext=client_context.decode())
    assert out["request_id"] == report(log)["id"]
    assert 0 < out["remaining"] <= 10_000
    assert out["arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{ric}"
    assert (out["name"], out["memory"], out["log_group"]) == (ric, "128", f"/aws/lambda/{ric}")
    assert out["custom"] == {"who": "test"} and out["trace"].startswith("Root=1-")
    lam.publish_version(FunctionName=ric)
    lam.create_alias(FunctionName=ric, Name="live", FunctionVersion="1")
    _, out, _ = invoke(lam, ric, {"op": "context"}, Qualifier="live")
    assert out["arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{ric}:live"


def test_large_event_reaches_the_handler(lam: Any, ric: str) -> None:
    data = "y" * (6 * 1024 * 1024 - 200)  # just under Invoke's 6 MB request limit
    response, body, _ = invoke(lam, ric, {"op": "size", "data": data})
    assert "FunctionError" not in response and body == len(data)


def test_oversized_response_is_function_response_size_too_large(lam: Any) -> None:
    name = create(lam)
    response, body, log = invoke(lam, name, {"op": "big", "n": 7 * 1024 * 1024})
    assert response["FunctionError"] == "Unhandled"
    assert body == {"errorType": "Function.ResponseSizeTooLarge",
                    "errorMessage": f"Response payload size ({7 * 1024 * 1024 + 2} bytes) exceeded maximum allowed "
                                    "payload size (6291556 bytes)."}
    # what awslambdaric logs on the Runtime API's 413, as it does on AWS
    assert "Failed to post handler success response. Http response code: 413." in log


def test_init_error_reported_by_awslambdaric(lam: Any) -> None:
    name = create(lam, Handler="nowhere.fn")
    response, body, log = invoke(lam, name, {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == "Unable to import module 'nowhere': No module named 'nowhere'"
    assert "Status: error" in log


def test_the_invoke_request_id_is_the_functions(lam: Any, ric: str) -> None:
    response, out, log = invoke(lam, ric, {"op": "context"})
    request_id = response["ResponseMetadata"]["RequestId"]
    assert out["request_id"] == request_id == report(log)["id"]
    assert log.startswith(f"START RequestId: {request_id} Version: $LATEST\n")
    assert f"END RequestId: {request_id}\nREPORT RequestId: {request_id}\t" in log
    # an OS-only runtime: AWS defines no AWS_EXECUTION_ENV for it
    assert out["execution_env"] is None


def test_an_event_invocation_runs_under_the_request_id_invoke_answered_with(lam: Any, ric: str,
                                                                           miniaws: MiniAws) -> None:
    response = lam.invoke(FunctionName=ric, InvocationType="Event", Payload=b'{"op": "whoami"}')
    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["StatusCode"] == 202

    def logged() -> list[str] | None:
        with urllib.request.urlopen(f"{miniaws.endpoint_url}/_miniaws/lambda/logs/{ric}") as answer:
            messages = [e["message"] for e in json.loads(answer.read())["events"]]
        done = any(m.startswith(f"REPORT RequestId: {request_id}\t") for m in messages)
        return messages if done else None

    messages = wait_for(logged)
    assert f"whoami {request_id}" in messages and f"START RequestId: {request_id} Version: $LATEST" in messages


def test_the_invoke_after_a_runtime_exit_gets_a_new_runtime(lam: Any) -> None:
    name = create(lam)
    _, body, _ = invoke(lam, name, {"op": "big", "n": 7 * 1024 * 1024})
    assert body["errorType"] == "Function.ResponseSizeTooLarge"
    # awslambdaric exits on the Runtime API's 413; the next event goes to a new runtime, not to the dying one
    response, body, log = invoke(lam, name, {"op": "count"})
    assert "FunctionError" not in response, body
    assert body["count"] == 1 and report(log)["init"] is not None
