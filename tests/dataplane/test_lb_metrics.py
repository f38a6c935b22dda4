"""Load balancer sections of miniaws's aggregates, driven by real traffic through listeners: GET /_miniaws/metrics
(per load balancer and target group counters, per-target counts, response time quantiles, target and ELB status
codes, healthy/unhealthy hosts) and GET /_miniaws/state (each listener's requested and bound port)."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from miniaws.server import ServerThread
from tests.dataplane.lb_support import Backend, forward, listener_url, load_balancer, request, states, target_group


class CodeBackend(Backend):
    """A backend that also answers /code/<n> with status n."""

    async def _handler(self, request: web.Request) -> web.Response:
        if request.path.startswith("/code/"):
            self.hits += 1
            return web.Response(status=int(request.path.rsplit("/", 1)[1]), text=self.name)
        return await super()._handler(request)


@pytest.fixture(scope="module")
def backends(server: ServerThread) -> Iterator[list[Backend]]:
    started: list[Backend] = [CodeBackend(server, name).start() for name in ("a", "b")]
    yield started
    for backend in started:
        backend.stop()


def get(server: ServerThread, path: str) -> Any:
    with urllib.request.urlopen(f"{server.endpoint_url}{path}") as response:
        assert response.headers["Content-Type"].startswith("application/json")
        return json.loads(response.read())


def wait_for(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def test_metrics_per_load_balancer_and_target_group(server: ServerThread, elb: Any,
                                                    backends: list[Backend]) -> None:
    tg = target_group(elb, backends)
    lb, listener = load_balancer(elb, forward(tg))
    elb.create_rule(ListenerArn=listener, Priority=1, Conditions=[{"Field": "path-pattern", "Values": ["/fixed"]}],
                    Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}])
    url = listener_url(server.endpoint_url, listener)
    wait_for(lambda: set(states(elb, tg).values()) == {"healthy"})
    for i in range(10):
        assert request(url, f"/item/{i}").status == 200
    assert request(url, "/code/302").status == 302
    assert request(url, "/code/404").status == 404
    assert request(url, "/code/500").status == 500
    assert request(url, "/fixed").status == 200  # answered by the load balancer: no target involved

    section = get(server, "/_miniaws/metrics")["elbv2"]
    group = section["TargetGroups"][tg]
    assert group["RequestCount"] == 13
    assert (group["HTTPCode_Target_2XX_Count"], group["HTTPCode_Target_3XX_Count"],
            group["HTTPCode_Target_4XX_Count"], group["HTTPCode_Target_5XX_Count"]) == (10, 1, 1, 1)
    times = group["TargetResponseTime"]
    assert times["p50"] is not None and times["p99"] >= times["p50"] > 0
    targets = group["Targets"]
    assert sorted(t["Requests"] for t in targets.values()) == [6, 7]  # round robin over two targets
    assert set(targets) == {f"127.0.0.1:{b.port}" for b in backends}
    assert (group["HealthyHostCount"], group["UnHealthyHostCount"]) == (2, 0)
    assert group["LoadBalancerArns"] == [lb]

    mine = section["LoadBalancers"][lb]
    assert mine["RequestCount"] == 14 and mine["TargetGroupArns"] == [tg]
    assert (mine["HTTPCode_Target_2XX_Count"], mine["HTTPCode_Target_3XX_Count"],
            mine["HTTPCode_Target_4XX_Count"], mine["HTTPCode_Target_5XX_Count"]) == (10, 1, 1, 1)
    assert (mine["HTTPCode_ELB_5XX_Count"], mine["HTTPCode_ELB_502_Count"], mine["HTTPCode_ELB_503_Count"],
            mine["HTTPCode_ELB_504_Count"]) == (0, 0, 0, 0)

    # /_miniaws/elbv2/metrics counts the same traffic
    assert get(server, "/_miniaws/elbv2/metrics")["TargetGroups"][tg]["RequestCount"] == 13


def test_metrics_count_load_balancer_errors_and_unhealthy_hosts(server: ServerThread, elb: Any,
                                                                backends: list[Backend]) -> None:
    empty = target_group(elb, [])
    lb, listener = load_balancer(elb, forward(empty))
    url = listener_url(server.endpoint_url, listener)
    assert request(url).status == 503
    gone = Backend(server, "gone").start()
    gone.stop()  # its port now refuses connections
    refused = target_group(elb, [gone])
    elb.modify_listener(ListenerArn=listener, DefaultActions=forward(refused))
    wait_for(lambda: set(states(elb, refused).values()) == {"unhealthy"})
    assert request(url).status == 502  # fail-open: the only target still gets the request
    assert request(url).status == 502
    slow = target_group(elb, [backends[0]])
    elb.modify_listener(ListenerArn=listener, DefaultActions=forward(slow))
    elb.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[
        {"Key": "idle_timeout.timeout_seconds", "Value": "1"}])
    assert request(url, "/slow?s=2").status == 504

    section = get(server, "/_miniaws/metrics")["elbv2"]
    mine = section["LoadBalancers"][lb]
    assert mine["RequestCount"] == 4
    assert (mine["HTTPCode_ELB_5XX_Count"], mine["HTTPCode_ELB_502_Count"], mine["HTTPCode_ELB_503_Count"],
            mine["HTTPCode_ELB_504_Count"]) == (4, 2, 1, 1)
    assert mine["HTTPCode_Target_5XX_Count"] == 0  # the load balancer's answers are not the targets'
    dead = section["TargetGroups"][refused]
    assert (dead["HealthyHostCount"], dead["UnHealthyHostCount"]) == (0, 1)
    assert dead["RequestCount"] == 0 and dead["Targets"][f"127.0.0.1:{gone.port}"]["Requests"] == 2
    assert (section["TargetGroups"][empty]["HealthyHostCount"],
            section["TargetGroups"][empty]["UnHealthyHostCount"]) == (0, 0)


def test_state_shows_each_listeners_port_mapping(server: ServerThread, elb: Any, backends: list[Backend]) -> None:
    tg = target_group(elb, [backends[0]])
    lb, http = load_balancer(elb, forward(tg))
    second = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=8080,
                                 DefaultActions=forward(tg))["Listeners"][0]["ListenerArn"]
    state = get(server, "/_miniaws/state")
    assert "elbv2" in state
    section = state["elbv2"]
    assert section["PortOffset"] == 10000  # the default
    mine = section["LoadBalancers"][lb]
    described = elb.describe_load_balancers(LoadBalancerArns=[lb])["LoadBalancers"][0]
    assert (mine["Name"], mine["DNSName"]) == (described["LoadBalancerName"], described["DNSName"])
    rows = {row["ListenerArn"]: row for row in mine["Listeners"]}
    assert set(rows) == {http, second}
    assert (rows[http]["Port"], rows[second]["Port"]) == (80, 8080)
    for arn, row in rows.items():
        assert row["Protocol"] == "HTTP" and row["BoundPort"]
        assert row["Url"] == listener_url(server.endpoint_url, arn)
        assert row["Url"].endswith(f":{row['BoundPort']}")
        assert request(row["Url"]).status == 200
    elb.delete_listener(ListenerArn=second)
    wait_for(lambda: [r["ListenerArn"] for r in get(server, "/_miniaws/state")["elbv2"]["LoadBalancers"][lb][
        "Listeners"]] == [http])


def test_aggregates_answer_get_only(server: ServerThread) -> None:
    for path in ("/_miniaws/state", "/_miniaws/metrics"):
        post = urllib.request.Request(f"{server.endpoint_url}{path}", method="POST", data=b"")
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(post)
        assert caught.value.code == 405
        caught.value.close()
