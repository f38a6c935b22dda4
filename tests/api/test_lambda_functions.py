"""Lambda control plane through boto3: create/get/list/update/delete, waiters, code download, versions, aliases,
concurrency settings, tags and AWS's error shapes. No function runs here (see tests/functions)."""
from __future__ import annotations

import base64
import hashlib
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from tests.api.conftest import make_client
from tests.helpers.lambda_code import ROLE, handlers_zip, zipped

CODE = handlers_zip()


@pytest.fixture(scope="module")
def lam(endpoint: str) -> Any:
    return make_client(endpoint, "lambda")


@pytest.fixture(scope="module")
def unchecked(endpoint: str) -> Any:
    """A client that sends what it is given: the server, not botocore, must reject bad values."""
    return make_client(endpoint, "lambda", config=BotoConfig(parameter_validation=False, retries={"max_attempts": 1}))


@pytest.fixture
def fn(lam: Any) -> Iterator[str]:
    name = f"fn-{uuid.uuid4().hex[:12]}"
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.echo",
                        Code={"ZipFile": CODE})
    yield name
    try:
        lam.delete_function(FunctionName=name)
    except ClientError:
        pass


def error_of(call: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    response = info.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_create_function_shape_and_waiter(lam: Any) -> None:
    name = f"fn-{uuid.uuid4().hex[:12]}"
    out = lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.echo",
                              Code={"ZipFile": CODE}, Description="demo", Timeout=30, MemorySize=256,
                              Environment={"Variables": {"GREETING": "hi"}}, Architectures=["arm64"],
                              Tags={"team": "core"})
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert out["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert out["State"] == "Pending" and out["StateReasonCode"] == "Creating"
    assert out["CodeSha256"] == base64.b64encode(hashlib.sha256(CODE).digest()).decode()
    assert (out["CodeSize"], out["Timeout"], out["MemorySize"], out["Version"]) == (len(CODE), 30, 256, "$LATEST")
    assert out["Environment"] == {"Variables": {"GREETING": "hi"}} and out["Architectures"] == ["arm64"]
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 2})
    got = lam.get_function(FunctionName=name)
    assert got["Configuration"]["State"] == "Active" and got["Configuration"]["LastUpdateStatus"] == "Successful"
    assert got["Tags"] == {"team": "core"} and got["Code"]["RepositoryType"] == "S3"
    with urllib.request.urlopen(got["Code"]["Location"]) as response:
        assert response.read() == CODE
    assert lam.get_function_configuration(FunctionName=name)["Description"] == "demo"
    lam.delete_function(FunctionName=name)


def test_code_from_s3(lam: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="builds/code.zip", Body=CODE)
    name = f"fn-{uuid.uuid4().hex[:12]}"
    out = lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.echo",
                              Code={"S3Bucket": bucket, "S3Key": "builds/code.zip"})
    assert out["CodeSize"] == len(CODE)
    code, message, status = error_of(lam.create_function, FunctionName=name + "x", Runtime="python3.11", Role=ROLE,
                                     Handler="app.echo", Code={"S3Bucket": bucket, "S3Key": "missing.zip"})
    assert (code, status) == ("InvalidParameterValueException", 400) and "NoSuchKey" in message
    lam.delete_function(FunctionName=name)


@pytest.mark.parametrize(("change", "code", "status"), [
    ({"Timeout": 0}, "ValidationException", 400),
    ({"Timeout": 901}, "ValidationException", 400),
    ({"MemorySize": 64}, "ValidationException", 400),
    ({"MemorySize": 10241}, "ValidationException", 400),
    ({"Runtime": "nodejs20.x"}, "InvalidParameterValueException", 400),
    ({"Role": "not-a-role"}, "ValidationException", 400),
    ({"Code": {"ZipFile": b"not a zip"}}, "InvalidParameterValueException", 400),
    ({"Environment": {"Variables": {"AWS_REGION": "x"}}}, "InvalidParameterValueException", 400),
    ({"FunctionName": "bad name!"}, "ValidationException", 400),
])
def test_create_validation(unchecked: Any, change: dict[str, Any], code: str, status: int) -> None:
    params = {"FunctionName": f"fn-{uuid.uuid4().hex[:12]}", "Runtime": "python3.12", "Role": ROLE,
              "Handler": "app.echo", "Code": {"ZipFile": CODE}, **change}
    got_code, _, got_status = error_of(unchecked.create_function, **params)
    assert (got_code, got_status) == (code, status)


def test_duplicate_and_missing(lam: Any, fn: str) -> None:
    code, message, status = error_of(lam.create_function, FunctionName=fn, Runtime="python3.12", Role=ROLE,
                                     Handler="app.echo", Code={"ZipFile": CODE})
    assert (code, status, message) == ("ResourceConflictException", 409, f"Function already exist: {fn}")
    code, message, status = error_of(lam.get_function, FunctionName="does-not-exist")
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message == "Function not found: arn:aws:lambda:us-east-1:000000000000:function:does-not-exist"
    assert error_of(lam.invoke, FunctionName="does-not-exist")[0] == "ResourceNotFoundException"


