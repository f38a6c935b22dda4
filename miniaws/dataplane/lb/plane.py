"""The load balancers' data plane, kept in step with the ELBv2 store: listener sockets, compiled routing tables,
target pools, and target health registered with the shared checker (dataplane/health.py).

`apply()` binds and closes listener sockets to match the store (the API awaits it, so a listener answers when
CreateListener returns); `sync()` runs on every store change and updates pools and health registrations; routing
tables are compiled lazily per listener and dropped when the store's generation moves. Targets of groups in use
with HealthCheckEnabled are probed: ip/instance targets over HTTP(S), lambda targets by invoking the function with
ALB's health check event (`_probe_function`, healthy when it returns a response whose status the matcher accepts).

Ports: a listener binds its own port when it can, else port + `port_offset` (80 → 10080 without root), else a
free port; `bound()` and /_miniaws/elbv2/listeners tell which (DESIGN §7).
"""
from __future__ import annotations

import asyncio
import logging
import random
import ssl
import tempfile
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from miniaws.core.clock import Clock
from miniaws.dataplane.health import HealthChecker, ProbeSpec
from miniaws.dataplane.lb import functions
from miniaws.dataplane.lb.forwarding import Settings
from miniaws.dataplane.lb.functions import HEALTH_USER_AGENT, FunctionInvoker
from miniaws.dataplane.lb.responses import Reply, fixed
from miniaws.dataplane.lb.rules import Predicate, compile_conditions
from miniaws.dataplane.lb.targets import LiveTarget, TargetPool
from miniaws.dataplane.lb.upstream import UpstreamPool
from miniaws.services.elbv2.models import ElbStore, LoadBalancer, TargetGroup, target_groups_in
from miniaws.services.elbv2.validation import parse_codes

log = logging.getLogger("miniaws.lb")

#: health checks of lambda targets go through the checker under this protocol name (`_probe_function`)
LAMBDA_PROBE = "LAMBDA"
#: target response times kept per target group for the p50/p99 in the metrics
_SAMPLES = 4096


@dataclass(slots=True)
class Action:
    """A listener or rule action ready to run."""

    kind: str  # "forward" | "redirect" | "fixed-response"
    #: forward: (target group ARN, weight)
    groups: list[tuple[str, int]] = field(default_factory=list)
    #: forward: seconds of target group stickiness (0: off)
    group_stickiness: int = 0
    redirect: dict[str, Any] = field(default_factory=dict)
    reply: Reply | None = None


@dataclass(slots=True)
class RouteTable:
    """One listener's rules by priority, its default action, and the load balancer settings requests need."""

    listener_arn: str
    lb: LoadBalancer
    protocol: str
    port: int
    rules: list[tuple[Predicate, Action]]
    default: Action
    idle_timeout: float
    #: how headers are forwarded (X-Forwarded-*, invalid names, Host, TLS headers)
    forward: Settings
    #: routing.http.desync_mitigation_mode
    desync_mode: str
    #: configured port → bound port of the load balancer's listeners (redirects between them)
    ports: dict[int, int]


@dataclass(slots=True)
class Bound:
    """A listener's socket: what was asked for and what was bound."""

    listener_arn: str
    lb_arn: str
    protocol: str
    requested_port: int
    port: int = 0
    error: str = ""
    tls_key: tuple[str, str] | None = None
    server: Any = None


@dataclass(slots=True)
class GroupMetrics:
    requests: int = 0
    codes: dict[str, int] = field(default_factory=lambda: {"2XX": 0, "3XX": 0, "4XX": 0, "5XX": 0})
    times: deque[float] = field(default_factory=lambda: deque(maxlen=_SAMPLES))


def compile_action(actions: list[dict[str, Any]]) -> Action:
    action = actions[-1]
    kind = action["Type"]
    if kind == "forward":
        config = action["ForwardConfig"]
        sticky = config.get("TargetGroupStickinessConfig") or {}
        return Action(kind, groups=[(g["TargetGroupArn"], int(g["Weight"])) for g in config["TargetGroups"]],
                      group_stickiness=int(sticky.get("DurationSeconds") or 0) if sticky.get("Enabled") else 0)
    if kind == "redirect":
        return Action(kind, redirect=dict(action["RedirectConfig"]))
    return Action(kind, reply=fixed(action["FixedResponseConfig"]))


