"""Functions across server lifecycles: Event retries on a server with short backoff, a restart that keeps
functions (and runs them), no worker outliving the server, and the AWS CLI's `lambda invoke --log-type Tail`."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from miniaws.testing import miniaws_server
from tests.helpers.lambda_code import ROLE, handlers_zip
from tests.helpers.process import ServerProcess, start_server

pytestmark = pytest.mark.subprocess
CODE = handlers_zip()


def client(endpoint: str, service: str = "lambda") -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=BotoConfig(retries={"max_attempts": 1}, read_timeout=60))


def stop(server: ServerProcess) -> int:
    code = server.terminate()
    if server.proc.stdout is not None:
        server.proc.stdout.close()
    return code


def wait_for(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_event_invocations_retry_twice_with_backoff(tmp_path: Path) -> None:
    with miniaws_server(lambda_retry_delay_seconds=0.05) as aws:
        lam = client(aws.endpoint_url)
        lam.create_function(FunctionName="flaky", Runtime="python3.12", Role=ROLE, Handler="app.flaky",
                            Code={"ZipFile": CODE})
        # fails twice, succeeds on the second retry
        recovers = tmp_path / "recovers"
        lam.invoke(FunctionName="flaky", InvocationType="Event",
                   Payload=json.dumps({"path": str(recovers), "fail": 2}).encode())
        # always fails: three attempts in all, then the failure is recorded
        gives_up = tmp_path / "gives-up"
        lam.invoke(FunctionName="flaky", InvocationType="Event",
                   Payload=json.dumps({"path": str(gives_up), "fail": 99}).encode())
        wait_for(lambda: recovers.exists() and recovers.read_text() == "xxx")
        wait_for(lambda: gives_up.exists() and gives_up.read_text() == "xxx")
        time.sleep(0.3)  # a fourth attempt would come 0.2 s after the third
        assert gives_up.read_text() == "xxx" and recovers.read_text() == "xxx"
        events = aws.server_thread.server.services["lambda"].runtime.logs.events("/aws/lambda/flaky")  # type: ignore[attr-defined]
        failures = [e["message"] for e in events if e["logStreamName"] == "async-failures"]
        assert len(failures) == 1 and "failed after 3 attempts" in failures[0]


def test_functions_survive_a_restart_and_no_worker_outlives_the_server(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    server = start_server("--data-dir", data)
    try:
        lam = client(server.endpoint_url)
        lam.create_function(FunctionName="durable", Runtime="python3.12", Role=ROLE, Handler="app.counter",
                            Code={"ZipFile": CODE}, Environment={"Variables": {"GREETING": "kept"}})
        lam.publish_version(FunctionName="durable")
        lam.create_alias(FunctionName="durable", Name="live", FunctionVersion="1")
        pid = json.loads(lam.invoke(FunctionName="durable")["Payload"].read())["pid"]
        os.kill(pid, 0)  # the worker is alive while the server runs
    finally:
        assert stop(server) == 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    server = start_server("--data-dir", data)
    try:
        lam = client(server.endpoint_url)
        config = lam.get_function_configuration(FunctionName="durable", Qualifier="live")
        assert config["Version"] == "1" and config["Environment"]["Variables"] == {"GREETING": "kept"}
        out = json.loads(lam.invoke(FunctionName="durable", Qualifier="live")["Payload"].read())
        assert out["count"] == 1 and out["pid"] != pid
        with urllib.request.urlopen(lam.get_function(FunctionName="durable")["Code"]["Location"]) as response:
            assert response.read() == CODE
    finally:
        stop(server)


def test_aws_cli_invoke_with_log_tail(tmp_path: Path) -> None:
    aws = Path(sys.executable).parent / "aws"
    if not aws.exists():
        pytest.skip("the AWS CLI is not installed next to this interpreter")
    with miniaws_server() as server:
        client(server.endpoint_url).create_function(FunctionName="cli", Runtime="python3.12", Role=ROLE,
                                                    Handler="app.counter", Code={"ZipFile": CODE})
        env = {"PATH": os.environ.get("PATH", ""), "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "none"),
               "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
        out_file = tmp_path / "out.json"
        done = subprocess.run([str(aws), "--endpoint-url", server.endpoint_url, "lambda", "invoke",
                               "--function-name", "cli", "--log-type", "Tail", str(out_file)],
                              capture_output=True, env=env, timeout=60, check=True)
        result = json.loads(done.stdout)
        assert result["StatusCode"] == 200 and result["ExecutedVersion"] == "$LATEST"
        log = base64.b64decode(result["LogResult"]).decode()
        assert "call 1\nEND RequestId: " in log and "\tInit Duration: " in log
        assert json.loads(out_file.read_text())["count"] == 1
