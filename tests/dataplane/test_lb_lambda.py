"""Lambda targets behind a listener: the function (a real worker process) receives ALB's event and its result
becomes the HTTP response, with single- or multi-value headers; a failing or malformed function is a 502."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.config import Config as BotoConfig

from miniaws.server import ServerThread
from tests.api.conftest import make_client
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


HEALTH_HANDLER = '''
def handler(event, context):
    agent = (event.get("headers") or {}).get("user-agent", "")
    if agent == "ELB-HealthChecker/2.0" and event["path"] == "/fail":
        raise RuntimeError("downstream is down")
    if agent == "ELB-HealthChecker/2.0" and event["path"] == "/503":
        return {"statusCode": 503, "body": "busy"}
    return {"statusCode": 200, "body": agent or "ok"}
'''


def _health(elb: Any, tg: str) -> dict[str, str]:
    return dict(elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"][0]["TargetHealth"])


def test_lambda_targets_are_health_checked_by_invocation(server: ServerThread) -> None:
    """HealthCheckEnabled on a lambda target group invokes the function with ALB's health check event: a function
    that answers with a matching status is healthy, one that fails is unhealthy (FailedHealthChecks), one that
    answers another status is unhealthy (ResponseCodeMismatch)."""
    elb = make_client(server.endpoint_url, "elbv2")
    lam = make_client(server.endpoint_url, "lambda", config=BotoConfig(retries={"max_attempts": 1},
                                                                        read_timeout=60))
    code = {"ZipFile": zipped({"app.py": HEALTH_HANDLER})}
    fn = lam.create_function(FunctionName=unique("alb-health"), Runtime="python3.12", Role=ROLE,
                             Handler="app.handler", Code=code)["FunctionArn"]
    groups = {}
    for path in ("/ok", "/fail", "/503"):
        # AWS's lambda defaults: 35 s interval, 30 s timeout (0.35 s / 0.3 s at the tests' scale)
        tg = elb.create_target_group(Name=unique("fnh"), TargetType="lambda", HealthCheckEnabled=True,
                                     HealthCheckPath=path, UnhealthyThresholdCount=2)["TargetGroups"][0]
        assert (tg["HealthCheckIntervalSeconds"], tg["HealthCheckTimeoutSeconds"]) == (35, 30)
        elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": fn}])
        groups[path] = tg["TargetGroupArn"]
    lb_arn, listener = load_balancer(elb, forward(groups["/ok"]))
    try:
        _check_health(server, elb, groups, listener)
    finally:
        # the groups fall out of use and their probes stop before the server (and its function runtime) does
        elb.delete_load_balancer(LoadBalancerArn=lb_arn)


def _check_health(server: ServerThread, elb: Any, groups: dict[str, str], listener: str) -> None:
    for priority, path in enumerate(("/fail", "/503"), start=1):
        elb.create_rule(ListenerArn=listener, Priority=priority, Actions=forward(groups[path]),
                        Conditions=[{"Field": "path-pattern", "Values": [f"{path}*"]}])
    wanted = {"/ok": ("healthy", None), "/fail": ("unhealthy", "Target.FailedHealthChecks"),
              "/503": ("unhealthy", "Target.ResponseCodeMismatch")}
    deadline = time.monotonic() + 30
    seen: dict[str, tuple[str, str | None]] = {}
    while time.monotonic() < deadline:
        seen = {path: (h["State"], h.get("Reason")) for path, h in
                ((path, _health(elb, tg)) for path, tg in groups.items())}
        if seen == wanted:
            break
        time.sleep(0.1)
    assert seen == wanted
    assert "[503]" in _health(elb, groups["/503"])["Description"]
    # traffic still reaches the functions (an unhealthy group's only target gets it: fail-open)
    url = listener_url(server.endpoint_url, listener)
    assert request(url, "/ok").body == b"ok"
    assert request(url, "/fail").status == 200
