"""A function's output read the way AWS users read it: CloudWatch Logs group /aws/lambda/<name>, one stream per
execution environment named like Lambda's, through boto3 and `aws logs filter-log-events` (AWS CLI v1)."""
from __future__ import annotations

import json
import re
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import make_client
from tests.helpers.awscli import aws_executable, cli_environment
from tests.helpers.lambda_code import ROLE, zipped

pytestmark = pytest.mark.subprocess

HANDLER = '''
import json

def handler(event, context):
    print(json.dumps({"stream": context.log_stream_name, "order": event["order"]}))
    print("checkout done for", event["order"])
    return "ok"
'''
STREAM = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")


@pytest.fixture(scope="module")
def function(endpoint: str) -> Iterator[str]:
    lam = make_client(endpoint, "lambda")
    name = f"logs-{uuid.uuid4().hex[:8]}"
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": zipped({"app.py": HANDLER})})
    for order in ("A-1", "B-2"):
        out = lam.invoke(FunctionName=name, Payload=json.dumps({"order": order}).encode(), LogType="Tail")
        assert out["Payload"].read() == b'"ok"' and "LogResult" in out
    yield name
    lam.delete_function(FunctionName=name)


def test_function_lines_are_in_its_log_group(endpoint: str, function: str) -> None:
    logs = make_client(endpoint, "logs")
    group = f"/aws/lambda/{function}"
    assert [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]] == [group]
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert len(streams) == 1 and STREAM.match(streams[0]["logStreamName"])  # one warm environment served both
    stream = streams[0]["logStreamName"]
    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    messages = [e["message"] for e in events]
    assert sum(m.startswith("START RequestId:") for m in messages) == 2
    assert sum(m.startswith("REPORT RequestId:") for m in messages) == 2
    printed = [json.loads(m) for m in messages if m.startswith("{")]
    # the stream the function was told (context.log_stream_name) is the one its lines are in
    assert printed == [{"stream": stream, "order": "A-1"}, {"stream": stream, "order": "B-2"}]
    # the internal endpoint reads the same store
    with urllib.request.urlopen(f"{endpoint}/_miniaws/lambda/logs/{function}") as response:
        internal = json.loads(response.read())["events"]
    assert [e["message"] for e in internal] == messages and {e["logStreamName"] for e in internal} == {stream}


def test_aws_cli_filter_log_events(endpoint: str, function: str, tmp_path: Path) -> None:
    done = subprocess.run([aws_executable(), "logs", "filter-log-events", "--log-group-name", f"/aws/lambda/{function}",
                           "--filter-pattern", '"checkout done" -A', "--output", "json"],
                          env=cli_environment(endpoint, tmp_path / "home"), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    events = json.loads(done.stdout)["events"]
    assert [e["message"] for e in events] == ["checkout done for B-2"]
    assert STREAM.match(events[0]["logStreamName"])
