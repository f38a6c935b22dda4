"""Real HTTP through load balancer listeners to aiohttp backends: rules by path, host, header, query, method and
source IP; round robin evenness; weighted forwarding; redirects and fixed responses; ALB's 502/503/504; the
X-Forwarded-* and trace headers; stickiness; draining; HTTPS with the load balancer's certificate; its DNS name."""
from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from miniaws.server import ServerThread
from tests.api.conftest import make_client
from tests.dataplane.conftest import a_values, ask
from tests.dataplane.lb_support import (Backend, forward, listener_url, load_balancer, request, states,
                                        target_group)


@pytest.fixture(scope="module")
def backends(server: ServerThread) -> Iterator[list[Backend]]:
    started = [Backend(server, name).start() for name in ("a", "b", "c")]
    yield started
    for backend in started:
        backend.stop()


def wait_for(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def all_healthy(elb: Any, tg: str) -> None:
    wait_for(lambda: set(states(elb, tg).values()) == {"healthy"})


def test_round_robin_spreads_requests_evenly(server: ServerThread, elb: Any, backends: list[Backend]) -> None:
    tg = target_group(elb, backends)
    _, listener = load_balancer(elb, forward(tg))
    url = listener_url(server.endpoint_url, listener)
    all_healthy(elb, tg)
    counts = Counter(request(url, f"/item/{i}").backend for i in range(300))
    assert counts == {"a": 100, "b": 100, "c": 100}


def test_rules_by_priority_on_every_condition_type(server: ServerThread, elb: Any, backends: list[Backend]) -> None:
    a, b, c = (target_group(elb, [backend]) for backend in backends)
    _, listener = load_balancer(elb, forward(a))
    rules = [
        (1, [{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["DELETE"]}}],
         [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "405", "MessageBody": "no"}}]),
        (2, [{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}}],
         [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "403"}}]),
        (5, [{"Field": "path-pattern", "Values": ["/api/*"]}], forward(b)),
        (6, [{"Field": "host-header", "Values": ["admin.example.com"]}], forward(c)),
        (7, [{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Beta", "Values": ["y*"]}}],
         forward(b)),
        (8, [{"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "version", "Value": "2"}]}}],
         forward(c)),
        (9, [{"Field": "path-pattern", "Values": ["/api/admin/*"]}], forward(c)),  # shadowed by priority 5
    ]
    for priority, conditions, actions in rules:
        elb.create_rule(ListenerArn=listener, Priority=priority, Conditions=conditions, Actions=actions)
    url = listener_url(server.endpoint_url, listener)
    assert request(url, "/").backend == "a"
    assert request(url, "/api/users").backend == "b"
    assert request(url, "/api/admin/x").backend == "b"
    assert request(url, "/API/users").backend == "a"  # paths compare case-sensitively
    assert request(url, "/", headers={"Host": "ADMIN.example.com:80"}).backend == "c"
    assert request(url, "/", headers={"X-Beta": "YES"}).backend == "b"
    assert request(url, "/?a=1&version=2").backend == "c"
    deleted = request(url, "/api/users", method="DELETE")
    assert (deleted.status, deleted.body) == (405, b"no")
    # a rule added later takes effect at once; a lower number wins
    elb.create_rule(ListenerArn=listener, Priority=3, Conditions=[{"Field": "path-pattern", "Values": ["/api/u*"]}],
                    Actions=forward(c))
    assert request(url, "/api/users").backend == "c"


def test_weighted_forward_follows_the_weights(server: ServerThread, elb: Any, backends: list[Backend]) -> None:
    heavy, light = target_group(elb, [backends[0]]), target_group(elb, [backends[1]])
    _, listener = load_balancer(elb, [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": heavy, "Weight": 80}, {"TargetGroupArn": light, "Weight": 20}]}}])
    url = listener_url(server.endpoint_url, listener)
    counts = Counter(request(url).backend for _ in range(1000))
    assert 720 <= counts["a"] <= 880 and counts["a"] + counts["b"] == 1000


def test_redirects_and_fixed_responses(server: ServerThread, elb: Any) -> None:
    lb, listener = load_balancer(elb, [{"Type": "redirect", "RedirectConfig": {
        "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}])
    https = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTPS", Port=443, DefaultActions=[
        {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "ContentType": "application/json",
                                                           "MessageBody": '{"secure": true}'}}])["Listeners"][0]
    elb.create_rule(ListenerArn=listener, Priority=1, Conditions=[{"Field": "path-pattern", "Values": ["/old/*"]}],
                    Actions=[{"Type": "redirect", "RedirectConfig": {"Host": "new.example.com", "Path": "/new/#{path}",
                                                                     "Query": "from=old&#{query}",
                                                                     "StatusCode": "HTTP_302"}}])
    url = listener_url(server.endpoint_url, listener)
    https_port = int(listener_url(server.endpoint_url, https["ListenerArn"]).rsplit(":", 1)[1])
    moved = request(url, "/cart?x=1", headers={"Host": "shop.example.com"})
    expected_port = "" if https_port == 443 else f":{https_port}"  # 443 → its bound port when 443 was not free
    assert moved.status == 301
    assert moved.headers["Location"] == f"https://shop.example.com{expected_port}/cart?x=1"
    assert moved.headers["Server"] == "awselb/2.0"
    found = request(url, "/old/page?y=2", headers={"Host": "shop.example.com"})
    assert found.status == 302
    port = url.rsplit(":", 1)[1]
    shown = "" if port == "80" else f":{port}"
    assert found.headers["Location"] == f"http://new.example.com{shown}/new/old/page?from=old&y=2"
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    fixed = request(listener_url(server.endpoint_url, https["ListenerArn"]), "/", context=context)
    assert (fixed.status, fixed.json()) == (200, {"secure": True})
    assert fixed.headers["Content-Type"] == "application/json; charset=utf-8"


def test_alb_errors_503_502_504(server: ServerThread, elb: Any, backends: list[Backend]) -> None:
    empty = target_group(elb, [])
    lb, listener = load_balancer(elb, forward(empty))
    url = listener_url(server.endpoint_url, listener)
    unavailable = request(url)
    assert unavailable.status == 503 and b"503 Service Temporarily Unavailable" in unavailable.body
    assert unavailable.headers["Server"] == "awselb/2.0"
    gone = Backend(server, "gone").start()
    gone.stop()  # its port now refuses connections
    refused = target_group(elb, [gone])
    elb.modify_listener(ListenerArn=listener, DefaultActions=forward(refused))
    bad_gateway = request(url)
    assert bad_gateway.status == 502 and b"502 Bad Gateway" in bad_gateway.body
    slow = target_group(elb, [backends[2]])
    elb.modify_listener(ListenerArn=listener, DefaultActions=forward(slow))
    elb.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[
        {"Key": "idle_timeout.timeout_seconds", "Value": "1"}])
    started = time.monotonic()
    timed_out = request(url, "/slow?s=3")
    assert timed_out.status == 504 and b"504 Gateway Time-out" in timed_out.body
    assert time.monotonic() - started < 2.5
    assert request(url, "/slow?s=0.1").status == 200


def test_forwarded_headers_trace_and_bodies(server: ServerThread, elb: Any, backends: list[Backend]) -> None:
    tg = target_group(elb, [backends[0]])
    _, listener = load_balancer(elb, forward(tg))
    url = listener_url(server.endpoint_url, listener)
    port = url.rsplit(":", 1)[1]
    echoed = request(url, "/form?q=a%20b", method="POST", body=b"name=value", headers={
        "Host": "app.example.com", "X-Forwarded-For": "203.0.113.7", "Connection": "keep-alive, X-Secret",
        "X-Secret": "hop", "Content-Type": "application/x-www-form-urlencoded"}).json()
    seen = echoed["headers"]
    assert seen["X-Forwarded-For"] == "203.0.113.7, 127.0.0.1"
    assert (seen["X-Forwarded-Proto"], seen["X-Forwarded-Port"]) == ("http", port)
    assert seen["Host"] == "app.example.com" and "X-Secret" not in seen
    assert seen["X-Amzn-Trace-Id"].startswith("Root=1-")
    assert (echoed["method"], echoed["raw"], echoed["body"]) == ("POST", "/form?q=a%20b", "name=value")
    traced = request(url, headers={"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793"}).json()
    trace = traced["headers"]["X-Amzn-Trace-Id"]
    assert trace.startswith("Self=1-") and trace.endswith(";Root=1-5759e988-bd862e3fe1be46a994272793")
    big = bytes(range(256)) * 8192  # 2 MiB streams both ways
    assert request(url, "/big", method="PUT", body=big).json()["length"] == len(big)
    assert len(request(url, "/blob?n=3000000").body) == 3000000


def test_lb_cookie_stickiness(server: ServerThread, elb: Any, backends: list[Backend]) -> None:
    tg = target_group(elb, backends)
    elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
        {"Key": "stickiness.enabled", "Value": "true"}, {"Key": "stickiness.type", "Value": "lb_cookie"}])
    _, listener = load_balancer(elb, forward(tg))
    url = listener_url(server.endpoint_url, listener)
    all_healthy(elb, tg)
    first = request(url)
    cookies = first.headers.get_all("Set-Cookie") or []
    awsalb = next(c for c in cookies if c.startswith("AWSALB="))
    assert any(c.startswith("AWSALBCORS=") and "SameSite=None" in c for c in cookies)
    cookie = awsalb.split(";", 1)[0]
    assert {request(url, headers={"Cookie": cookie}).backend for _ in range(20)} == {first.backend}
    assert len({request(url).backend for _ in range(6)}) == 3  # without the cookie: round robin


def test_deregistered_target_drains(server: ServerThread, elb: Any, backends: list[Backend]) -> None:
    tg = target_group(elb, backends[:2])
    elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": "30"}])
    _, listener = load_balancer(elb, forward(tg))
    url = listener_url(server.endpoint_url, listener)
    all_healthy(elb, tg)
    before = {b.name: b.hits for b in backends[:2]}
    slow: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: slow.setdefault("reply", request(url, "/slow?s=1.5")))
    thread.start()
    wait_for(lambda: any(b.hits > before[b.name] for b in backends[:2]))
    busy = next(b for b in backends[:2] if b.hits > before[b.name])
    elb.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": busy.port}])
    health = {d["Target"]["Port"]: d["TargetHealth"]
              for d in elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]}
    assert health[busy.port] == {"State": "draining", "Reason": "Target.DeregistrationInProgress",
                                 "Description": "Target deregistration is in progress"}
    assert busy.name not in {request(url).backend for _ in range(6)}  # new requests go elsewhere
    thread.join(10)
    assert slow["reply"].status == 200  # the in-flight request finished
    wait_for(lambda: busy.port not in states(elb, tg))  # and then the target was gone, before the 30 s delay


def test_https_listener_with_the_load_balancers_certificate(server: ServerThread, elb: Any,
                                                           backends: list[Backend]) -> None:
    tg = target_group(elb, [backends[0]])
    lb, listener = load_balancer(elb, forward(tg), protocol="HTTPS", port=443)
    url = listener_url(server.endpoint_url, listener)
    with urllib.request.urlopen(f"{server.endpoint_url}/_miniaws/elbv2/certificate?LoadBalancerArn={lb}") as got:
        pem = got.read().decode()
    context = ssl.create_default_context(cadata=pem)  # verifies the chain and 127.0.0.1 against the certificate
    reply = request(url, "/secure", context=context)
    assert reply.status == 200 and reply.json()["headers"]["X-Forwarded-Proto"] == "https"

    async def with_aiohttp() -> int:
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/again", ssl=context) as response:
                return response.status

    assert asyncio.run(with_aiohttp()) == 200
    with pytest.raises(ssl.SSLError):
        request(url, context=ssl.create_default_context())  # not a publicly trusted certificate
    curl = shutil.which("curl")
    if curl is not None:
        done = subprocess.run([curl, "-sk", url + "/curl"], capture_output=True, timeout=20, text=True)
        assert '"backend": "a"' in done.stdout


def test_dns_name_resolves_to_the_listener_host(server: ServerThread, elb: Any) -> None:
    lb = elb.create_load_balancer(Name="dns-lb", Subnets=["subnet-1", "subnet-2"])["LoadBalancers"][0]
    assert server.server.dns is not None
    port = server.server.dns.port
    answer = ask(port, lb["DNSName"])
    assert a_values(answer) == ["127.0.0.1"] and answer.header.aa == 1
    assert answer.rr[0].ttl == 60
    elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    assert ask(port, lb["DNSName"]).header.rcode == 5  # REFUSED: no longer anybody's name


def test_route53_alias_to_the_load_balancer_follows_its_health(server: ServerThread, elb: Any,
                                                                backends: list[Backend]) -> None:
    flaky = Backend(server, "flaky").start()
    try:
        tg = target_group(elb, [flaky])
        lb_arn, _ = load_balancer(elb, forward(tg))
        lb = elb.describe_load_balancers(LoadBalancerArns=[lb_arn])["LoadBalancers"][0]
        r53 = make_client(server.endpoint_url, "route53")
        zone = r53.create_hosted_zone(Name="alb-alias.test", CallerReference=lb_arn)["HostedZone"]["Id"]
        alias = {"HostedZoneId": lb["CanonicalHostedZoneId"], "DNSName": lb["DNSName"], "EvaluateTargetHealth": True}
        r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
            {"Action": "CREATE", "ResourceRecordSet": {"Name": "www.alb-alias.test", "Type": "A",
                                                       "AliasTarget": alias}},
            {"Action": "CREATE", "ResourceRecordSet": {"Name": "app.alb-alias.test", "Type": "A",
                                                       "SetIdentifier": "primary", "Failover": "PRIMARY",
                                                       "AliasTarget": alias}},
            {"Action": "CREATE", "ResourceRecordSet": {"Name": "app.alb-alias.test", "Type": "A", "TTL": 60,
                                                       "SetIdentifier": "secondary", "Failover": "SECONDARY",
                                                       "ResourceRecords": [{"Value": "192.0.2.10"}]}}]})
        assert server.server.dns is not None
        port = server.server.dns.port
        assert a_values(ask(port, "www.alb-alias.test")) == ["127.0.0.1"]
        wait_for(lambda: states(elb, tg)[flaky.port] == "healthy")
        assert a_values(ask(port, "app.alb-alias.test")) == ["127.0.0.1"]
        flaky.health_status = 500
        wait_for(lambda: states(elb, tg)[flaky.port] == "unhealthy")
        assert a_values(ask(port, "app.alb-alias.test")) == ["192.0.2.10"]  # the load balancer has no healthy target
    finally:
        flaky.stop()