def test_function_name_forms(lam: Any, fn: str) -> None:
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{fn}"
    for ref in (fn, arn, f"000000000000:function:{fn}", f"{fn}:$LATEST"):
        assert lam.get_function_configuration(FunctionName=ref)["FunctionArn"] == arn


def test_list_functions_paginates(lam: Any) -> None:
    prefix = f"ls-{uuid.uuid4().hex[:8]}"
    names = [f"{prefix}-{i}" for i in range(5)]
    for name in names:
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.echo",
                            Code={"ZipFile": CODE})
    seen = []
    for page in lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2}):
        assert len(page["Functions"]) <= 2
        seen += [f["FunctionName"] for f in page["Functions"]]
    assert [n for n in seen if n.startswith(prefix)] == names
    for name in names:
        lam.delete_function(FunctionName=name)


def test_update_code_and_configuration(lam: Any, fn: str) -> None:
    before = lam.get_function_configuration(FunctionName=fn)
    new_code = zipped({"app.py": "def echo(event, context):\n    return 'v2'\n"})
    out = lam.update_function_code(FunctionName=fn, ZipFile=new_code)
    assert out["LastUpdateStatus"] == "InProgress" and out["CodeSize"] == len(new_code)
    assert out["RevisionId"] != before["RevisionId"]
    lam.get_waiter("function_updated_v2").wait(FunctionName=fn, WaiterConfig={"Delay": 1, "MaxAttempts": 2})
    out = lam.update_function_configuration(FunctionName=fn, Timeout=10, MemorySize=512, Handler="app.info",
                                            Environment={"Variables": {"GREETING": "hello"}})
    assert (out["Timeout"], out["MemorySize"], out["Handler"]) == (10, 512, "app.info")
    got = lam.get_function_configuration(FunctionName=fn)
    assert got["LastUpdateStatus"] == "Successful" and got["Environment"]["Variables"] == {"GREETING": "hello"}
    code, _, status = error_of(lam.update_function_configuration, FunctionName=fn, Timeout=5, RevisionId="stale")
    assert (code, status) == ("PreconditionFailedException", 412)
    with urllib.request.urlopen(lam.get_function(FunctionName=fn)["Code"]["Location"]) as response:
        assert response.read() == new_code


def test_versions_and_aliases(lam: Any, fn: str) -> None:
    v1 = lam.publish_version(FunctionName=fn, Description="first")
    assert (v1["Version"], v1["FunctionArn"].rsplit(":", 1)[1]) == ("1", "1")
    assert lam.publish_version(FunctionName=fn)["Version"] == "1"  # nothing changed: the same version
    lam.update_function_configuration(FunctionName=fn, Timeout=9)
    v2 = lam.publish_version(FunctionName=fn)
    assert v2["Version"] == "2" and v2["Timeout"] == 9
    versions = lam.list_versions_by_function(FunctionName=fn)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
    assert lam.get_function_configuration(FunctionName=fn, Qualifier="1")["Timeout"] == 3

    alias = lam.create_alias(FunctionName=fn, Name="live", FunctionVersion="1",
                             RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
    assert alias["AliasArn"].endswith(f":{fn}:live") and alias["RoutingConfig"]["AdditionalVersionWeights"] == {
        "2": 0.5}
    assert error_of(lam.create_alias, FunctionName=fn, Name="live", FunctionVersion="1")[0] == \
        "ResourceConflictException"
    updated = lam.update_alias(FunctionName=fn, Name="live", FunctionVersion="2", RoutingConfig={})
    assert updated["FunctionVersion"] == "2" and "RoutingConfig" not in updated
    assert lam.get_alias(FunctionName=fn, Name="live")["FunctionVersion"] == "2"
    assert lam.get_function_configuration(FunctionName=fn, Qualifier="live")["Version"] == "2"
    assert [a["Name"] for a in lam.list_aliases(FunctionName=fn)["Aliases"]] == ["live"]
    code, _, status = error_of(lam.delete_function, FunctionName=fn, Qualifier="2")
    assert (code, status) == ("ResourceConflictException", 409)
    lam.delete_alias(FunctionName=fn, Name="live")
    assert error_of(lam.get_alias, FunctionName=fn, Name="live")[0] == "ResourceNotFoundException"
    lam.delete_function(FunctionName=fn, Qualifier="1")
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=fn)["Versions"]] == ["$LATEST", "2"]
    assert error_of(lam.get_function, FunctionName=fn, Qualifier="1")[0] == "ResourceNotFoundException"


def test_concurrency_settings(lam: Any, fn: str) -> None:
    assert lam.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=5)[
        "ReservedConcurrentExecutions"] == 5
    assert lam.get_function_concurrency(FunctionName=fn)["ReservedConcurrentExecutions"] == 5
    assert lam.get_function(FunctionName=fn)["Concurrency"] == {"ReservedConcurrentExecutions": 5}
    settings = lam.get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] <= 995
    code, _, _ = error_of(lam.put_function_concurrency, FunctionName=fn, ReservedConcurrentExecutions=5000)
    assert code == "InvalidParameterValueException"
    lam.delete_function_concurrency(FunctionName=fn)
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=fn)


