"""ELBv2 state is durable: load balancers (attributes, tags, certificate), listeners, rules, target groups and
their targets survive a restart on the same data directory, and the restarted listeners route again."""
from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

from tests.api.conftest import make_client
from tests.dataplane.conftest import start
from tests.dataplane.lb_support import (Backend, LoopThread, forward, listener_url, load_balancer, request,
                                        target_group)


def snapshot(elb: Any, lb: str, listener: str, tg: str) -> dict[str, Any]:
    return {
        "lb": elb.describe_load_balancers(LoadBalancerArns=[lb])["LoadBalancers"],
        "lb_attrs": elb.describe_load_balancer_attributes(LoadBalancerArn=lb)["Attributes"],
        "listeners": elb.describe_listeners(LoadBalancerArn=lb)["Listeners"],
        "rules": elb.describe_rules(ListenerArn=listener)["Rules"],
        "tg": elb.describe_target_groups(TargetGroupArns=[tg])["TargetGroups"],
        "tg_attrs": elb.describe_target_group_attributes(TargetGroupArn=tg)["Attributes"],
        "targets": sorted(d["Target"]["Port"] for d in
                          elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]),
        "tags": elb.describe_tags(ResourceArns=[lb, tg, listener])["TagDescriptions"],
    }


def certificate(endpoint: str, lb: str) -> bytes:
    with urllib.request.urlopen(f"{endpoint}/_miniaws/elbv2/certificate?LoadBalancerArn={lb}") as response:
        return bytes(response.read())


def test_load_balancers_survive_a_restart(tmp_path: Path) -> None:
    backends = LoopThread()  # the target lives on across the restart, at the address registered before it
    backend = Backend(backends, "a").start()
    first = start(ephemeral=False, data_dir=str(tmp_path))
    try:
        elb = make_client(first.endpoint_url, "elbv2")
        tg = target_group(elb, [backend])
        elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
            {"Key": "load_balancing.algorithm.type", "Value": "least_outstanding_requests"}])
        lb, listener = load_balancer(elb, forward(tg), port=8380)
        elb.create_listener(LoadBalancerArn=lb, Protocol="HTTPS", Port=8443, DefaultActions=forward(tg))
        elb.create_rule(ListenerArn=listener, Priority=7, Conditions=[{"Field": "path-pattern", "Values": ["/x/*"]}],
                        Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "418"}}])
        elb.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[
            {"Key": "idle_timeout.timeout_seconds", "Value": "30"}])
        elb.add_tags(ResourceArns=[lb, tg, listener], Tags=[{"Key": "keep", "Value": "me"}])
        before = snapshot(elb, lb, listener, tg)
        pem = certificate(first.endpoint_url, lb)
    finally:
        first.stop()

    second = start(ephemeral=False, data_dir=str(tmp_path))
    try:
        elb = make_client(second.endpoint_url, "elbv2")
        assert snapshot(elb, lb, listener, tg) == before
        assert certificate(second.endpoint_url, lb) == pem
        url = listener_url(second.endpoint_url, listener)
        assert request(url, "/x/y").status == 418
        assert request(url, "/").backend == "a"
    finally:
        second.stop()
        backend.stop()
        backends.stop()