class LoadBalancerPlane:
    def __init__(self, store: ElbStore, checker: HealthChecker, clock: Clock, host: str, port_offset: int,
                 invoker: FunctionInvoker | None = None, rng: random.Random | None = None) -> None:
        self.store = store
        self.checker = checker
        self.clock = clock
        self.host = host
        self.port_offset = port_offset
        self.invoker = invoker
        self.rng = rng or random.Random()
        self.pools: dict[str, TargetPool] = {}
        self.metrics: dict[str, GroupMetrics] = {}
        self.elb_errors: dict[str, int] = {}
        #: load balancer ARN → requests its listeners took, and its own 5XX answers by status code
        self.lb_requests: dict[str, int] = {}
        self.elb_codes: dict[str, dict[int, int]] = {}
        #: load balancer ARN → its targets' answers by class (2XX…5XX)
        self.target_codes: dict[str, dict[str, int]] = {}
        self._tables: dict[str, RouteTable] = {}
        self._generation = -1
        self._bound: dict[str, Bound] = {}
        self._probed: dict[str, ProbeSpec] = {}
        self._lock = asyncio.Lock()
        self._started = False
        self._session: aiohttp.ClientSession | None = None
        #: keep-alive connections to ip and instance targets (websockets go through `session`)
        self.upstream = UpstreamPool()
        self._pending: set[asyncio.Future[Any]] = set()
        self._watchers: list[Callable[[], None]] = []
        store.on_change(self._changed)
        checker.subscribe(self._flipped)
        checker.use_prober(LAMBDA_PROBE, self._probe_function)

    # -- lifecycle ------------------------------------------------------------------------------------
    async def start(self) -> None:
        self._started = True
        self.sync()
        await self.apply()

    async def stop(self) -> None:
        self._started = False
        for task in list(self._pending):
            task.cancel()
        async with self._lock:
            for bound in list(self._bound.values()):
                await self._close(bound)
            self._bound.clear()
        for key in list(self._probed):
            self.checker.unregister(key)
        self._probed.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None
        self.upstream.close()
        self.upstream = UpstreamPool()

    @property
    def session(self) -> aiohttp.ClientSession:
        """The client session websocket upgrades are opened with."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, ssl=False, keepalive_timeout=60),
                auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"))
        return self._session

    def _changed(self) -> None:
        if not self._started:
            return
        self.sync()
        if {b.listener_arn for b in self._bound.values()} != set(self.store.listeners) or any(
                self._stale(b) for b in self._bound.values()):
            # reset and deletions elsewhere: close or open sockets soon (API calls await apply() themselves)
            task = asyncio.get_running_loop().create_task(self.apply())
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    def watch(self, callback: Callable[[], None]) -> None:
        """Call `callback` whenever a target's health flips."""
        self._watchers.append(callback)

    def _flipped(self, key: str, healthy: bool) -> None:
        if not key.startswith("elbv2|"):
            return
        pool = self.pools.get(key.split("|", 2)[1])
        if healthy and pool is not None:
            pool.became_healthy(key)
        for callback in self._watchers:
            callback()

    # -- pools and health -----------------------------------------------------------------------------
    def in_use(self) -> set[str]:
        used: set[str] = set()
        for _, actions in self.store.actions_using():
            used.update(target_groups_in(actions))
        return used

    def sync(self) -> None:
        """Pools and health registrations to match the store (runs on every change)."""
        used = self.in_use()
        wanted: dict[str, ProbeSpec] = {}
        for tg in self.store.target_groups.values():
            pool = self.pools.get(tg.arn)
            if pool is None:
                pool = self.pools[tg.arn] = TargetPool(tg, self.clock, self._healthy, self.rng)
            else:
                pool.update(tg)
            if tg.arn in used and tg.health.get("HealthCheckEnabled"):
                for live in pool.targets.values():
                    if not live.draining:
                        wanted[live.health_key] = self.probe_spec(tg, live)
        for arn in [a for a in self.pools if a not in self.store.target_groups]:
            self.pools.pop(arn).close()
            self.metrics.pop(arn, None)
        for counters in (self.lb_requests, self.elb_errors, self.elb_codes, self.target_codes):
            for arn in [a for a in counters if a not in self.store.load_balancers]:
                del counters[arn]
        for key in [k for k in self._probed if k not in wanted]:
            self.checker.unregister(key)
            del self._probed[key]
        for key, spec in wanted.items():
            if self._probed.get(key) != spec:
                self.checker.register(key, spec)
                self._probed[key] = spec

    def _healthy(self, key: str) -> bool:
        return self.checker.is_healthy(key, default=False)

    @staticmethod
    def probe_spec(tg: TargetGroup, live: LiveTarget) -> ProbeSpec:
        health = tg.health
        port = health.get("HealthCheckPort", "traffic-port")
        lambda_target = tg.target_type == "lambda"
        return ProbeSpec(
            protocol=LAMBDA_PROBE if lambda_target else health.get("HealthCheckProtocol") or "HTTP",
            host=live.host, port=0 if lambda_target else live.port if port == "traffic-port" else int(port),
            path=health.get("HealthCheckPath") or "/",
            # a lambda probe has no Host header to send: the field carries the target group for its event
            host_header=tg.arn if lambda_target else None,
            interval=float(health["HealthCheckIntervalSeconds"]), timeout=float(health["HealthCheckTimeoutSeconds"]),
            failure_threshold=int(health["UnhealthyThresholdCount"]),
            healthy_threshold=int(health["HealthyThresholdCount"]),
            success_codes=parse_codes(health["Matcher"]["HttpCode"]), initially_healthy=False, initial_threshold=1,
            user_agent=HEALTH_USER_AGENT)

    def target_health(self, tg: TargetGroup) -> list[tuple[LiveTarget, dict[str, str]]]:
        """(target, TargetHealth) for every registered and draining target of the group."""
        pool = self.pools.get(tg.arn)
        if pool is None:
            return []
        pool.expire()
        used = tg.arn in self.in_use()
        out = []
        for live in pool.targets.values():
            out.append((live, self._state(tg, live, used)))
        return out

    def _state(self, tg: TargetGroup, live: LiveTarget, used: bool) -> dict[str, str]:
        if live.draining:
            return {"State": "draining", "Reason": "Target.DeregistrationInProgress",
                    "Description": "Target deregistration is in progress"}
        if not used:
            return {"State": "unused", "Reason": "Target.NotInUse",
                    "Description": "Target group is not configured to receive traffic from the load balancer"}
        if not tg.health.get("HealthCheckEnabled"):
            return {"State": "unavailable", "Reason": "Target.HealthCheckDisabled",
                    "Description": "Health checks are disabled"}
        status = self.checker.status(live.health_key)
        if status is None or status.probes == 0:
            return {"State": "initial", "Reason": "Elb.RegistrationInProgress",
                    "Description": "Target registration is in progress"}
        if status.healthy:
            return {"State": "healthy"}
        if not status.decided:
            return {"State": "initial", "Reason": "Elb.InitialHealthChecking",
                    "Description": "Initial health checks in progress"}
        detail = status.last_failure.detail if status.last_failure is not None else ""
        if detail.startswith("HTTP Status Code "):
            code = detail[len("HTTP Status Code "):].split(",", 1)[0]
            return {"State": "unhealthy", "Reason": "Target.ResponseCodeMismatch",
                    "Description": f"Health checks failed with these codes: [{code}]"}
        if detail.startswith("Connection timed out"):
            return {"State": "unhealthy", "Reason": "Target.Timeout", "Description": "Request timed out"}
        return {"State": "unhealthy", "Reason": "Target.FailedHealthChecks", "Description": "Health checks failed"}

    async def _probe_function(self, spec: ProbeSpec, timeout: float) -> tuple[bool, str]:
        """A lambda target's health check: invoke the function with ALB's health check event. An invocation
        still running at the timeout is left to finish (as the function would in AWS) and counts as a timeout."""
        invoker = self.invoker
        if invoker is None:
            return False, "Connection failed: no function runtime"
        tg_arn = spec.host_header or ""
        pool = self.pools.get(tg_arn)
        event = functions.health_event(tg_arn, spec.path, pool is not None and pool.multi_value_headers)
        call = asyncio.ensure_future(invoker.invoke_for_target(spec.host, event))
        try:
            payload, failed = await asyncio.wait_for(asyncio.shield(call), timeout)
        except asyncio.TimeoutError:
            self._pending.add(call)
            call.add_done_callback(_forget(self._pending))
            return False, "Connection timed out waiting for the function"
        except Exception as exc:  # an unknown or throttled function
            return False, f"Connection failed: {type(exc).__name__}: {exc}"
        return functions.health_verdict(payload, failed, spec.success_codes)

    def healthy_lb(self, lb_arn: str) -> bool:
        """Some target group this load balancer forwards to has a healthy (or unchecked) target: Route 53's
        EvaluateTargetHealth for an alias to the load balancer."""
        for owner, actions in self.store.actions_using():
            if owner != lb_arn:
                continue
            for tg_arn in target_groups_in(actions):
                pool = self.pools.get(tg_arn)
                if pool is not None and any(pool.healthy(t) for t in pool.targets.values() if not t.draining):
                    return True
        return False

    # -- routing tables -------------------------------------------------------------------------------
    def table(self, listener_arn: str) -> RouteTable | None:
        if self._generation != self.store.generation:
            self._tables.clear()
            self._generation = self.store.generation
        table = self._tables.get(listener_arn)
        if table is None:
            table = self._compile(listener_arn)
            if table is not None:
                self._tables[listener_arn] = table
        return table

    def _compile(self, listener_arn: str) -> RouteTable | None:
        listener = self.store.listeners.get(listener_arn)
        lb = self.store.load_balancers.get(listener.lb_arn) if listener is not None else None
        if listener is None or lb is None:
            return None
        rules = [(compile_conditions(rule.conditions), compile_action(rule.actions))
                 for rule in self.store.rules_of(listener_arn)]
        attrs = lb.attributes
        ports = {}
        for other in self.store.listeners_of(lb.arn):
            bound = self._bound.get(other.arn)
            ports[other.port] = bound.port if bound is not None and bound.port else other.port
        forward = Settings(
            scheme="https" if listener.protocol == "HTTPS" else "http", port=ports.get(listener.port, listener.port),
            listener_port=listener.port, xff_mode=attrs.get("routing.http.xff_header_processing.mode", "append"),
            xff_client_port=attrs.get("routing.http.xff_client_port.enabled") == "true",
            drop_invalid=attrs.get("routing.http.drop_invalid_header_fields.enabled") == "true",
            preserve_host=attrs.get("routing.http.preserve_host_header.enabled") == "true",
            tls_headers=attrs.get("routing.http.x_amzn_tls_version_and_cipher_suite.enabled") == "true")
        return RouteTable(listener_arn, lb, listener.protocol, listener.port, rules,
                          compile_action(listener.default_actions),
                          float(attrs.get("idle_timeout.timeout_seconds", "60")), forward,
                          attrs.get("routing.http.desync_mitigation_mode", "defensive"), ports)

    # -- listener sockets -----------------------------------------------------------------------------
    def bound(self, listener_arn: str) -> Bound | None:
        return self._bound.get(listener_arn)

    def bindings(self) -> list[Bound]:
        return sorted(self._bound.values(), key=lambda b: (b.lb_arn, b.requested_port))

    def _stale(self, bound: Bound) -> bool:
        listener = self.store.listeners.get(bound.listener_arn)
        if listener is None:
            return True
        lb = self.store.load_balancers.get(listener.lb_arn)
        tls = lb.tls if lb is not None and listener.protocol == "HTTPS" else None
        return (listener.port, listener.protocol, tls) != (bound.requested_port, bound.protocol, bound.tls_key)

    async def apply(self) -> None:
        """Bind and close listener sockets to match the store."""
        if not self._started:
            return
        async with self._lock:
            for arn, bound in list(self._bound.items()):
                if self._stale(bound):
                    await self._close(bound)
                    del self._bound[arn]
            for listener in sorted(self.store.listeners.values(), key=lambda li: (li.port, li.arn)):
                if listener.arn in self._bound:
                    continue
                lb = self.store.load_balancers.get(listener.lb_arn)
                if lb is None:
                    continue
                tls = lb.tls if listener.protocol == "HTTPS" else None
                bound = Bound(listener.arn, lb.arn, listener.protocol, listener.port, tls_key=tls)
                self._bound[listener.arn] = bound
                await self._open(bound, lb)
            self._tables.clear()

    async def _open(self, bound: Bound, lb: LoadBalancer) -> None:
        from miniaws.dataplane.lb.server import ListenerServer

        context = _tls_context(bound.tls_key) if bound.tls_key is not None else None
        server = ListenerServer(self, bound.listener_arn, self.host, context)
        candidates = [bound.requested_port]
        if bound.requested_port + self.port_offset <= 65535 and self.port_offset:
            candidates.append(bound.requested_port + self.port_offset)
        candidates.append(0)
        errors = []
        for port in candidates:
            try:
                bound.port = await server.start(port)
            except OSError as exc:
                errors.append(f"{port}: {exc.strerror or exc}")
                continue
            bound.server = server
            bound.error = ""
            scheme = "https" if bound.protocol == "HTTPS" else "http"
            log.info("load balancer %s listener %s:%d → %s://%s:%d", lb.name, bound.protocol, bound.requested_port,
                     scheme, self.host, bound.port)
            return
        bound.error = "; ".join(errors)
        log.warning("load balancer %s listener %d not bound: %s", lb.name, bound.requested_port, bound.error)

    @staticmethod
    async def _close(bound: Bound) -> None:
        if bound.server is not None:
            await bound.server.stop()
            bound.server = None

    # -- metrics --------------------------------------------------------------------------------------
    def record(self, tg_arn: str, status: int, seconds: float | None, lb_arn: str = "") -> None:
        """A target's answer: its class, and how long it took (None: no response time, e.g. a websocket)."""
        metrics = self.metrics.get(tg_arn)
        if metrics is None:
            metrics = self.metrics[tg_arn] = GroupMetrics()
        metrics.requests += 1
        bucket = f"{status // 100}XX"
        if bucket in metrics.codes:
            metrics.codes[bucket] += 1
        if seconds is not None:
            metrics.times.append(seconds)
        if lb_arn:
            codes = self.target_codes.get(lb_arn)
            if codes is None:
                codes = self.target_codes[lb_arn] = {"2XX": 0, "3XX": 0, "4XX": 0, "5XX": 0}
            if bucket in codes:
                codes[bucket] += 1

    def elb_error(self, lb_arn: str, status: int = 502) -> None:
        self.elb_errors[lb_arn] = self.elb_errors.get(lb_arn, 0) + 1
        codes = self.elb_codes.get(lb_arn)
        if codes is None:
            codes = self.elb_codes[lb_arn] = {}
        codes[status] = codes.get(status, 0) + 1

    def lb_request(self, lb_arn: str) -> None:
        self.lb_requests[lb_arn] = self.lb_requests.get(lb_arn, 0) + 1

    def lb_counters(self) -> dict[str, dict[str, Any]]:
        """Per load balancer: requests, its targets' answers by class, its own 5XX answers and their 502/503/504
        split (GET /_miniaws/metrics)."""
        out = {}
        for arn in self.store.load_balancers:
            codes = self.elb_codes.get(arn, {})
            targets = self.target_codes.get(arn, {})
            out[arn] = {"RequestCount": self.lb_requests.get(arn, 0),
                        **{f"HTTPCode_Target_{k}_Count": targets.get(k, 0) for k in ("2XX", "3XX", "4XX", "5XX")},
                        "HTTPCode_ELB_5XX_Count": self.elb_errors.get(arn, 0),
                        **{f"HTTPCode_ELB_{code}_Count": codes.get(code, 0) for code in (502, 503, 504)}}
        return out

    def snapshot(self) -> dict[str, Any]:
        """Per load balancer and target group counters (GET /_miniaws/elbv2/metrics)."""
        groups = {}
        for arn, pool in self.pools.items():
            metrics = self.metrics.get(arn) or GroupMetrics()
            times = sorted(metrics.times)
            healthy = sum(1 for t in pool.targets.values() if not t.draining and pool.healthy(t))
            groups[arn] = {
                "RequestCount": metrics.requests,
                **{f"HTTPCode_Target_{k}_Count": v for k, v in metrics.codes.items()},
                "TargetResponseTime": {"p50": _quantile(times, 0.5), "p99": _quantile(times, 0.99)},
                "HealthyHostCount": healthy,
                "UnHealthyHostCount": sum(1 for t in pool.targets.values() if not t.draining) - healthy,
                "Targets": {f"{t.key[0]}:{t.key[1] or ''}": {"Requests": t.requests, "InFlight": t.in_flight}
                            for t in pool.targets.values()},
            }
        lbs = {arn: {"HTTPCode_ELB_5XX_Count": self.elb_errors.get(arn, 0)} for arn in self.store.load_balancers}
        return {"LoadBalancers": lbs, "TargetGroups": groups}


def _forget(pending: set[Any]) -> Callable[[Any], None]:
    """A done-callback dropping a background task from `pending` and retrieving its outcome (never raised)."""

    def done(task: Any) -> None:
        pending.discard(task)
        if not task.cancelled():
            task.exception()

    return done


def _quantile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)


def _tls_context(pems: tuple[str, str]) -> ssl.SSLContext:
    """A server context for the load balancer's certificate (ssl only loads key material from files)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    with tempfile.TemporaryDirectory(prefix="miniaws-lb-") as tmp:
        cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        cert.write_text(pems[0])
        key.touch(mode=0o600)
        key.write_text(pems[1])
        context.load_cert_chain(cert, key)
    return context
