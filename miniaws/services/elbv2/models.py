"""ELBv2's state: load balancers, listeners, rules, target groups with their registered targets, and tags.

Synchronous and free of I/O and wire formats beyond the wire-shaped condition/action dicts rules keep (already
validated and normalized, as Describe* shows them). Every mutation is journaled; `generation` moves on every change
so the data plane knows when its compiled routing tables are stale, and `on_change` callbacks hear about it.
Draining targets are not state: a deregistered target is gone from the store at once (the data plane drains it).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from miniaws.state.journal import Journal

NS_LB = "elbv2.lb"
NS_LISTENER = "elbv2.listener"
NS_RULE = "elbv2.rule"
NS_TG = "elbv2.tg"
NS_TARGET = "elbv2.target"
NS_TAGS = "elbv2.tags"

TargetKey = tuple[str, int | None]  # (target id, port; None for lambda targets)


@dataclass(slots=True, eq=False)
class LoadBalancer:
    arn: str
    name: str
    account: str
    region: str
    dns_name: str
    scheme: str
    ip_address_type: str
    subnets: list[str]
    security_groups: list[str]
    created: float
    attributes: dict[str, str]
    vpc_id: str
    type: str = "application"
    #: (certificate PEM, key PEM) of the self-signed certificate HTTPS listeners present, made on first use
    tls: tuple[str, str] | None = None

    @property
    def id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    @property
    def arn_suffix(self) -> str:
        """`app/<name>/<id>`: the part listener and rule ARNs repeat."""
        return self.arn.split(":loadbalancer/", 1)[1]


@dataclass(slots=True, eq=False)
class Listener:
    arn: str
    lb_arn: str
    port: int
    protocol: str
    default_actions: list[dict[str, Any]]
    #: the listener's default rule, which DescribeRules lists with Priority "default"
    default_rule_arn: str
    certificates: list[dict[str, Any]] = field(default_factory=list)
    ssl_policy: str | None = None
    alpn_policy: list[str] | None = None


@dataclass(slots=True, eq=False)
class Rule:
    arn: str
    listener_arn: str
    priority: int
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]


@dataclass(slots=True, eq=False)
class Target:
    id: str
    port: int | None
    availability_zone: str | None
    registered: float

    @property
    def key(self) -> TargetKey:
        return (self.id, self.port)


@dataclass(slots=True, eq=False)
class TargetGroup:
    arn: str
    name: str
    account: str
    region: str
    target_type: str
    protocol: str | None
    protocol_version: str | None
    port: int | None
    vpc_id: str | None
    ip_address_type: str | None
    #: the HealthCheck* members and Matcher, as DescribeTargetGroups shows them
    health: dict[str, Any]
    attributes: dict[str, str]
    targets: dict[TargetKey, Target] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    @property
    def arn_suffix(self) -> str:
        return self.arn.split(":", 5)[5]


def _record(obj: Any, skip: tuple[str, ...] = ()) -> bytes:
    data = asdict(obj)
    for name in skip:
        data.pop(name, None)
    return orjson.dumps(data)


class ElbStore:
    """Every account's and region's ELBv2 resources, keyed by ARN (ARNs carry the account and region)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.load_balancers: dict[str, LoadBalancer] = {}
        self.listeners: dict[str, Listener] = {}
        self.rules: dict[str, Rule] = {}
        self.target_groups: dict[str, TargetGroup] = {}
        self.tags: dict[str, dict[str, str]] = {}
        #: moves on every change (the data plane's compiled tables compare it)
        self.generation = 0
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def changed(self) -> None:
        self.generation += 1
        for callback in list(self._listeners):
            callback()

    # -- queries --------------------------------------------------------------------------------------
    def listeners_of(self, lb_arn: str) -> list[Listener]:
        return sorted((li for li in self.listeners.values() if li.lb_arn == lb_arn), key=lambda li: li.port)

    def rules_of(self, listener_arn: str) -> list[Rule]:
        return sorted((r for r in self.rules.values() if r.listener_arn == listener_arn), key=lambda r: r.priority)

    def actions_using(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """(load balancer ARN, actions) for every listener default action list and rule."""
        for listener in self.listeners.values():
            yield listener.lb_arn, listener.default_actions
        for rule in self.rules.values():
            owner = self.listeners.get(rule.listener_arn)
            if owner is not None:
                yield owner.lb_arn, rule.actions

    def load_balancers_of(self, tg_arn: str) -> list[str]:
        """ARNs of the load balancers whose listeners or rules forward to the target group."""
        found: list[str] = []
        for lb_arn, actions in self.actions_using():
            if lb_arn not in found and tg_arn in target_groups_in(actions):
                found.append(lb_arn)
        return found

    # -- load balancers -------------------------------------------------------------------------------
    def put_load_balancer(self, lb: LoadBalancer) -> None:
        self.load_balancers[lb.arn] = lb
        self.journal.put(NS_LB, lb.arn, _record(lb))
        self.changed()

    def remove_load_balancer(self, lb: LoadBalancer) -> None:
        for listener in self.listeners_of(lb.arn):
            self._drop_listener(listener)
        del self.load_balancers[lb.arn]
        self.journal.delete(NS_LB, lb.arn)
        self._drop_tags(lb.arn)
        self.changed()

    # -- listeners and rules --------------------------------------------------------------------------
    def put_listener(self, listener: Listener) -> None:
        self.listeners[listener.arn] = listener
        self.journal.put(NS_LISTENER, listener.arn, _record(listener))
        self.changed()

    def remove_listener(self, listener: Listener) -> None:
        self._drop_listener(listener)
        self.changed()

    def _drop_listener(self, listener: Listener) -> None:
        for rule in self.rules_of(listener.arn):
            self._drop_rule(rule)
        del self.listeners[listener.arn]
        self.journal.delete(NS_LISTENER, listener.arn)
        self._drop_tags(listener.arn)
        self._drop_tags(listener.default_rule_arn)

    def put_rules(self, *rules: Rule) -> None:
        for rule in rules:
            self.rules[rule.arn] = rule
            self.journal.put(NS_RULE, rule.arn, _record(rule))
        self.changed()

    def remove_rule(self, rule: Rule) -> None:
        self._drop_rule(rule)
        self.changed()

    def _drop_rule(self, rule: Rule) -> None:
        del self.rules[rule.arn]
        self.journal.delete(NS_RULE, rule.arn)
        self._drop_tags(rule.arn)

    # -- target groups and targets --------------------------------------------------------------------
    def put_target_group(self, tg: TargetGroup) -> None:
        self.target_groups[tg.arn] = tg
        self.journal.put(NS_TG, tg.arn, _record(tg, skip=("targets",)))
        self.changed()

    def remove_target_group(self, tg: TargetGroup) -> None:
        for target in list(tg.targets.values()):
            self.journal.delete(NS_TARGET, _target_key(tg, target))
        del self.target_groups[tg.arn]
        self.journal.delete(NS_TG, tg.arn)
        self._drop_tags(tg.arn)
        self.changed()

    def add_targets(self, tg: TargetGroup, targets: list[Target]) -> None:
        for target in targets:
            tg.targets[target.key] = target
            self.journal.put(NS_TARGET, _target_key(tg, target), _record(target))
        self.changed()

    def remove_targets(self, tg: TargetGroup, targets: list[Target]) -> None:
        for target in targets:
            tg.targets.pop(target.key, None)
            self.journal.delete(NS_TARGET, _target_key(tg, target))
        self.changed()

    # -- tags -----------------------------------------------------------------------------------------
    def set_tags(self, arn: str, tags: dict[str, str]) -> None:
        if tags:
            self.tags[arn] = tags
            self.journal.put(NS_TAGS, arn, orjson.dumps(tags))
        else:
            self._drop_tags(arn)

    def _drop_tags(self, arn: str) -> None:
        if self.tags.pop(arn, None) is not None:
            self.journal.delete(NS_TAGS, arn)

    # -- persistence ----------------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        for _, value in rows.get(NS_LB, ()):
            data = orjson.loads(value)
            if data.get("tls") is not None:
                data["tls"] = tuple(data["tls"])
            lb = LoadBalancer(**data)
            self.load_balancers[lb.arn] = lb
        for _, value in rows.get(NS_LISTENER, ()):
            listener = Listener(**orjson.loads(value))
            self.listeners[listener.arn] = listener
        for _, value in rows.get(NS_RULE, ()):
            rule = Rule(**orjson.loads(value))
            self.rules[rule.arn] = rule
        for _, value in rows.get(NS_TG, ()):
            tg = TargetGroup(**orjson.loads(value))
            self.target_groups[tg.arn] = tg
        for key, value in rows.get(NS_TARGET, ()):
            owner = self.target_groups.get(key.split("|", 1)[0])
            if owner is not None:
                target = Target(**orjson.loads(value))
                owner.targets[target.key] = target
        for key, value in rows.get(NS_TAGS, ()):
            self.tags[key] = orjson.loads(value)
        self.changed()

    def reset(self) -> None:
        self.load_balancers.clear()
        self.listeners.clear()
        self.rules.clear()
        self.target_groups.clear()
        self.tags.clear()
        self.changed()


def target_groups_in(actions: list[dict[str, Any]]) -> list[str]:
    """Target group ARNs a (normalized) action list forwards to."""
    arns: list[str] = []
    for action in actions:
        if action.get("Type") == "forward":
            for entry in (action.get("ForwardConfig") or {}).get("TargetGroups") or ():
                if entry["TargetGroupArn"] not in arns:
                    arns.append(entry["TargetGroupArn"])
    return arns


def _target_key(tg: TargetGroup, target: Target) -> str:
    return f"{tg.arn}|{target.id}|{target.port if target.port is not None else ''}"