def test_tags_and_event_invoke_config(lam: Any, fn: str) -> None:
    arn = lam.get_function_configuration(FunctionName=fn)["FunctionArn"]
    lam.tag_resource(Resource=arn, Tags={"a": "1", "b": "2"})
    lam.untag_resource(Resource=arn, TagKeys=["a"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"b": "2"}
    out = lam.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=1,
                                                MaximumEventAgeInSeconds=120)
    assert (out["MaximumRetryAttempts"], out["MaximumEventAgeInSeconds"]) == (1, 120)
    assert lam.get_function_event_invoke_config(FunctionName=fn)["MaximumRetryAttempts"] == 1
    lam.delete_function_event_invoke_config(FunctionName=fn)
    assert error_of(lam.get_function_event_invoke_config, FunctionName=fn)[0] == "ResourceNotFoundException"


def test_invoke_request_errors_and_dry_run(lam: Any, fn: str) -> None:
    assert lam.invoke(FunctionName=fn, InvocationType="DryRun")["StatusCode"] == 204
    code, _, status = error_of(lam.invoke, FunctionName=fn, Payload=b"{not json")
    assert (code, status) == ("InvalidRequestContentException", 400)
    code, _, status = error_of(lam.invoke, FunctionName=fn, Payload=b'"' + b"x" * (6 * 1024 * 1024) + b'"')
    assert (code, status) == ("RequestTooLargeException", 413)
    code, _, status = error_of(lam.invoke, FunctionName=fn, Qualifier="9")
    assert (code, status) == ("ResourceNotFoundException", 404)


@pytest.mark.parametrize("client_context", [
    "not base64!",  # not base64 at all
    base64.b64encode(b"{not json").decode(),  # base64, but not JSON
    base64.b64encode(b"[1, 2]").decode(),  # JSON, but not an object
])
def test_invoke_rejects_a_client_context_that_is_not_base64_json(lam: Any, fn: str, client_context: str) -> None:
    for kind in ("RequestResponse", "Event", "DryRun"):
        code, message, status = error_of(lam.invoke, FunctionName=fn, InvocationType=kind,
                                         ClientContext=client_context)
        assert (code, message, status) == ("InvalidRequestContentException",
                                           "Client context must be a valid Base64-encoded JSON object.", 400)


def test_deleted_function_is_gone(lam: Any, fn: str) -> None:
    lam.delete_function(FunctionName=fn)
    assert error_of(lam.get_function, FunctionName=fn)[0] == "ResourceNotFoundException"
    assert fn not in [f["FunctionName"] for f in lam.list_functions()["Functions"]]


def test_layer_versions(lam: Any) -> None:
    name = f"layer-{uuid.uuid4().hex[:8]}"
    layer_zip = zipped({"python/helper.py": "X = 1\n"})
    first = lam.publish_layer_version(LayerName=name, Description="one", Content={"ZipFile": layer_zip},
                                      CompatibleRuntimes=["python3.12"], CompatibleArchitectures=["x86_64"])
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert first["LayerVersionArn"] == f"arn:aws:lambda:us-east-1:000000000000:layer:{name}:1"
    assert first["Content"]["CodeSize"] == len(layer_zip)
    with urllib.request.urlopen(first["Content"]["Location"]) as response:
        assert response.read() == layer_zip
    lam.publish_layer_version(LayerName=name, Content={"ZipFile": layer_zip}, CompatibleRuntimes=["python3.11"])
    got = lam.get_layer_version(LayerName=name, VersionNumber=1)
    assert got["Description"] == "one" and got["CompatibleRuntimes"] == ["python3.12"]
    versions = lam.list_layer_versions(LayerName=name)["LayerVersions"]
    assert [v["Version"] for v in versions] == [2, 1]
    assert [v["Version"] for v in lam.list_layer_versions(LayerName=name, CompatibleRuntime="python3.12")[
        "LayerVersions"]] == [1]
    listed = [layer for layer in lam.list_layers()["Layers"] if layer["LayerName"] == name]
    assert listed[0]["LatestMatchingVersion"]["Version"] == 2
    fn = f"fn-{uuid.uuid4().hex[:12]}"
    out = lam.create_function(FunctionName=fn, Runtime="python3.12", Role=ROLE, Handler="app.echo",
                              Code={"ZipFile": CODE}, Layers=[first["LayerVersionArn"]])
    assert out["Layers"][0]["Arn"] == first["LayerVersionArn"]
    code, _, _ = error_of(lam.update_function_configuration, FunctionName=fn,
                          Layers=[f"arn:aws:lambda:us-east-1:000000000000:layer:{name}:9"])
    assert code == "InvalidParameterValueException"
    lam.delete_layer_version(LayerName=name, VersionNumber=1)
    assert error_of(lam.get_layer_version, LayerName=name, VersionNumber=1)[0] == "ResourceNotFoundException"
    assert lam.get_function_configuration(FunctionName=fn)["Layers"][0]["Arn"] == first["LayerVersionArn"]
    lam.delete_function(FunctionName=fn)
