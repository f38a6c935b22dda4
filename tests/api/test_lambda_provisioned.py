"""Provisioned concurrency through boto3: Put/Get/Delete/List, IN_PROGRESS → READY (or FAILED), environments
initialised ahead of the first invoke, scaling, retirement with no worker left behind, and a restart that
provisions again. Real worker processes (marker: subprocess)."""
from __future__ import annotations

import base64
import json
import os
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from miniaws.testing import miniaws_server
from tests.api.conftest import make_client
from tests.helpers.lambda_code import ROLE, zipped

pytestmark = pytest.mark.subprocess

MODULE = '''
import os, time

INITIALISED = time.time()
print("init as", os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"])


def handler(event, context):
    return {"type": os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"], "initialised": INITIALISED, "pid": os.getpid()}
'''
CODE = zipped({"prov.py": MODULE, "broken.py": "raise ImportError('cannot start')\n"})


@pytest.fixture(scope="module")
def lam(endpoint: str) -> Any:
    return make_client(endpoint, "lambda")


@pytest.fixture(scope="module")
def unchecked(endpoint: str) -> Any:
    return make_client(endpoint, "lambda", config=BotoConfig(parameter_validation=False, retries={"max_attempts": 1}))


@pytest.fixture
def fn(lam: Any) -> Iterator[str]:
    """A function with versions 1 and 2 (same code) and the alias `live` on version 1."""
    name = create(lam)
    yield name
    try:
        lam.delete_function(FunctionName=name)
    except ClientError:
        pass


def create(lam: Any, handler: str = "prov.handler") -> str:
    name = f"pc-{uuid.uuid4().hex[:12]}"
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler=handler, Code={"ZipFile": CODE})
    lam.publish_version(FunctionName=name)
    lam.update_function_configuration(FunctionName=name, Description="v2")
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    return name


