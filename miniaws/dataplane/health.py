"""The one active health checker: probes registered targets on their interval and keeps each one's status.

Route 53 health checks and the load balancer's target groups use it. A caller registers a target under
a key with a `ProbeSpec` (HTTP/HTTPS with optional body match, or TCP; interval, timeout, thresholds), reads
`status(key)`, and may `subscribe` to status flips. Each target has one asyncio task that sleeps until its next
probe (no polling loop); timestamps come from the injected clock. `interval_scale` shrinks every interval and
timeout by the same factor so tests and labs need not wait 30 s for a 30 s check.

Status changes only after `failure_threshold` consecutive failures (healthy → unhealthy) or `healthy_threshold`
consecutive successes (unhealthy → healthy), which is how both Route 53 and ELB count.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Protocol

import aiohttp

from miniaws.core.clock import Clock

log = logging.getLogger("miniaws.health")

#: Route 53 looks for SearchString in the first 5,120 bytes of the body
#: (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-types.html)
SEARCH_WINDOW = 5120
#: never wait less than this for a probe, however small the scale (a loopback HTTP answer takes ~1 ms)
MIN_TIMEOUT = 0.05


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    """What to probe and how often. Durations are nominal seconds (before `interval_scale`)."""

    protocol: str  # "HTTP" | "HTTPS" | "TCP", or one given to HealthChecker.use_prober
    host: str  # address or name to connect to
    port: int
    path: str = "/"
    #: Host header (HTTP); None → `host`
    host_header: str | None = None
    #: HTTP only: healthy only if the first SEARCH_WINDOW bytes of the body contain this
    search: bytes | None = None
    interval: float = 30.0
    timeout: float = 4.0
    failure_threshold: int = 3
    healthy_threshold: int = 3
    #: inclusive status ranges that count as success (Route 53: 2xx and 3xx)
    success_codes: tuple[tuple[int, int], ...] = ((200, 399),)
    #: status before the first probes complete (Route 53 considers new checks healthy)
    initially_healthy: bool = True
    #: successes that make an initially unhealthy target healthy before its status was ever decided (ELB: a newly
    #: registered target "must pass one health check to be considered healthy"); None → healthy_threshold
    initial_threshold: int | None = None
    #: HTTP User-Agent of the probes (Route 53's unless the caller names its own, e.g. ELB-HealthChecker/2.0)
    user_agent: str = "Amazon-Route53-Health-Check-Service"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    #: what happened, e.g. "HTTP Status Code 200, OK" or "Connection refused"
    detail: str
    #: clock.now() when the probe finished
    checked_at: float


@dataclass(slots=True)
class TargetStatus:
    healthy: bool
    last: ProbeResult | None = None
    last_failure: ProbeResult | None = None
    successes: int = 0  # consecutive
    failures: int = 0  # consecutive
    probes: int = 0
    #: probes have decided the status at least once (a flip, or failure_threshold failures while initially
    #: unhealthy); until then an initially unhealthy target is still "initial" to ELB
    decided: bool = False


class Prober(Protocol):
    """Runs one probe; the default speaks HTTP(S)/TCP, tests may substitute a fake."""

    def __call__(self, spec: ProbeSpec, timeout: float) -> Awaitable[tuple[bool, str]]: ...


Listener = Callable[[str, bool], None]


@dataclass(slots=True)
class _Target:
    spec: ProbeSpec
    status: TargetStatus
    task: asyncio.Task[None] | None = None


class HealthChecker:
    def __init__(self, clock: Clock, *, interval_scale: float = 1.0, prober: Prober | None = None) -> None:
        self.clock = clock
        self.interval_scale = interval_scale
        self._targets: dict[str, _Target] = {}
        self._listeners: list[Listener] = []
        self._http: _HttpProber | None = None
        self._prober: Prober
        if prober is None:
            self._http = _HttpProber()
            self._prober = self._http
        else:
            self._prober = prober
        #: probers for protocols of the caller's own (e.g. the load balancer's LAMBDA invocations)
        self._probers: dict[str, Prober] = {}
        self._closed = False

    # -- registration -----------------------------------------------------------------------------
    def register(self, key: str, spec: ProbeSpec) -> None:
        """Start probing `spec` under `key` (replacing any previous spec; the status is kept if the target is
        the same endpoint, so editing a threshold does not reset health). Needs a running loop."""
        old = self._targets.get(key)
        if old is not None and old.spec == spec:
            return
        status = TargetStatus(spec.initially_healthy)
        if old is not None:
            self._cancel(old)
            if (old.spec.protocol, old.spec.host, old.spec.port) == (spec.protocol, spec.host, spec.port):
                status = old.status
        target = _Target(spec, status)
        self._targets[key] = target
        if not self._closed:
            target.task = asyncio.get_running_loop().create_task(self._run(key, target), name=f"health:{key}")

    def use_prober(self, protocol: str, prober: Prober) -> None:
        """Probe specs whose protocol is `protocol` with `prober` instead of the HTTP/TCP one."""
        self._probers[protocol] = prober

    def unregister(self, key: str) -> None:
        target = self._targets.pop(key, None)
        if target is not None:
            self._cancel(target)

    def keys(self) -> list[str]:
        return list(self._targets)

    # -- reading ------------------------------------------------------------------------------------
    def status(self, key: str) -> TargetStatus | None:
        target = self._targets.get(key)
        return target.status if target is not None else None

    def is_healthy(self, key: str, default: bool = True) -> bool:
        target = self._targets.get(key)
        return target.status.healthy if target is not None else default

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(key, healthy)` on every status flip; returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # -- the probe loop -----------------------------------------------------------------------------
    async def _run(self, key: str, target: _Target) -> None:
        spec = target.spec
        interval = max(spec.interval * self.interval_scale, MIN_TIMEOUT)
        timeout = min(max(spec.timeout * self.interval_scale, MIN_TIMEOUT), max(interval, MIN_TIMEOUT))
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                ok, detail = await self._probers.get(spec.protocol, self._prober)(spec, timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a prober bug must not end the checks
                log.exception("health probe %s failed", key)
                ok, detail = False, f"Probe error: {exc}"
            self._record(key, target, ProbeResult(ok, detail, self.clock.now()))
            # the next probe is due one interval after this one started (a slow probe does not shift them)
            await asyncio.sleep(max(0.0, interval - (loop.time() - started)))

    def _record(self, key: str, target: _Target, result: ProbeResult) -> None:
        status, spec = target.status, target.spec
        status.last = result
        status.probes += 1
        if result.ok:
            status.successes += 1
            status.failures = 0
            needed = spec.healthy_threshold
            if not status.decided and spec.initial_threshold is not None:
                needed = spec.initial_threshold
            flip = not status.healthy and status.successes >= needed
        else:
            status.last_failure = result
            status.failures += 1
            status.successes = 0
            flip = status.healthy and status.failures >= spec.failure_threshold
            if status.failures >= spec.failure_threshold:
                status.decided = True
        if flip:
            status.decided = True
            status.healthy = not status.healthy
            log.info("health %s is now %s (%s)", key, "healthy" if status.healthy else "unhealthy", result.detail)
            for listener in list(self._listeners):
                try:
                    listener(key, status.healthy)
                except Exception:
                    log.exception("health listener failed")

    def _cancel(self, target: _Target) -> None:
        if target.task is not None:
            target.task.cancel()
            target.task = None

    async def close(self) -> None:
        self._closed = True
        tasks = [t.task for t in self._targets.values() if t.task is not None]
        for target in self._targets.values():
            self._cancel(target)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()


class _HttpProber:
    """HTTP(S) and TCP probes over one shared client session (certificates are not verified, as Route 53
    does not verify them: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-types.html)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def __call__(self, spec: ProbeSpec, timeout: float) -> tuple[bool, str]:
        try:
            if spec.protocol == "TCP":
                return await asyncio.wait_for(self._tcp(spec), timeout)
            return await asyncio.wait_for(self._http(spec), timeout)
        except asyncio.TimeoutError:
            return False, "Connection timed out. The endpoint or the internet connection is down, or requests " \
                          "are being blocked by your firewall."
        except ConnectionRefusedError:
            return False, "Connection refused. The endpoint or the internet connection is down, or requests " \
                          "are being blocked by your firewall."
        except (OSError, aiohttp.ClientError) as exc:
            return False, f"Connection failed: {exc.__class__.__name__}: {exc}"

    @staticmethod
    async def _tcp(spec: ProbeSpec) -> tuple[bool, str]:
        _, writer = await asyncio.open_connection(spec.host, spec.port)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True, "TCP connection established"

    async def _http(self, spec: ProbeSpec) -> tuple[bool, str]:
        if self._closed:
            # a probe cancelled on the way out may still get here: a session made now would never be closed
            return False, "Health checks have stopped"
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=False, force_close=True, limit=64),
                auto_decompress=False)
        scheme = "https" if spec.protocol == "HTTPS" else "http"
        host = f"[{spec.host}]" if ":" in spec.host else spec.host
        url = f"{scheme}://{host}:{spec.port}{spec.path or '/'}"
        headers = {"Host": spec.host_header or spec.host, "User-Agent": spec.user_agent}
        try:
            async with self._session.get(url, headers=headers, allow_redirects=False) as response:
                code = response.status
                body = bytearray()
                while spec.search is not None and len(body) < SEARCH_WINDOW:
                    chunk = await response.content.read(SEARCH_WINDOW - len(body))
                    if not chunk:
                        break
                    body += chunk
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, ConnectionRefusedError):
                raise ConnectionRefusedError() from None
            raise
        try:
            reason = HTTPStatus(code).phrase
        except ValueError:
            reason = ""
        described = f"HTTP Status Code {code}, {reason}".rstrip(", ")
        if not any(low <= code <= high for low, high in spec.success_codes):
            return False, described
        if spec.search is not None and spec.search not in bytes(body[:SEARCH_WINDOW]):
            return False, f"{described}. The response body did not contain the search string"
        return True, described

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None
