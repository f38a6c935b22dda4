"""Rule conditions: validated like AWS and normalized to the form DescribeRules shows.

https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html: at most one each of
host-header, http-request-method, path-pattern and source-ip per rule (any number of http-header and query-string);
up to three match evaluations per condition and five per rule; up to five wildcards per rule; host names and
header values compare case-insensitively, paths and methods case-sensitively; `*` and `?` are the wildcards.
Host and path conditions accept the legacy `Values` member; both forms are shown back, as AWS does.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any

from miniaws.services.elbv2.errors import ValidationError

FIELDS = ("host-header", "path-pattern", "http-header", "query-string", "http-request-method", "source-ip")
_SINGLE = ("host-header", "path-pattern", "http-request-method", "source-ip")
_CONFIG = {"host-header": "HostHeaderConfig", "path-pattern": "PathPatternConfig",
           "http-header": "HttpHeaderConfig", "query-string": "QueryStringConfig",
           "http-request-method": "HttpRequestMethodConfig", "source-ip": "SourceIpConfig"}
MAX_VALUES_PER_CONDITION = 3
MAX_VALUES_PER_RULE = 5
MAX_WILDCARDS_PER_RULE = 5
MAX_VALUE_LENGTH = 128

_HOST = re.compile(r"^[A-Za-z0-9\-.*?]+$")
_HOST_TLD = re.compile(r"\.[A-Za-z*?]+$")
# the characters the path condition allows: letters, digits, _-.$/~"'@:+&, and the wildcards
_PATH = re.compile(r"""^[A-Za-z0-9_\-.$/~"'@:+&*?]+$""")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,40}$")
_METHOD = re.compile(r"^[A-Z_\-]{1,40}$")


def wildcards(text: str) -> int:
    """Unescaped `*` and `?` in a value (a backslash escapes them in query-string values)."""
    count, escaped = 0, False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "*?":
            count += 1
    return count


def _strings(value: Any, what: str) -> list[str]:
    values = [str(v) for v in (value or [])]
    if not values:
        raise ValidationError(f"A {what} condition must have at least one value")
    for text in values:
        if not text:
            raise ValidationError("A condition value cannot be empty")
        if len(text) > MAX_VALUE_LENGTH:
            raise ValidationError(f"Condition value '{text}' exceeds the maximum length of {MAX_VALUE_LENGTH}")
    return values


def _legacy_or_config(raw: dict[str, Any], field: str) -> list[str]:
    legacy = raw.get("Values")
    config = (raw.get(_CONFIG[field]) or {}).get("Values")
    if legacy and config and list(legacy) != list(config):
        raise ValidationError(f"You cannot specify both 'Values' and '{_CONFIG[field]}' with different values")
    return _strings(config or legacy, field)


def normalize(conditions: Any) -> list[dict[str, Any]]:
    """The conditions of a rule, checked and in Describe form; raises ValidationError like AWS."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    evaluations = 0
    stars = 0
    for raw in conditions or ():
        raw = dict(raw)
        field = raw.get("Field")
        if field not in FIELDS:
            raise ValidationError(f"Condition field '{field}' must be one of [{', '.join(FIELDS)}]")
        if raw.get("RegexValues") or any((raw.get(c) or {}).get("RegexValues") for c in _CONFIG.values()):
            raise ValidationError("Regular expression conditions (RegexValues) are not supported by miniaws")
        if field in _SINGLE and field in seen:
            raise ValidationError(f"A rule can only have one '{field}' condition")
        seen.add(field)
        condition: dict[str, Any] = {"Field": field}
        if field in ("host-header", "path-pattern"):
            values = _legacy_or_config(raw, field)
            for value in values:
                if field == "host-header" and (not _HOST.match(value) or "." not in value
                                               or not _HOST_TLD.search(value)):
                    raise ValidationError(f"Condition value '{value}' is not a valid host name")
                if field == "path-pattern" and not _PATH.match(value):
                    raise ValidationError(f"Condition value '{value}' contains a character that is not valid")
                stars += wildcards(value)
            condition["Values"] = values
            condition[_CONFIG[field]] = {"Values": values}
            count = len(values)
        elif field == "http-header":
            config = raw.get("HttpHeaderConfig") or {}
            name = str(config.get("HttpHeaderName") or "")
            if not _HEADER_NAME.match(name):
                raise ValidationError(f"HTTP header name '{name}' is not valid")
            if name.lower() == "host":
                raise ValidationError("Use a 'host-header' condition to match the Host header")
            values = _strings(config.get("Values"), field)
            stars += sum(wildcards(v) for v in values)
            condition["HttpHeaderConfig"] = {"HttpHeaderName": name, "Values": values}
            count = len(values)
        elif field == "query-string":
            pairs = []
            for pair in (raw.get("QueryStringConfig") or {}).get("Values") or ():
                key, value = pair.get("Key"), pair.get("Value")
                if not value:
                    raise ValidationError("A query string condition value cannot be empty")
                for text in (key, value):
                    if text is not None and len(str(text)) > MAX_VALUE_LENGTH:
                        raise ValidationError(f"Condition value '{text}' exceeds the maximum length of "
                                              f"{MAX_VALUE_LENGTH}")
                stars += wildcards(str(value)) + wildcards(str(key or ""))
                pairs.append({"Key": str(key), "Value": str(value)} if key is not None else {"Value": str(value)})
            if not pairs:
                raise ValidationError("A query-string condition must have at least one value")
            condition["QueryStringConfig"] = {"Values": pairs}
            count = len(pairs)
        elif field == "http-request-method":
            values = _strings((raw.get("HttpRequestMethodConfig") or {}).get("Values"), field)
            for value in values:
                if not _METHOD.match(value):
                    raise ValidationError(f"HTTP request method '{value}' is not valid: use upper-case letters, "
                                          "underscores and hyphens")
            condition["HttpRequestMethodConfig"] = {"Values": values}
            count = len(values)
        else:
            values = _strings((raw.get("SourceIpConfig") or {}).get("Values"), field)
            for value in values:
                try:
                    if "/" not in value:
                        raise ValueError(value)
                    ipaddress.ip_network(value, strict=False)
                except ValueError:
                    raise ValidationError(f"Source IP '{value}' is not a valid CIDR block") from None
            condition["SourceIpConfig"] = {"Values": values}
            count = len(values)
        if count > MAX_VALUES_PER_CONDITION:
            raise ValidationError(f"A '{field}' condition can have at most {MAX_VALUES_PER_CONDITION} values")
        evaluations += count
        out.append(condition)
    if not out:
        raise ValidationError("A rule must have at least one condition")
    if evaluations > MAX_VALUES_PER_RULE:
        raise ValidationError(f"A rule can have at most {MAX_VALUES_PER_RULE} condition values")
    if stars > MAX_WILDCARDS_PER_RULE:
        raise ValidationError(f"A rule can have at most {MAX_WILDCARDS_PER_RULE} wildcards")
    return out
