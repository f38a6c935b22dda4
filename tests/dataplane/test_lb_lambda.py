"""Lambda targets behind a listener: the function (a real worker process) receives ALB's event and its result
becomes the HTTP response, with single- or multi-value headers; a failing or malformed function is a 502."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config as BotoConfig

from miniaws.server import ServerThread
from tests.api.conftest import make_client
from tests.dataplane.conftest import start
from tests.dataplane.lb_support import forward, listener_url, load_balancer, request, unique
from tests.helpers.lambda_code import ROLE, zipped

pytestmark = pytest.mark.subprocess

HANDLER = '''
import json


def handler(event, context):
    if event["path"] == "/fail":
        raise ValueError("boom")
    if event["path"] == "/bad":
        return {"no": "statusCode"}
    multi = "multiValueHeaders" in event
    seen = {k: v for k, v in event.items() if k not in ("headers", "multiValueHeaders")}
    seen["headers"] = event.get("multiValueHeaders") if multi else event.get("headers")
    answer = {"statusCode": 201, "statusDescription": "201 Created", "body": json.dumps(seen),
              "isBase64Encoded": False}
    if multi:
        answer["multiValueHeaders"] = {"Content-Type": ["application/json"], "X-Fn": ["one", "two"]}
    else:
        answer["headers"] = {"Content-Type": "application/json", "X-Fn": "one"}
    return answer
'''


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    thread = start()
    yield thread
    thread.stop()


def test_lambda_target(server: ServerThread) -> None:
    elb = make_client(server.endpoint_url, "elbv2")
    lam = make_client(server.endpoint_url, "lambda", config=BotoConfig(retries={"max_attempts": 1},
                                                                        read_timeout=60))
    fn = lam.create_function(FunctionName=unique("alb-fn"), Runtime="python3.12", Role=ROLE, Handler="app.handler",
                             Code={"ZipFile": zipped({"app.py": HANDLER})})["FunctionArn"]
    tg = elb.create_target_group(Name=unique("fn"), TargetType="lambda")["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": fn}])
    _, listener = load_balancer(elb, forward(tg))
    url = listener_url(server.endpoint_url, listener)

    reply = request(url, "/orders?id=7&tag=a%20b", method="POST", body=b'{"qty": 2}',
                    headers={"Content-Type": "application/json", "X-Trace": "t"})
    assert reply.status == 201 and reply.headers["X-Fn"] == "one"
    event = reply.json()
    assert (event["httpMethod"], event["path"], event["body"], event["isBase64Encoded"]) == (
        "POST", "/orders", '{"qty": 2}', False)
    assert event["queryStringParameters"] == {"id": "7", "tag": "a%20b"}  # passed on undecoded, as ALB does
    assert event["headers"]["x-trace"] == "t" and event["requestContext"] == {"elb": {"targetGroupArn": tg}}
    health = elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"][0]
    assert health["TargetHealth"]["State"] == "unavailable"  # health checks are off for lambda by default

    assert request(url, "/fail").status == 502
    assert request(url, "/bad").status == 502

    elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
        {"Key": "lambda.multi_value_headers.enabled", "Value": "true"}])
    multi = request(url, "/m?a=1&a=2", headers={"Accept": "x"})
    assert multi.headers.get_all("X-Fn") == ["one", "two"]
    assert json.loads(multi.body)["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert json.loads(multi.body)["headers"]["accept"] == ["x"]


def test_unknown_function_is_a_bad_gateway(server: ServerThread) -> None:
    elb = make_client(server.endpoint_url, "elbv2")
    tg = elb.create_target_group(Name=unique("fn"), TargetType="lambda")["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "arn:aws:lambda:us-east-1:000000000000:function:none"}])
    _, listener = load_balancer(elb, forward(tg))
    reply: Any = request(listener_url(server.endpoint_url, listener))
    assert reply.status == 502
