"""Input checks shared by the ELBv2 operations: resource names, ports, health check settings and tags.

Limits and defaults are from https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/
API_CreateTargetGroup.html and API_CreateLoadBalancer.html.
"""
from __future__ import annotations

import re
from typing import Any

from miniaws.services.elbv2.errors import DuplicateTagKeys, TooManyTags, ValidationError

_NAME = re.compile(r"^[A-Za-z0-9-]+$")
_CODES = re.compile(r"^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$")
MAX_NAME = 32
MAX_TAGS = 50
#: health check defaults for instance/ip target groups, and for lambda target groups
_HEALTH_DEFAULTS = {"HealthCheckPath": "/", "HealthCheckIntervalSeconds": 30, "HealthCheckTimeoutSeconds": 5,
                    "HealthyThresholdCount": 5, "UnhealthyThresholdCount": 2, "Matcher": {"HttpCode": "200"}}
_LAMBDA_HEALTH_DEFAULTS = {**_HEALTH_DEFAULTS, "HealthCheckIntervalSeconds": 35, "HealthCheckTimeoutSeconds": 30}
HEALTH_KEYS = ("HealthCheckProtocol", "HealthCheckPort", "HealthCheckEnabled", "HealthCheckPath",
               "HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds", "HealthyThresholdCount",
               "UnhealthyThresholdCount", "Matcher")


def load_balancer_name(name: Any) -> str:
    text = str(name or "")
    if not text:
        raise ValidationError("A load balancer name must be specified")
    if len(text) > MAX_NAME:
        raise ValidationError(f"Load balancer name cannot be longer than {MAX_NAME} characters")
    if not _NAME.match(text):
        raise ValidationError(f"Load balancer name '{text}' can only contain characters that are alphanumeric "
                              "characters or hyphens(-)")
    if text.startswith("-") or text.endswith("-"):
        raise ValidationError(f"Load balancer name '{text}' cannot begin or end with '-'")
    if text.lower().startswith("internal-"):
        raise ValidationError(f"Load balancer name '{text}' cannot begin with 'internal-'")
    return text


def target_group_name(name: Any) -> str:
    text = str(name or "")
    if not text:
        raise ValidationError("A target group name must be specified")
    if len(text) > MAX_NAME:
        raise ValidationError(f"Target group name cannot be longer than '{MAX_NAME}' characters")
    if not _NAME.match(text):
        raise ValidationError(f"Target group name '{text}' can only contain characters that are alphanumeric "
                              "characters or hyphens(-)")
    if text.startswith("-") or text.endswith("-"):
        raise ValidationError(f"Target group name '{text}' cannot begin or end with '-'")
    return text


def port(value: Any, what: str = "Port") -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{what} must be specified") from None
    if not 1 <= number <= 65535:
        raise ValidationError(f"{what} '{number}' must be between 1 and 65535")
    return number


def parse_codes(text: str) -> tuple[tuple[int, int], ...]:
    """`200`, `200,202` or `200-299` (a Matcher's HttpCode) → inclusive ranges."""
    ranges = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        ranges.append((int(low), int(high or low)))
    return tuple(ranges)


def _in_range(params: dict[str, Any], key: str, low: int, high: int) -> int:
    value = int(params[key])
    if not low <= value <= high:
        raise ValidationError(f"{key} '{value}' must be between {low} and {high}")
    return value


def health_check(target_type: str, protocol: str | None, params: dict[str, Any],
                 current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The HealthCheck* settings and Matcher of a target group after Create (current None) or Modify."""
    lam = target_type == "lambda"
    if current is None:
        settings: dict[str, Any] = dict(_LAMBDA_HEALTH_DEFAULTS if lam else _HEALTH_DEFAULTS)
        settings["HealthCheckEnabled"] = not lam
        if not lam:
            # the console and SDK examples show the target group's protocol as the default
            settings["HealthCheckProtocol"] = protocol if protocol in ("HTTP", "HTTPS") else "HTTP"
            settings["HealthCheckPort"] = "traffic-port"
    else:
        settings = dict(current)
    for key in HEALTH_KEYS:
        if params.get(key) is not None:
            settings[key] = params[key]
    if not lam and settings.get("HealthCheckEnabled") is False:
        raise ValidationError(f"Health checks cannot be disabled for target groups with target type '{target_type}'")
    hc_protocol = settings.get("HealthCheckProtocol")
    if hc_protocol is not None and hc_protocol not in ("HTTP", "HTTPS"):
        raise ValidationError(f"Health check protocol '{hc_protocol}' is not supported for an Application Load "
                              "Balancer target group: use HTTP or HTTPS")
    hc_port = settings.get("HealthCheckPort")
    if hc_port is not None and hc_port != "traffic-port":
        settings["HealthCheckPort"] = str(port(hc_port, "Health check port"))
    path = str(settings.get("HealthCheckPath") or "/")
    if not path.startswith("/") or len(path) > 1024:
        raise ValidationError("Health check path must begin with a '/' character and be at most 1024 characters")
    settings["HealthCheckPath"] = path
    interval = _in_range(settings, "HealthCheckIntervalSeconds", 5, 300)
    timeout = _in_range(settings, "HealthCheckTimeoutSeconds", 2, 120)
    _in_range(settings, "HealthyThresholdCount", 2, 10)
    _in_range(settings, "UnhealthyThresholdCount", 2, 10)
    if timeout >= interval:
        raise ValidationError("Health check interval must be greater than the timeout.")
    matcher = dict(settings.get("Matcher") or {})
    code = str(matcher.get("HttpCode") or "200")
    if not _CODES.match(code) or any(not 200 <= low <= high <= 499 for low, high in parse_codes(code)):
        raise ValidationError(f"Health check matcher HTTP code '{code}' must be a value, list or range of codes "
                              "between 200 and 499")
    settings["Matcher"] = {"HttpCode": code}
    return settings


def tags(value: Any) -> dict[str, str]:
    """Tags of a create or AddTags call (keys must be unique within the call)."""
    out: dict[str, str] = {}
    for tag in value or ():
        key = str(tag.get("Key") or "")
        if not key or len(key) > 128 or key.startswith("aws:"):
            raise ValidationError(f"Tag key '{key}' is not valid")
        if len(str(tag.get("Value") or "")) > 256:
            raise ValidationError(f"Tag value for key '{key}' cannot be longer than 256 characters")
        if key in out:
            raise DuplicateTagKeys(f"Tag key '{key}' is duplicated")
        out[key] = str(tag.get("Value") or "")
    if len(out) > MAX_TAGS:
        raise TooManyTags()
    return out
