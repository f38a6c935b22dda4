"""Asynchronous invocation outcomes with real workers: OnSuccess / OnFailure destinations (SQS, SNS, another
function) get the invocation record AWS documents, and a function's DeadLetterConfig gets the event itself after
the retries. The server here retries Event invocations after 50 ms instead of AWS's one and two minutes."""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from miniaws.testing import MiniAws, miniaws_server
from tests.api.conftest import make_client
from tests.functions.event_support import RECORDER_ZIP, seen, wait_for
from tests.helpers.lambda_code import ROLE

pytestmark = pytest.mark.subprocess

ACCOUNT_ARN = "arn:aws:lambda:us-east-1:000000000000:function"


@pytest.fixture(scope="module")
def aws() -> Iterator[MiniAws]:
    with miniaws_server(lambda_retry_delay_seconds=0.05) as server:
        yield server


@pytest.fixture(scope="module")
def lam(aws: MiniAws) -> Any:
    return make_client(aws.endpoint_url, "lambda")


@pytest.fixture(scope="module")
def sqs(aws: MiniAws) -> Any:
    return make_client(aws.endpoint_url, "sqs")


@pytest.fixture(scope="module")
def sns(aws: MiniAws) -> Any:
    return make_client(aws.endpoint_url, "sns")


@pytest.fixture
def function(lam: Any) -> Callable[..., str]:
    def make(handler: str, **params: Any) -> str:
        name = f"dst-{handler}-{uuid.uuid4().hex[:8]}"
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler=f"app.{handler}",
                            Code={"ZipFile": RECORDER_ZIP}, **params)
        return name

    return make


def new_queue(sqs: Any) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=f"dst-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def one_message(sqs: Any, url: str, **kwargs: Any) -> dict[str, Any]:
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10, **kwargs).get("Messages", [])
    assert len(messages) == 1, messages
    return dict(messages[0])


def invoke_event(lam: Any, name: str, payload: Any) -> None:
    assert lam.invoke(FunctionName=name, InvocationType="Event",
                      Payload=json.dumps(payload).encode())["StatusCode"] == 202


def test_on_success_to_a_queue(lam: Any, sqs: Any, function: Callable[..., str]) -> None:
    name = function("echo")
    url, arn = new_queue(sqs)
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": arn}})
    invoke_event(lam, name, {"order": 7})
    record = json.loads(one_message(sqs, url)["Body"])
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
    context = record["requestContext"]
    assert context["condition"] == "Success" and context["approximateInvokeCount"] == 1
    assert context["functionArn"] == f"{ACCOUNT_ARN}:{name}:$LATEST" and len(context["requestId"]) == 36
    assert record["requestPayload"] == {"order": 7}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"echo": {"order": 7}}


def test_on_failure_after_the_retries(lam: Any, sqs: Any, function: Callable[..., str], aws: MiniAws) -> None:
    name = function("fail")
    url, arn = new_queue(sqs)
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnFailure": {"Destination": arn}})
    invoke_event(lam, name, {"try": "hard"})
    record = json.loads(one_message(sqs, url)["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3  # the first attempt and AWS's two retries
    assert len(seen(aws.endpoint_url, name)) == 3
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                         "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert record["responsePayload"]["errorMessage"] == "cannot handle this"


def test_retry_attempts_and_the_success_destination_stay_apart(lam: Any, sqs: Any,
                                                               function: Callable[..., str]) -> None:
    name = function("fail")
    ok_url, ok_arn = new_queue(sqs)
    failed_url, failed_arn = new_queue(sqs)
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0, DestinationConfig={
        "OnSuccess": {"Destination": ok_arn}, "OnFailure": {"Destination": failed_arn}})
    invoke_event(lam, name, {})
    assert json.loads(one_message(sqs, failed_url)["Body"])["requestContext"]["approximateInvokeCount"] == 1
    assert sqs.receive_message(QueueUrl=ok_url).get("Messages") is None


def test_dead_letter_queue_gets_the_event(lam: Any, sqs: Any, function: Callable[..., str]) -> None:
    url, arn = new_queue(sqs)
    name = function("fail", DeadLetterConfig={"TargetArn": arn})
    assert lam.get_function_configuration(FunctionName=name)["DeadLetterConfig"] == {"TargetArn": arn}
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1)
    invoke_event(lam, name, {"lost": True})
    message = one_message(sqs, url, MessageAttributeNames=["All"])
    assert json.loads(message["Body"]) == {"lost": True}
    attributes = message["MessageAttributes"]
    assert attributes["ErrorCode"] == {"DataType": "Number", "StringValue": "200"}
    assert attributes["ErrorMessage"]["StringValue"] == "cannot handle this"
    assert len(attributes["RequestID"]["StringValue"]) == 36
    lam.update_function_configuration(FunctionName=name, DeadLetterConfig={"TargetArn": ""})
    assert "DeadLetterConfig" not in lam.get_function_configuration(FunctionName=name)


def test_a_dead_letter_target_must_be_a_queue_or_topic(lam: Any, function: Callable[..., str]) -> None:
    with pytest.raises(ClientError) as info:
        function("fail", DeadLetterConfig={"TargetArn": "arn:aws:s3:::a-bucket"})
    assert info.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_on_success_to_a_topic(lam: Any, sqs: Any, sns: Any, function: Callable[..., str]) -> None:
    name = function("echo")
    topic = sns.create_topic(Name=f"dst-{uuid.uuid4().hex[:12]}")["TopicArn"]
    url, arn = new_queue(sqs)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": topic}})
    invoke_event(lam, name, {"via": "sns"})
    record = json.loads(one_message(sqs, url)["Body"])
    assert record["requestContext"]["condition"] == "Success" and record["requestPayload"] == {"via": "sns"}


def test_on_success_to_another_function(lam: Any, function: Callable[..., str], aws: MiniAws) -> None:
    first, second = function("echo"), function("record")
    lam.put_function_event_invoke_config(FunctionName=first, DestinationConfig={
        "OnSuccess": {"Destination": f"{ACCOUNT_ARN}:{second}"}})
    invoke_event(lam, first, {"hop": 1})
    (record,) = wait_for(lambda: seen(aws.endpoint_url, second))
    assert record["requestContext"]["functionArn"] == f"{ACCOUNT_ARN}:{first}:$LATEST"
    assert record["responsePayload"] == {"echo": {"hop": 1}}
