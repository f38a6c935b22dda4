"""Invoke through boto3 with real worker processes: cold and warm starts, logs, errors, timeouts, crashes,
versions, concurrency and the environment a function sees."""
from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from miniaws.testing import MiniAws
from tests.helpers.lambda_code import zipped

pytestmark = pytest.mark.subprocess

REPORT = re.compile(r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
                    r"Memory Size: (?P<mem>\d+) MB\tMax Memory Used: (?P<used>\d+) MB\t"
                    r"(?:Init Duration: (?P<init>\d+\.\d\d) ms\t)?(?:Status: (?P<status>\w+)\t.*)?$", re.M)


def invoke(lam: Any, name: str, event: Any = None, **kwargs: Any) -> tuple[dict[str, Any], Any, str]:
    """(response, decoded payload, log tail)."""
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), LogType="Tail", **kwargs)
    payload = json.loads(response["Payload"].read() or b"null")
    return response, payload, base64.b64decode(response["LogResult"]).decode()


def report(log: str) -> re.Match[str]:
    match = REPORT.search(log)
    assert match is not None, log
    return match


def test_cold_then_warm_keeps_module_state(lam: Any, make_function: Callable[..., str]) -> None:
    name = make_function("app.counter")
    first, one, cold_log = invoke(lam, name)
    second, two, warm_log = invoke(lam, name)
    assert first["StatusCode"] == 200 and "FunctionError" not in first and first["ExecutedVersion"] == "$LATEST"
    assert (one["count"], two["count"]) == (1, 2) and one["pid"] == two["pid"]
    cold, warm = report(cold_log), report(warm_log)
    assert cold["init"] is not None and warm["init"] is None
    assert int(warm["mem"]) == 128 and int(warm["used"]) > 0
    request_id = warm["id"]
    assert warm_log.startswith(f"START RequestId: {request_id} Version: $LATEST\n")
    assert f"call 2\nEND RequestId: {request_id}\nREPORT RequestId: {request_id}\t" in warm_log
    assert first["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]


def test_environment_and_context(lam: Any, make_function: Callable[..., str], miniaws: MiniAws) -> None:
    name = make_function("app.info", MemorySize=256, Timeout=30, Environment={"Variables": {"GREETING": "hi"}})
    lam.publish_version(FunctionName=name)
    _, out, _ = invoke(lam, name, Qualifier="1")
    env = out["env"]
    assert env["GREETING"] == "hi" and env["_HANDLER"] == "app.info" and env["AWS_REGION"] == "us-east-1"
    assert (env["AWS_LAMBDA_FUNCTION_NAME"], env["AWS_LAMBDA_FUNCTION_VERSION"]) == (name, "1")
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256" and out["memory"] == "256"
    assert env["AWS_ENDPOINT_URL"] == miniaws.endpoint_url
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-") and env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert env["LAMBDA_TASK_ROOT"] == out["cwd"] and env["AWS_ACCESS_KEY_ID"] == "000000000000"
    assert out["function_name"] == name and out["log_group"] == f"/aws/lambda/{name}"
    assert out["arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}:1"
    assert 25_000 < out["remaining"] <= 30_000 and len(out["request_id"]) == 36


def test_function_error_is_not_an_api_error(lam: Any, make_function: Callable[..., str]) -> None:
    name = make_function("app.fail")
    response, body, log = invoke(lam, name, {"why": "bad input"})
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "boom: bad input"
    assert any("in fail" in frame for frame in body["stackTrace"])
    assert "[ERROR] ValueError: boom: bad input\nTraceback (most recent call last):" in log
    assert report(log)["status"] is None  # a handled runtime error is not an environment failure


def test_timeout_kills_the_environment(lam: Any, make_function: Callable[..., str]) -> None:
    name = make_function("app.sleepy", Timeout=1)
    response, body, log = invoke(lam, name, {"seconds": 3})
    assert response["FunctionError"] == "Unhandled"
    assert re.search(r"Task timed out after 1\.\d\d seconds$", body["errorMessage"])
    assert "going to sleep\n" in log and report(log)["status"] == "timeout"
    # the environment was killed: the next invocation starts cold
    response, body, log = invoke(lam, name, {"seconds": 0})
    assert "FunctionError" not in response and body == "woke up" and report(log)["init"] is not None


def test_crash_and_init_errors(lam: Any, make_function: Callable[..., str]) -> None:
    crash = make_function("app.crash")
    response, body, log = invoke(lam, crash)
    assert response["FunctionError"] == "Unhandled" and body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"].endswith("Error: Runtime exited with error: exit status 7")
    assert report(log)["status"] == "error"
    missing = make_function("nowhere.handler")
    response, body, _ = invoke(lam, missing)
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == "Unable to import module 'nowhere': No module named 'nowhere'"
    _, body, _ = invoke(lam, make_function("app.nothing_here"))
    assert body["errorType"] == "Runtime.HandlerNotFound"


def test_memory_size_is_enforced(lam: Any, make_function: Callable[..., str]) -> None:
    name = make_function("app.hog", MemorySize=128, Timeout=10)
    response, body, log = invoke(lam, name, {"mb": 8, "hold": 0})
    assert "FunctionError" not in response and body == 8 * 1024 * 1024
    response, body, log = invoke(lam, name, {"mb": 200, "hold": 1})
    assert response["FunctionError"] == "Unhandled" and body["errorType"] == "Runtime.OutOfMemory"
    assert body["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
    found = report(log)
    assert found["status"] == "error" and "Error Type: Runtime.OutOfMemory" in log and int(found["used"]) > 128


def test_updates_retire_warm_environments_and_versions_keep_their_code(lam: Any,
                                                                        make_function: Callable[..., str]) -> None:
    name = make_function("app.echo")
    assert invoke(lam, name, {"v": 1})[1] == {"v": 1}
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="stable", FunctionVersion="1")
    lam.update_function_code(FunctionName=name, ZipFile=zipped({"app.py": "def echo(e, c):\n    return 'v2'\n"}))
    response, body, log = invoke(lam, name, {"v": 1})
    assert body == "v2" and report(log)["init"] is not None and response["ExecutedVersion"] == "$LATEST"
    response, body, _ = invoke(lam, name, {"v": 1}, Qualifier="stable")
    assert body == {"v": 1} and response["ExecutedVersion"] == "1"
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"GREETING": "x"}})
    assert report(invoke(lam, name)[2])["init"] is not None


