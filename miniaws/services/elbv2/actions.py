"""Listener and rule actions: validated like AWS and normalized to the form Describe* shows.

https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_Action.html and the ForwardActionConfig,
RedirectActionConfig and FixedResponseActionConfig pages. A forward to one group shows both `TargetGroupArn` and a
`ForwardConfig` with weight 1; redirect components default to the `#{...}` placeholders. Authentication actions
(OIDC, Cognito, JWT) need identity providers miniaws does not have: they are refused when the action is created.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from miniaws.services.elbv2.errors import InvalidLoadBalancerAction, TooManyActions, ValidationError

TYPES = ("forward", "redirect", "fixed-response", "authenticate-oidc", "authenticate-cognito", "jwt-validation")
_UNSUPPORTED = ("authenticate-oidc", "authenticate-cognito", "jwt-validation")
MAX_TARGET_GROUPS_PER_ACTION = 5
MAX_WEIGHT = 999
MAX_STICKINESS_SECONDS = 604800
MAX_MESSAGE_BODY = 1024
CONTENT_TYPES = ("text/plain", "text/css", "text/html", "application/javascript", "application/json")
REDIRECT_DEFAULTS = {"Protocol": "#{protocol}", "Port": "#{port}", "Host": "#{host}", "Path": "/#{path}",
                     "Query": "#{query}"}
_STATUS = re.compile(r"^[245]\d\d$")

LookupGroup = Callable[[str], Any]


def normalize(actions: Any, lookup_group: LookupGroup) -> list[dict[str, Any]]:
    """The actions of a listener or rule, checked and in Describe form. `lookup_group(arn)` raises
    TargetGroupNotFound for an unknown target group."""
    raw_actions = [dict(a) for a in actions or ()]
    if not raw_actions:
        raise ValidationError("At least one action must be specified")
    orders: list[int] = []
    for index, raw in enumerate(raw_actions):
        order = raw.get("Order")
        if order is not None and not 1 <= int(order) <= 50000:
            raise ValidationError(f"Action order '{order}' must be between 1 and 50000")
        orders.append(int(order) if order is not None else index + 1)
    if len(set(orders)) != len(orders):
        raise ValidationError("The action orders must be unique")
    ranked = sorted(zip(orders, raw_actions), key=lambda pair: pair[0])
    for _, raw in ranked:
        kind = raw.get("Type")
        if kind not in TYPES:
            raise ValidationError(f"Action type '{kind}' must be one of [{', '.join(TYPES)}]")
        if kind in _UNSUPPORTED:
            raise InvalidLoadBalancerAction(f"Action type '{kind}' is not supported by miniaws: it has no identity "
                                            "provider to authenticate against")
    if len(ranked) > 1:
        # with authentication refused, a list holds exactly one forward, redirect or fixed-response action
        raise TooManyActions("You can specify only one forward, redirect or fixed-response action")
    out = []
    for order, raw in ranked:
        kind = raw["Type"]
        if kind == "forward":
            action = _forward(raw, lookup_group)
        elif kind == "redirect":
            action = {"Type": kind, "RedirectConfig": _redirect(raw.get("RedirectConfig"))}
        else:
            action = {"Type": kind, "FixedResponseConfig": _fixed(raw.get("FixedResponseConfig"))}
        action["Order"] = order
        out.append(action)
    return out


def _forward(raw: dict[str, Any], lookup_group: LookupGroup) -> dict[str, Any]:
    single = raw.get("TargetGroupArn")
    config = raw.get("ForwardConfig") or {}
    groups = list(config.get("TargetGroups") or ())
    if single and groups:
        if len(groups) != 1 or groups[0].get("TargetGroupArn") != single:
            raise InvalidLoadBalancerAction("You cannot specify both a target group ARN and a forward config with "
                                            "different target groups")
    if not single and not groups:
        raise ValidationError("A forward action needs a target group ARN or a forward config with target groups")
    if not groups:
        groups = [{"TargetGroupArn": single}]
    if len(groups) > MAX_TARGET_GROUPS_PER_ACTION:
        raise InvalidLoadBalancerAction(f"A forward action can have at most {MAX_TARGET_GROUPS_PER_ACTION} target "
                                        "groups")
    entries: list[dict[str, Any]] = []
    for group in groups:
        arn = str(group.get("TargetGroupArn") or "")
        lookup_group(arn)
        if any(e["TargetGroupArn"] == arn for e in entries):
            raise InvalidLoadBalancerAction(f"Target group '{arn}' is specified more than once")
        weight = group.get("Weight")
        weight = 1 if weight is None else int(weight)
        if not 0 <= weight <= MAX_WEIGHT:
            raise ValidationError(f"Target group weight '{weight}' must be between 0 and {MAX_WEIGHT}")
        entries.append({"TargetGroupArn": arn, "Weight": weight})
    sticky_raw = config.get("TargetGroupStickinessConfig") or {}
    stickiness: dict[str, Any] = {"Enabled": bool(sticky_raw.get("Enabled"))}
    if stickiness["Enabled"]:
        duration = sticky_raw.get("DurationSeconds")
        if duration is None or not 1 <= int(duration) <= MAX_STICKINESS_SECONDS:
            raise ValidationError(f"Target group stickiness duration must be between 1 and {MAX_STICKINESS_SECONDS} "
                                  "seconds")
        stickiness["DurationSeconds"] = int(duration)
    action: dict[str, Any] = {"Type": "forward"}
    if len(entries) == 1:
        action["TargetGroupArn"] = entries[0]["TargetGroupArn"]
    action["ForwardConfig"] = {"TargetGroups": entries, "TargetGroupStickinessConfig": stickiness}
    return action


def _redirect(raw: Any) -> dict[str, Any]:
    if not raw:
        raise ValidationError("A redirect action needs a redirect config")
    config = {key: str(raw[key]) if raw.get(key) is not None else default
              for key, default in REDIRECT_DEFAULTS.items()}
    status = raw.get("StatusCode")
    if status not in ("HTTP_301", "HTTP_302"):
        raise ValidationError(f"Redirect status code '{status}' must be one of [HTTP_301, HTTP_302]")
    protocol = config["Protocol"]
    if protocol not in ("HTTP", "HTTPS", "#{protocol}"):
        raise ValidationError(f"Redirect protocol '{protocol}' must be one of [HTTP, HTTPS, #{{protocol}}]")
    port = config["Port"]
    if port != "#{port}" and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise ValidationError(f"Redirect port '{port}' must be a port number or #{{port}}")
    if not config["Path"].startswith("/"):
        raise ValidationError("The redirect path must start with a '/'")
    if config["Query"].startswith("?"):
        raise ValidationError("The redirect query must not start with a '?'")
    for key in ("Host", "Path", "Query"):
        if len(config[key]) > 128:
            raise ValidationError(f"The redirect {key.lower()} can be at most 128 characters")
    if all(config[k] == REDIRECT_DEFAULTS[k] for k in ("Protocol", "Port", "Host", "Path")):
        # an unchanged URL would redirect to itself forever
        raise InvalidLoadBalancerAction("The redirect must change at least one of protocol, port, host or path")
    config["StatusCode"] = status
    return config


def _fixed(raw: Any) -> dict[str, Any]:
    if not raw:
        raise ValidationError("A fixed-response action needs a fixed-response config")
    status = str(raw.get("StatusCode") or "")
    if not _STATUS.match(status):
        raise ValidationError(f"Fixed response status code '{status}' must be a 2XX, 4XX or 5XX code")
    config: dict[str, Any] = {"StatusCode": status}
    content_type = raw.get("ContentType")
    if content_type is not None:
        if content_type not in CONTENT_TYPES:
            raise ValidationError(f"Fixed response content type '{content_type}' must be one of "
                                  f"[{', '.join(CONTENT_TYPES)}]")
        config["ContentType"] = content_type
    body = raw.get("MessageBody")
    if body is not None:
        if len(body) > MAX_MESSAGE_BODY:
            raise ValidationError(f"Fixed response message body can be at most {MAX_MESSAGE_BODY} characters")
        config["MessageBody"] = body
    return config