def test_application_cookie_and_target_group_stickiness(server: ServerThread, elb: Any,
                                                         backends: list[Backend]) -> None:
    tg = target_group(elb, backends)
    elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
        {"Key": "stickiness.enabled", "Value": "true"}, {"Key": "stickiness.type", "Value": "app_cookie"},
        {"Key": "stickiness.app_cookie.cookie_name", "Value": "SESSION"}])
    other = target_group(elb, [backends[0]])
    _, listener = load_balancer(elb, [{"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": tg, "Weight": 1}, {"TargetGroupArn": other, "Weight": 1}],
        "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 300}}}])
    url = listener_url(server.endpoint_url, listener)
    all_healthy(elb, tg)
    # find a response from the three-backend group whose target set the application cookie
    for _ in range(50):
        reply = request(url, "/login?set=SESSION")
        cookies = reply.headers.get_all("Set-Cookie") or []
        if any(c.startswith("AWSALBAPP-0=") for c in cookies):
            break
    else:
        raise AssertionError("no response carried AWSALBAPP-0")
    jar = "; ".join(c.split(";", 1)[0] for c in cookies)
    assert any(c.startswith("AWSALBTG=") for c in cookies)  # the group is sticky too
    assert {request(url, headers={"Cookie": jar}).backend for _ in range(15)} == {reply.backend}


def test_metrics_count_requests_and_codes(server: ServerThread, elb: Any, backends: list[Backend]) -> None:
    tg = target_group(elb, [backends[1]])
    lb, listener = load_balancer(elb, forward(tg))
    url = listener_url(server.endpoint_url, listener)
    for _ in range(5):
        request(url)
    with urllib.request.urlopen(f"{server.endpoint_url}/_miniaws/elbv2/metrics") as got:
        metrics = json.loads(got.read())
    group = metrics["TargetGroups"][tg]
    assert group["RequestCount"] == 5 and group["HTTPCode_Target_2XX_Count"] == 5
    assert group["TargetResponseTime"]["p50"] is not None
    assert metrics["LoadBalancers"][lb] == {"HTTPCode_ELB_5XX_Count": 0}