def test_reserved_concurrency_throttles(lam: Any, make_function: Callable[..., str]) -> None:
    name = make_function("app.sleepy", Timeout=5)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as info:
        lam.invoke(FunctionName=name)
    error = info.value.response
    assert error["Error"]["Code"] == "TooManyRequestsException" and error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    # two environments run in parallel; a third concurrent call is throttled
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=2)
    results: list[Any] = []
    # all three calls start together and each holds its environment for 2.5 s, so they overlap even on a
    # loaded machine (0.8 s let a slow third thread start after the first two had finished)
    start = threading.Barrier(3)

    def call() -> None:
        start.wait(10)
        try:
            results.append(lam.invoke(FunctionName=name, Payload=b'{"seconds": 2.5}')["StatusCode"])
        except ClientError as exc:
            results.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results, key=str) == [200, 200, "TooManyRequestsException"]


def test_event_invocations_are_accepted_at_once(lam: Any, make_function: Callable[..., str]) -> None:
    name = make_function("app.echo")
    response = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"async": true}')
    assert response["StatusCode"] == 202 and response["Payload"].read() == b""


def test_boto3_inside_a_function_talks_to_miniaws(lam: Any, make_function: Callable[..., str], miniaws: MiniAws) -> None:
    name = make_function("app.uses_boto3", Timeout=30)
    bucket = f"from-lambda-{uuid.uuid4().hex[:12]}"
    response, body, _ = invoke(lam, name, {"bucket": bucket})
    assert "FunctionError" not in response, body
    assert body == ["from-lambda"]
    s3 = miniaws.client("s3")
    assert s3.get_object(Bucket=bucket, Key="from-lambda")["Body"].read() == b"hi"


def test_custom_runtime_bootstrap_in_shell(lam: Any, make_function: Callable[..., str]) -> None:
    bootstrap = """#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
echo "shell runtime up, handler ${_HANDLER}"
while true; do
  HEADERS="$(mktemp)"
  EVENT="$(curl -sS -LD "$HEADERS" "$API/invocation/next")"
  ID="$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)"
  echo "got $EVENT"
  curl -sS -X POST "$API/invocation/$ID/response" -d "{\\"shell\\": $EVENT}" > /dev/null
done
"""
    code = zipped({"bootstrap": bootstrap}, modes={"bootstrap": 0o755})
    name = make_function("function.handler", Runtime="provided.al2023", Code={"ZipFile": code})
    response, body, log = invoke(lam, name, {"n": 1})
    assert "FunctionError" not in response and body == {"shell": {"n": 1}}
    assert 'got {"n": 1}' in log and report(log)["init"] is not None
    _, body, log = invoke(lam, name, {"n": 2})
    assert body == {"shell": {"n": 2}} and report(log)["init"] is None


def test_logs_are_kept_per_function(lam: Any, make_function: Callable[..., str], miniaws: MiniAws) -> None:
    import urllib.request

    name = make_function("app.counter")
    invoke(lam, name)
    with urllib.request.urlopen(f"{miniaws.endpoint_url}/_miniaws/lambda/logs/{name}") as response:
        events = json.loads(response.read())["events"]
    messages = [e["message"] for e in events]
    assert any(m.startswith("START RequestId:") for m in messages) and "call 1" in messages
    assert any(m.startswith("REPORT RequestId:") for m in messages)


def test_layers_are_on_the_python_path(lam: Any, make_function: Callable[..., str]) -> None:
    shared = zipped({"python/greeting.py": "WORD = 'from layer one'\n", "python/only_one.py": "X = 1\n"})
    override = zipped({"python/greeting.py": "WORD = 'from layer two'\n"})
    name = f"lib-{uuid.uuid4().hex[:8]}"
    first = lam.publish_layer_version(LayerName=name, Content={"ZipFile": shared}, CompatibleRuntimes=["python3.12"])
    second = lam.publish_layer_version(LayerName=name, Content={"ZipFile": override})
    assert (first["Version"], second["Version"]) == (1, 2)
    code = zipped({"app.py": "import greeting, only_one\ndef handler(e, c):\n    return [greeting.WORD, only_one.X]\n"})
    fn = make_function("app.handler", Code={"ZipFile": code},
                       Layers=[first["LayerVersionArn"], second["LayerVersionArn"]])
    assert invoke(lam, fn)[1] == ["from layer two", 1]  # a later layer overwrites an earlier one's files
    lam.delete_layer_version(LayerName=name, VersionNumber=1)  # functions keep what they were built with
    lam.update_function_configuration(FunctionName=fn, Description="new revision, new environment")
    assert invoke(lam, fn)[1] == ["from layer two", 1]


def test_custom_runtime_without_bootstrap(lam: Any, make_function: Callable[..., str]) -> None:
    name = make_function("x.y", Runtime="provided.al2", Code={"ZipFile": zipped({"readme.txt": "no bootstrap"})})
    response, body, log = invoke(lam, name)
    assert response["FunctionError"] == "Unhandled" and body["errorType"] == "Runtime.InvalidEntrypoint"
    assert report(log)["status"] == "error"
