"""Load balancer and target group attributes: AWS's keys, defaults and allowed values.

https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_LoadBalancerAttribute.html and
https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetGroupAttribute.html (the keys an
Application Load Balancer accepts). Every key is stored and shown; the data plane (dataplane/lb) acts on
idle_timeout.timeout_seconds (client and target connections), routing.http.desync_mitigation_mode,
routing.http.drop_invalid_header_fields.enabled, routing.http.preserve_host_header.enabled,
routing.http.x_amzn_tls_version_and_cipher_suite.enabled, the routing.http.xff_* keys, and every target group key
below.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from miniaws.services.elbv2.errors import InvalidConfigurationRequest, ValidationError

Check = Callable[[str], bool]


def _bool(value: str) -> bool:
    return value in ("true", "false")


def _int_range(low: int, high: int, *extra: int) -> Check:
    def check(value: str) -> bool:
        try:
            number = int(value)
        except ValueError:
            return False
        return low <= number <= high or number in extra

    return check


def _one_of(*choices: str) -> Check:
    return lambda value: value in choices


def _any(value: str) -> bool:
    return len(value) <= 1024


#: key → (default, check); the order is the order DescribeLoadBalancerAttributes lists them in
LOAD_BALANCER: dict[str, tuple[str, Check]] = {
    "access_logs.s3.enabled": ("false", _bool),
    "access_logs.s3.bucket": ("", _any),
    "access_logs.s3.prefix": ("", _any),
    "client_keep_alive.seconds": ("3600", _int_range(60, 604800)),
    "connection_logs.s3.enabled": ("false", _bool),
    "connection_logs.s3.bucket": ("", _any),
    "connection_logs.s3.prefix": ("", _any),
    "deletion_protection.enabled": ("false", _bool),
    "idle_timeout.timeout_seconds": ("60", _int_range(1, 4000)),
    "load_balancing.cross_zone.enabled": ("true", _one_of("true")),
    "routing.http.desync_mitigation_mode": ("defensive", _one_of("monitor", "defensive", "strictest")),
    "routing.http.drop_invalid_header_fields.enabled": ("false", _bool),
    "routing.http.preserve_host_header.enabled": ("false", _bool),
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": ("false", _bool),
    "routing.http.xff_client_port.enabled": ("false", _bool),
    "routing.http.xff_header_processing.mode": ("append", _one_of("append", "preserve", "remove")),
    "routing.http2.enabled": ("true", _bool),
    "waf.fail_open.enabled": ("false", _bool),
    "zonal_shift.config.enabled": ("false", _bool),
}

#: attributes of target groups whose targets are instances or IP addresses
TARGET_GROUP: dict[str, tuple[str, Check]] = {
    "deregistration_delay.timeout_seconds": ("300", _int_range(0, 3600)),
    "load_balancing.algorithm.type": ("round_robin",
                                      _one_of("round_robin", "least_outstanding_requests", "weighted_random")),
    "load_balancing.algorithm.anomaly_mitigation": ("off", _one_of("on", "off")),
    "load_balancing.cross_zone.enabled": ("use_load_balancer_configuration",
                                          _one_of("true", "false", "use_load_balancer_configuration")),
    # 0 disables slow start; otherwise 30-900 seconds
    "slow_start.duration_seconds": ("0", _int_range(30, 900, 0)),
    "stickiness.enabled": ("false", _bool),
    "stickiness.type": ("lb_cookie", _one_of("lb_cookie", "app_cookie")),
    "stickiness.lb_cookie.duration_seconds": ("86400", _int_range(1, 604800)),
    "stickiness.app_cookie.cookie_name": ("", _any),
    "stickiness.app_cookie.duration_seconds": ("86400", _int_range(1, 604800)),
    "target_group_health.dns_failover.minimum_healthy_targets.count": ("1", _int_range(1, 1 << 31)),
    "target_group_health.dns_failover.minimum_healthy_targets.percentage": ("off", lambda v: v == "off" or
                                                                            _int_range(1, 100)(v)),
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count": ("1", _int_range(1, 1 << 31)),
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": (
        "off", lambda v: v == "off" or _int_range(1, 100)(v)),
}

#: attributes of target groups whose target is a Lambda function
LAMBDA_TARGET_GROUP: dict[str, tuple[str, Check]] = {
    "lambda.multi_value_headers.enabled": ("false", _bool),
}

#: app_cookie names ALB reserves (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/
#: sticky-sessions.html#application-based-stickiness)
_RESERVED_COOKIE_PREFIXES = ("AWSALB", "AWSALBAPP", "AWSALBTG")


def defaults(table: dict[str, tuple[str, Check]]) -> dict[str, str]:
    return {key: default for key, (default, _) in table.items()}


def apply(current: dict[str, str], changes: Any, table: dict[str, tuple[str, Check]], kind: str) -> dict[str, str]:
    """The attributes after a Modify*Attributes call; every change is checked before any is applied."""
    result = dict(current)
    for entry in changes or ():
        key, value = str(entry.get("Key") or ""), str(entry.get("Value") if entry.get("Value") is not None else "")
        spec = table.get(key)
        if spec is None:
            raise ValidationError(f"{kind} attribute key '{key}' is not recognized")
        if not spec[1](value):
            raise InvalidConfigurationRequest(f"{kind} attribute '{key}' value '{value}' is not valid")
        result[key] = value
    if result.get("stickiness.enabled") == "true" and result.get("stickiness.type") == "app_cookie":
        name = result.get("stickiness.app_cookie.cookie_name", "")
        if not name:
            raise InvalidConfigurationRequest("Application cookie name must be specified for 'app_cookie' "
                                              "stickiness type")
        if name.upper().startswith(_RESERVED_COOKIE_PREFIXES):
            raise InvalidConfigurationRequest(f"Application cookie name '{name}' is reserved for the load "
                                              "balancer's use")
    return result


def wire(attributes: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in attributes.items()]
