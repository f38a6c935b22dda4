"""The ELBv2 service: load balancer, listener/rule and target group operations composed into one Service, plus the
load balancers' DNS names for miniaws's DNS server and its endpoints under /_miniaws/elbv2/:

    GET listeners                           every listener: requested port, bound port and URL (or why not bound)
    GET certificate?LoadBalancerArn=…       the PEM certificate HTTPS listeners present (also ?Name=<lb name>)
    GET metrics                             per load balancer and target group counters and response times

and sections in miniaws's aggregates: `metrics()` for GET /_miniaws/metrics (per load balancer and target group),
`state()` for GET /_miniaws/state (each load balancer's listeners: requested port → bound port and URL).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from miniaws.services.elbv2.api_listeners import ListenerOperations
from miniaws.services.elbv2.api_loadbalancers import LoadBalancerOperations
from miniaws.services.elbv2.api_targetgroups import TargetGroupOperations
from miniaws.services.elbv2.models import LoadBalancer

#: TTL of the load balancers' A records (ELB answers with 60 s)
DNS_TTL = 60


class ElbV2Service(LoadBalancerOperations, ListenerOperations, TargetGroupOperations):
    """Elastic Load Balancing v2 (application load balancers) as SDKs see it, with a data plane behind it."""

    _names: dict[str, LoadBalancer]
    _names_generation = -1

    # -- DNS ------------------------------------------------------------------------------------------
    def on_change(self, callback: Callable[[], None]) -> None:
        """Call `callback` when load balancers, listeners or target health change (DNS answers depend on them)."""
        self.store.on_change(callback)
        self.plane.watch(callback)

    def _by_name(self) -> dict[str, LoadBalancer]:
        if self._names_generation != self.store.generation:
            self._names = {lb.dns_name.lower() + ".": lb for lb in self.store.load_balancers.values()}
            self._names_generation = self.store.generation
        return self._names

    def addresses(self, name: str) -> tuple[str, ...] | None:
        """The addresses a load balancer's DNS name (`<name>-<n>.<region>.elb.localhost.`) answers: the host
        its listeners are bound on (loopback when they listen on every interface); None for other names."""
        if name.lower() not in self._by_name():
            return None
        host = self.config.host
        return ("127.0.0.1",) if host in ("0.0.0.0", "") else ("::1",) if host == "::" else (host,)

    def healthy(self, name: str) -> bool:
        """EvaluateTargetHealth for an alias to the load balancer: it has a target that may get traffic."""
        lb = self._by_name().get(name.lower())
        return lb is not None and self.plane.healthy_lb(lb.arn)

    # -- /_miniaws/elbv2/ -----------------------------------------------------------------------------
    def internal(self, method: str, path: str, query: Mapping[str, str],
                 headers: Mapping[str, str]) -> tuple[int, Any]:
        name = path.strip("/")
        if method not in ("GET", "HEAD"):
            return 405, {"message": "use GET"}
        if name == "listeners":
            return 200, {"Listeners": self.listener_table()}
        if name == "metrics":
            return 200, self.plane.snapshot()
        if name == "certificate":
            lb = self._find(query)
            if lb is None or lb.tls is None:
                return 404, {"message": "no such load balancer, or it has no HTTPS listener yet"}
            return 200, web.Response(text=lb.tls[0], content_type="application/x-pem-file")
        return 404, {"message": "use /_miniaws/elbv2/listeners, certificate?LoadBalancerArn=… or metrics"}

    # -- /_miniaws/metrics and /_miniaws/state ---------------------------------------------------------
    def metrics(self) -> dict[str, Any]:
        """Per load balancer (requests, ELB 5XX and its 502/503/504 split) and per target group (requests,
        per-target counts, response time p50/p99 in ms, target codes, healthy/unhealthy hosts)."""
        snapshot = self.plane.snapshot()
        groups: dict[str, Any] = {}
        for arn, counters in snapshot["TargetGroups"].items():
            tg = self.store.target_groups.get(arn)
            groups[arn] = {"Name": tg.name if tg is not None else None,
                           "LoadBalancerArns": self.store.load_balancers_of(arn), **counters}
        lbs: dict[str, Any] = {}
        for arn, counters in self.plane.lb_counters().items():
            lb = self.store.load_balancers[arn]
            used = sorted(a for a, g in groups.items() if arn in g["LoadBalancerArns"])
            lbs[arn] = {"Name": lb.name, **counters, "TargetGroupArns": used}
        return {"LoadBalancers": lbs, "TargetGroups": groups}

    def state(self) -> dict[str, Any]:
        """Each load balancer's listeners: the port asked for, the port bound and its URL (or why not bound)."""
        lbs: dict[str, Any] = {}
        for lb in sorted(self.store.load_balancers.values(), key=lambda b: (b.name, b.arn)):
            lbs[lb.arn] = {"Name": lb.name, "DNSName": lb.dns_name, "Listeners": []}
        for row in self.listener_table():
            entry = lbs.get(row["LoadBalancerArn"])
            if entry is None:
                continue
            listener = {k: v for k, v in row.items() if k not in ("LoadBalancerArn", "LoadBalancerName", "DNSName")}
            entry["Listeners"].append(listener)
        return {"Host": self.config.host, "PortOffset": self.config.lb_port_offset, "LoadBalancers": lbs}

    def _find(self, query: Mapping[str, str]) -> LoadBalancer | None:
        arn, name = query.get("LoadBalancerArn"), query.get("Name")
        for lb in self.store.load_balancers.values():
            if lb.arn == arn or (name is not None and lb.name == name):
                return lb
        return None

    def listener_table(self) -> list[dict[str, Any]]:
        rows = []
        host = self.config.host
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host
        for bound in self.plane.bindings():
            lb = self.store.load_balancers.get(bound.lb_arn)
            row: dict[str, Any] = {"ListenerArn": bound.listener_arn, "LoadBalancerArn": bound.lb_arn,
                                   "LoadBalancerName": lb.name if lb is not None else None,
                                   "DNSName": lb.dns_name if lb is not None else None,
                                   "Protocol": bound.protocol, "Port": bound.requested_port,
                                   "BoundPort": bound.port or None}
            if bound.port:
                row["Url"] = f"{bound.protocol.lower()}://{shown}:{bound.port}"
            if bound.error:
                row["Error"] = bound.error
            rows.append(row)
        return rows

    def health(self) -> str:
        return "running"