def error_of(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    response = info.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def settled(lam: Any, name: str, qualifier: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll GetProvisionedConcurrencyConfig until it leaves IN_PROGRESS, as a waiter would."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out: dict[str, Any] = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
        if out["Status"] != "IN_PROGRESS":
            return out
        time.sleep(0.05)
    raise AssertionError(f"{name}:{qualifier} still IN_PROGRESS")


def environments(endpoint: str, name: str, provisioned: bool = True) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{endpoint}/_miniaws/state") as response:
        state = json.loads(response.read())["lambda"]
    wanted = "provisioned-concurrency" if provisioned else "on-demand"
    return [e for e in state["Environments"]
            if e["FunctionArn"].endswith(f":function:{name}") and e["InitializationType"] == wanted]


def gone(pid: int, timeout: float = 10.0) -> bool:
    """True once the process no longer exists (killed and reaped: no zombie left)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


def invoke(lam: Any, name: str, qualifier: str) -> tuple[dict[str, Any], str]:
    out = lam.invoke(FunctionName=name, Qualifier=qualifier, LogType="Tail")
    assert "FunctionError" not in out
    return json.loads(out["Payload"].read()), base64.b64decode(out["LogResult"]).decode()


def test_put_in_progress_then_ready_and_invokes_are_pre_initialised(lam: Any, fn: str, endpoint: str) -> None:
    out = lam.put_provisioned_concurrency_config(FunctionName=fn, Qualifier="live", ProvisionedConcurrentExecutions=2)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert out["Status"] == "IN_PROGRESS" and out["RequestedProvisionedConcurrentExecutions"] == 2
    assert out["AllocatedProvisionedConcurrentExecutions"] == 0 and out["LastModified"]
    ready = settled(lam, fn, "live")
    assert ready["Status"] == "READY" and "StatusReason" not in ready
    assert ready["AllocatedProvisionedConcurrentExecutions"] == ready["AvailableProvisionedConcurrentExecutions"] == 2
    envs = environments(endpoint, fn)
    assert len(envs) == 2 and {e["Version"] for e in envs} == {"1"} and {e["State"] for e in envs} == {"READY"}

    before = time.time()
    body, log = invoke(lam, fn, "live")
    # initialised ahead of the invocation, in one of the provisioned workers: no Init Duration in REPORT
    assert body["type"] == "provisioned-concurrency" and body["initialised"] < before
    assert body["pid"] in {e["Pid"] for e in envs}
    assert "REPORT RequestId: " in log and "Init Duration" not in log
    # the version itself runs on the same environments; $LATEST is on-demand and cold
    assert invoke(lam, fn, "1")[0]["pid"] in {e["Pid"] for e in envs}
    body, log = invoke(lam, fn, "$LATEST")
    assert body["type"] == "on-demand" and "\tInit Duration: " in log

    lam.delete_provisioned_concurrency_config(FunctionName=fn, Qualifier="live")
    assert error_of(lam.get_provisioned_concurrency_config, FunctionName=fn, Qualifier="live") == (
        "ProvisionedConcurrencyConfigNotFoundException", "No Provisioned Concurrency Config found for this function",
        404)
    assert environments(endpoint, fn) == []
    assert all(gone(e["Pid"]) for e in envs)
    # now version 1 starts cold, on demand
    body, log = invoke(lam, fn, "live")
    assert body["type"] == "on-demand" and "\tInit Duration: " in log


def test_errors(lam: Any, unchecked: Any, fn: str) -> None:
    unpublished = "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
    assert error_of(lam.put_provisioned_concurrency_config, FunctionName=fn, Qualifier="$LATEST",
                    ProvisionedConcurrentExecutions=1) == ("InvalidParameterValueException", unpublished, 400)
    lam.create_alias(FunctionName=fn, Name="head", FunctionVersion="$LATEST")
    assert error_of(lam.put_provisioned_concurrency_config, FunctionName=fn, Qualifier="head",
                    ProvisionedConcurrentExecutions=1) == ("InvalidParameterValueException", unpublished, 400)
    code, message, status = error_of(unchecked.put_provisioned_concurrency_config, FunctionName=fn,
                                     Qualifier="live", ProvisionedConcurrentExecutions=0)
    assert (code, status) == ("ValidationException", 400)
    assert "'provisionedConcurrentExecutions' failed to satisfy constraint" in message
    assert error_of(lam.put_provisioned_concurrency_config, FunctionName=fn, Qualifier="9",
                    ProvisionedConcurrentExecutions=1)[::2] == ("ResourceNotFoundException", 404)
    assert error_of(lam.get_provisioned_concurrency_config, FunctionName=fn, Qualifier="nope")[::2] == (
        "ResourceNotFoundException", 404)
    assert error_of(lam.get_provisioned_concurrency_config, FunctionName=fn, Qualifier="1")[::2] == (
        "ProvisionedConcurrencyConfigNotFoundException", 404)
    assert error_of(lam.get_provisioned_concurrency_config, FunctionName="pc-missing", Qualifier="1")[::2] == (
        "ResourceNotFoundException", 404)
    # more than the account can spare (its unreserved concurrency must keep its minimum)
    code, message, status = error_of(lam.put_provisioned_concurrency_config, FunctionName=fn, Qualifier="live",
                                     ProvisionedConcurrentExecutions=100000)
    assert (code, status) == ("InvalidParameterValueException", 400) and "UnreservedConcurrentExecution" in message
    # provisioned concurrency must fit in the function's reservation, and the reservation cannot drop below it
    lam.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=1)
    assert error_of(lam.put_provisioned_concurrency_config, FunctionName=fn, Qualifier="live",
                    ProvisionedConcurrentExecutions=2) == (
        "InvalidParameterValueException",
        "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function",
        400)
    lam.put_provisioned_concurrency_config(FunctionName=fn, Qualifier="live", ProvisionedConcurrentExecutions=1)
    assert error_of(lam.put_function_concurrency, FunctionName=fn, ReservedConcurrentExecutions=0)[::2] == (
        "InvalidParameterValueException", 400)
    assert lam.get_function_concurrency(FunctionName=fn)["ReservedConcurrentExecutions"] == 1
    # a version is provisioned directly or through an alias, not both
    assert error_of(lam.put_provisioned_concurrency_config, FunctionName=fn, Qualifier="1",
                    ProvisionedConcurrentExecutions=1)[::2] == ("ResourceConflictException", 409)
    # and an alias that has provisioned concurrency cannot move to $LATEST
    assert error_of(lam.update_alias, FunctionName=fn, Name="live", FunctionVersion="$LATEST") == (
        "InvalidParameterValueException", unpublished, 400)
    # deleting a configuration that does not exist succeeds
    lam.delete_provisioned_concurrency_config(FunctionName=fn, Qualifier="2")


def test_init_failure_is_failed_with_a_reason(lam: Any, endpoint: str) -> None:
    name = create(lam, handler="broken.handler")
    try:
        lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1)
        out = settled(lam, name, "1")
        assert out["Status"] == "FAILED" and out["StatusReason"] == "FUNCTION_ERROR_INIT_FAILURE"
        assert out["AllocatedProvisionedConcurrentExecutions"] == 0 and environments(endpoint, name) == []
        # the init error is in the function's log
        with urllib.request.urlopen(f"{endpoint}/_miniaws/lambda/logs/{name}") as response:
            messages = "".join(e["message"] for e in json.loads(response.read())["events"])
        assert "cannot start" in messages
    finally:
        lam.delete_function(FunctionName=name)


def test_scaling_listing_and_retirement(lam: Any, fn: str, endpoint: str) -> None:
    lam.put_provisioned_concurrency_config(FunctionName=fn, Qualifier="live", ProvisionedConcurrentExecutions=1)
    assert settled(lam, fn, "live")["Status"] == "READY"
    lam.put_provisioned_concurrency_config(FunctionName=fn, Qualifier="live", ProvisionedConcurrentExecutions=2)
    assert settled(lam, fn, "live")["AllocatedProvisionedConcurrentExecutions"] == 2
    assert len(environments(endpoint, fn)) == 2
    out = lam.put_provisioned_concurrency_config(FunctionName=fn, Qualifier="live", ProvisionedConcurrentExecutions=1)
    assert out["Status"] == "READY" and out["AllocatedProvisionedConcurrentExecutions"] == 1
    assert len(environments(endpoint, fn)) == 1

    lam.create_alias(FunctionName=fn, Name="canary", FunctionVersion="2")
    lam.put_provisioned_concurrency_config(FunctionName=fn, Qualifier="canary", ProvisionedConcurrentExecutions=1)
    settled(lam, fn, "canary")
    first = lam.list_provisioned_concurrency_configs(FunctionName=fn, MaxItems=1)
    assert len(first["ProvisionedConcurrencyConfigs"]) == 1 and first["NextMarker"]
    second = lam.list_provisioned_concurrency_configs(FunctionName=fn, MaxItems=1, Marker=first["NextMarker"])
    assert "NextMarker" not in second
    items = first["ProvisionedConcurrencyConfigs"] + second["ProvisionedConcurrencyConfigs"]
    assert [i["FunctionArn"].rsplit(":", 1)[1] for i in items] == ["canary", "live"]
    assert {i["Status"] for i in items} == {"READY"}
    pages = lam.get_paginator("list_provisioned_concurrency_configs").paginate(FunctionName=fn)
    assert sum(len(p["ProvisionedConcurrencyConfigs"]) for p in pages) == 2

    # moving the alias re-provisions on the new version
    lam.update_alias(FunctionName=fn, Name="canary", FunctionVersion="1")
    assert settled(lam, fn, "canary")["Status"] == "READY"
    assert sorted(e["Version"] for e in environments(endpoint, fn)) == ["1", "1"]
    # deleting the alias retires its environments, deleting the function all the others
    pids = {e["Pid"] for e in environments(endpoint, fn)}
    lam.delete_alias(FunctionName=fn, Name="canary")
    assert len(environments(endpoint, fn)) == 1
    lam.delete_function(FunctionName=fn)
    assert environments(endpoint, fn) == [] and all(gone(pid) for pid in pids)


def test_provisioned_concurrency_survives_a_restart(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    with miniaws_server(ephemeral=False, data_dir=data) as server:
        lam = server.client("lambda", config=BotoConfig(retries={"max_attempts": 1}))
        name = create(lam)
        lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=1)
        assert settled(lam, name, "live")["Status"] == "READY"
        before = environments(server.endpoint_url, name)
        assert len(before) == 1
    assert gone(before[0]["Pid"])  # server shutdown retires them
    with miniaws_server(ephemeral=False, data_dir=data) as server:
        lam = server.client("lambda", config=BotoConfig(retries={"max_attempts": 1}))
        out = settled(lam, name, "live")
        assert out["Status"] == "READY" and out["RequestedProvisionedConcurrentExecutions"] == 1
        after = environments(server.endpoint_url, name)
        assert len(after) == 1 and after[0]["Pid"] != before[0]["Pid"]
        body, log = invoke(lam, name, "live")
        assert body["type"] == "provisioned-concurrency" and "Init Duration" not in log
        assert lam.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"][0][
            "FunctionArn"].endswith(f"{name}:live")
