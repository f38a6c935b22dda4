"""Route 53 health checks on top of the shared checker: config defaults and validation, probe specs, and the
status rules Route 53 layers over raw probe results (Disabled, Inverted, CALCULATED).

https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from miniaws.dataplane.health import HealthChecker, ProbeResult, ProbeSpec
from miniaws.services.route53.errors import InvalidInput
from miniaws.services.route53.models import HealthCheck, Route53Store

TYPES = ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP", "CALCULATED")
#: where Route 53's checkers run; GetHealthCheckStatus reports one observation per region of the check
DEFAULT_REGIONS = ["us-east-1", "us-west-1", "us-west-2", "eu-west-1", "ap-southeast-1", "ap-southeast-2",
                   "ap-northeast-1", "sa-east-1"]
#: every observation shows this checker address: miniaws probes from the machine it runs on
CHECKER_IP = "127.0.0.1"
#: ResetElements → the member it resets to its default
RESETTABLE = {"FullyQualifiedDomainName", "Regions", "ResourcePath", "ChildHealthChecks"}
_EDITABLE = ("IPAddress", "Port", "ResourcePath", "FullyQualifiedDomainName", "SearchString", "FailureThreshold",
             "Inverted", "Disabled", "HealthThreshold", "ChildHealthChecks", "EnableSNI", "Regions",
             "InsufficientDataHealthStatus", "AlarmIdentifier")


def normalize(config: dict[str, Any]) -> dict[str, Any]:
    """Validate a HealthCheckConfig and fill in Route 53's defaults, as GetHealthCheck shows them."""
    kind = config.get("Type")
    if kind not in TYPES:
        raise InvalidInput(f"Invalid parameter: health check type {kind!r} is not supported")
    out = {k: v for k, v in config.items() if v is not None}
    if kind == "CALCULATED":
        children = out.get("ChildHealthChecks") or []
        threshold = out.get("HealthThreshold")
        if threshold is None:
            raise InvalidInput("Invalid parameter: HealthThreshold is required for a CALCULATED health check")
        if not 0 <= int(threshold) <= 256:
            raise InvalidInput("Invalid parameter: HealthThreshold must be between 0 and 256")
        out["ChildHealthChecks"] = children
        out.setdefault("Inverted", False)
        out.setdefault("Disabled", False)
        return out
    if not out.get("IPAddress") and not out.get("FullyQualifiedDomainName"):
        raise InvalidInput("Invalid parameter: You must specify either IPAddress or FullyQualifiedDomainName")
    if kind == "TCP" and "Port" not in out:
        raise InvalidInput("Invalid parameter: Port is required for a TCP health check")
    if kind.endswith("_STR_MATCH") and not out.get("SearchString"):
        raise InvalidInput("Invalid parameter: SearchString is required for a string-matching health check")
    interval = int(out.setdefault("RequestInterval", 30))
    if interval not in (10, 30):
        raise InvalidInput("Invalid parameter: RequestInterval must be 10 or 30")
    threshold = int(out.setdefault("FailureThreshold", 3))
    if not 1 <= threshold <= 10:
        raise InvalidInput("Invalid parameter: FailureThreshold must be between 1 and 10")
    https = kind.startswith("HTTPS")
    out.setdefault("Port", 443 if https else 80)
    if kind != "TCP":
        out.setdefault("ResourcePath", "/")
    if https:
        out.setdefault("EnableSNI", True)
    out.setdefault("MeasureLatency", False)
    out.setdefault("Inverted", False)
    out.setdefault("Disabled", False)
    # Route 53 refuses private and loopback addresses; miniaws must accept them, everything it checks is local
    return out


def updated(current: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The config after an UpdateHealthCheck (Type, RequestInterval and MeasureLatency cannot change)."""
    config = dict(current)
    for element in params.get("ResetElements") or ():
        if element not in RESETTABLE:
            raise InvalidInput(f"Invalid parameter: ResetElements contains {element!r}")
        config.pop(element, None)
    for name in _EDITABLE:
        if params.get(name) is not None:
            config[name] = params[name]
    return normalize(config)


def probe_spec(config: dict[str, Any]) -> ProbeSpec | None:
    """What the checker probes for this config; None when nothing is probed (CALCULATED, Disabled)."""
    kind = config["Type"]
    if kind == "CALCULATED" or config.get("Disabled"):
        return None
    fqdn = config.get("FullyQualifiedDomainName")
    address = config.get("IPAddress") or fqdn
    threshold = int(config["FailureThreshold"])
    search = config.get("SearchString")
    return ProbeSpec(
        protocol="TCP" if kind == "TCP" else ("HTTPS" if kind.startswith("HTTPS") else "HTTP"),
        host=str(address), port=int(config["Port"]), path=str(config.get("ResourcePath") or "/"),
        # with both, Route 53 connects to IPAddress and sends FullyQualifiedDomainName as the Host header
        host_header=fqdn or None,
        search=search.encode("utf-8") if kind.endswith("_STR_MATCH") and search else None,
        interval=float(config["RequestInterval"]),
        # a checker must connect within 4 s (and get the status within 2 s more); we allow the 4 s overall
        timeout=4.0, failure_threshold=threshold, healthy_threshold=threshold)


class HealthMonitor:
    """Route 53's view of health: the checker's raw status with Disabled/Inverted/CALCULATED applied."""

    def __init__(self, store: Route53Store, checker: HealthChecker) -> None:
        self.store = store
        self.checker = checker
        #: moves whenever any check's status may have changed (the DNS cache compares it)
        self.generation = 0
        self._listeners: list[Callable[[], None]] = []
        checker.subscribe(self._flipped)

    def on_change(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def _flipped(self, key: str, healthy: bool) -> None:
        if key.startswith("route53:"):
            self._bump()

    def _bump(self) -> None:
        self.generation += 1
        for callback in self._listeners:
            callback()

    # -- keeping the checker in step with the store -------------------------------------------------
    def sync(self, check: HealthCheck) -> None:
        spec = probe_spec(check.config)
        key = "route53:" + check.id
        if spec is None:
            self.checker.unregister(key)
        else:
            self.checker.register(key, spec)
        self._bump()

    def forget(self, check_id: str) -> None:
        self.checker.unregister("route53:" + check_id)
        self._bump()

    def start(self) -> None:
        for check in self.store.health_checks.values():
            self.sync(check)

    def stop(self) -> None:
        for check_id in self.store.health_checks:
            self.checker.unregister("route53:" + check_id)

    # -- status -------------------------------------------------------------------------------------
    def healthy(self, check_id: str, _depth: int = 0) -> bool:
        """Route 53 treats a missing (deleted) check as healthy; Disabled checks are always healthy."""
        check = self.store.health_checks.get(check_id)
        if check is None or _depth > 8:
            return True
        config = check.config
        if config.get("Disabled"):
            return True
        if config["Type"] == "CALCULATED":
            children = config.get("ChildHealthChecks") or []
            up = sum(1 for child in children if self.healthy(child, _depth + 1))
            raw = up >= int(config.get("HealthThreshold", 0))
        else:
            raw = self.checker.is_healthy("route53:" + check_id)
        return raw != bool(config.get("Inverted"))

    def observations(self, check: HealthCheck, failures_only: bool = False) -> list[dict[str, Any]]:
        """GetHealthCheckStatus / GetHealthCheckLastFailureReason: one observation per checker region."""
        status = self.checker.status("route53:" + check.id)
        result: ProbeResult | None
        if check.config["Type"] == "CALCULATED" or status is None:
            healthy = self.healthy(check.id)
            text = "Success: the health check is healthy" if healthy else "Failure: the health check is unhealthy"
            if failures_only:
                return []
            report = {"Status": text, "CheckedTime": check.created}
            return [{"Region": r, "IPAddress": CHECKER_IP, "StatusReport": report}
                    for r in check.config.get("Regions") or DEFAULT_REGIONS]
        result = status.last_failure if failures_only else status.last
        if result is None:
            if failures_only:
                return []
            report = {"Status": "Unknown: the first check has not completed", "CheckedTime": check.created}
        else:
            prefix = "Success" if result.ok else "Failure"
            report = {"Status": f"{prefix}: {result.detail}", "CheckedTime": result.checked_at}
        return [{"Region": r, "IPAddress": CHECKER_IP, "StatusReport": report}
                for r in check.config.get("Regions") or DEFAULT_REGIONS]
