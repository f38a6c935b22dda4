"""What every ELBv2 operation shares: the wiring (store, data plane), ARNs and ids, lookups scoped to the caller's
account and region, pagination, the wire shapes of each resource, and the tag operations."""
from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from miniaws.config import Config
from miniaws.core.clock import Clock
from miniaws.core.context import RequestContext
from miniaws.core.ids import hex_id
from miniaws.dataplane.health import HealthChecker
from miniaws.dataplane.lb.functions import FunctionInvoker
from miniaws.dataplane.lb.plane import LoadBalancerPlane
from miniaws.services.base import Service, operation
from miniaws.services.elbv2 import validation as v
from miniaws.services.elbv2._spec import SPEC
from miniaws.services.elbv2.errors import (ListenerNotFound, LoadBalancerNotFound, RuleNotFound,
                                           TargetGroupNotFound, TooManyTags, ValidationError)
from miniaws.services.elbv2.models import ElbStore, Listener, LoadBalancer, Rule, TargetGroup
from miniaws.state.journal import Journal

T = TypeVar("T")

#: Route 53 hosted zone ids of Application Load Balancers per region, which alias records name
#: (https://docs.aws.amazon.com/general/latest/gr/elb.html)
CANONICAL_ZONES = {
    "us-east-1": "Z35SXDOTRQ7X7K", "us-east-2": "Z3AADJGX6KTTL2", "us-west-1": "Z368ELLRRE2KJ0",
    "us-west-2": "Z1H1FL5HABSF5", "eu-west-1": "Z32O12XQLNTSW2", "eu-west-2": "ZHURV8PSTC4K8",
    "eu-central-1": "Z215JYRZR1TBD5", "ap-southeast-1": "Z1LMS91P8CMLE5", "ap-southeast-2": "Z1GM3OXH4ZPM65",
    "ap-northeast-1": "Z14GRHDCWA56QT",
}
DEFAULT_PAGE = 400
_ZONE_LETTERS = "abcdef"


def canonical_zone(region: str) -> str:
    return CANONICAL_ZONES.get(region, CANONICAL_ZONES["us-east-1"])


def default_vpc(account: str, region: str) -> str:
    """Without EC2 every account and region has one notional default VPC; its id is stable."""
    return "vpc-" + hashlib.sha256(f"{account}/{region}".encode()).hexdigest()[:17]


def paginate(items: Sequence[T], params: dict[str, Any], key: Callable[[T], str]) -> tuple[list[T], str | None]:
    """(page, NextMarker) by PageSize (1-400) and an opaque Marker (the next item's key)."""
    size = params.get("PageSize")
    if size is not None and not 1 <= int(size) <= 400:
        raise ValidationError(f"Page size '{size}' must be between 1 and 400")
    limit = int(size) if size is not None else DEFAULT_PAGE
    start = 0
    marker = params.get("Marker")
    if marker:
        keys = [key(item) for item in items]
        if marker not in keys:
            raise ValidationError(f"Marker '{marker}' is not valid")
        start = keys.index(marker)
    page = list(items[start:start + limit])
    following = key(items[start + limit]) if start + limit < len(items) else None
    return page, following


class ElbV2Base(Service):
    name = "elbv2"
    protocol = "query"
    spec = SPEC

    def __init__(self, config: Config, clock: Clock, journal: Journal, health: HealthChecker,
                 functions: FunctionInvoker | None = None) -> None:
        self.config = config
        self.clock = clock
        self.store = ElbStore(journal)
        self.rng = random.Random()
        #: the listener sockets and everything requests need (the composition root starts it with the service)
        self.plane = LoadBalancerPlane(self.store, health, clock, config.host, config.lb_port_offset, functions,
                                       self.rng)

    # -- lifecycle ------------------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        self.store.restore(rows)

    async def start(self) -> None:
        await self.plane.start()

    async def stop(self) -> None:
        await self.plane.stop()

    def reset(self) -> None:
        self.store.reset()

    # -- ids ------------------------------------------------------------------------------------------
    @staticmethod
    def arn(ctx: RequestContext, resource: str) -> str:
        return f"arn:aws:elasticloadbalancing:{ctx.region}:{ctx.account_id}:{resource}"

    @staticmethod
    def new_id() -> str:
        return hex_id(8)

    def dns_name(self, name: str, scheme: str, region: str) -> str:
        number = self.rng.randrange(100_000_000, 2_000_000_000)
        prefix = "internal-" if scheme == "internal" else ""
        return f"{prefix}{name}-{number}.{region}.elb.localhost".lower()

    # -- lookups (scoped to the caller's account and region) ------------------------------------------
    @staticmethod
    def _mine(ctx: RequestContext, arn: str) -> bool:
        parts = arn.split(":", 5)
        return len(parts) == 6 and parts[3] == ctx.region and parts[4] == ctx.account_id

    def load_balancer(self, ctx: RequestContext, arn: Any) -> LoadBalancer:
        lb = self.store.load_balancers.get(str(arn or ""))
        if lb is None or not self._mine(ctx, lb.arn):
            raise LoadBalancerNotFound(f"Load balancer '{arn}' not found")
        return lb

    def listener(self, ctx: RequestContext, arn: Any) -> Listener:
        listener = self.store.listeners.get(str(arn or ""))
        if listener is None or not self._mine(ctx, listener.arn):
            raise ListenerNotFound(f"Listener '{arn}' not found")
        return listener

    def rule(self, ctx: RequestContext, arn: Any) -> Rule | Listener:
        """A rule, or the listener whose default rule the ARN names."""
        text = str(arn or "")
        rule = self.store.rules.get(text)
        if rule is not None and self._mine(ctx, text):
            return rule
        for listener in self.store.listeners.values():
            if listener.default_rule_arn == text and self._mine(ctx, text):
                return listener
        raise RuleNotFound(f"Rule '{text}' not found")

    def target_group(self, ctx: RequestContext, arn: Any) -> TargetGroup:
        tg = self.store.target_groups.get(str(arn or ""))
        if tg is None or not self._mine(ctx, tg.arn):
            raise TargetGroupNotFound(f"Target group '{arn}' not found")
        return tg

    def lookup_group(self, ctx: RequestContext) -> Callable[[str], TargetGroup]:
        return lambda arn: self.target_group(ctx, arn)

    # -- wire shapes ----------------------------------------------------------------------------------
    def lb_wire(self, lb: LoadBalancer, state: str = "active") -> dict[str, Any]:
        zones = [{"ZoneName": lb.region + _ZONE_LETTERS[i % len(_ZONE_LETTERS)], "SubnetId": subnet,
                  "LoadBalancerAddresses": []} for i, subnet in enumerate(lb.subnets)]
        return {"LoadBalancerArn": lb.arn, "DNSName": lb.dns_name, "CanonicalHostedZoneId": canonical_zone(lb.region),
                "CreatedTime": lb.created, "LoadBalancerName": lb.name, "Scheme": lb.scheme, "VpcId": lb.vpc_id,
                "State": {"Code": state}, "Type": lb.type, "AvailabilityZones": zones,
                "SecurityGroups": list(lb.security_groups), "IpAddressType": lb.ip_address_type}

    @staticmethod
    def listener_wire(listener: Listener) -> dict[str, Any]:
        out: dict[str, Any] = {"ListenerArn": listener.arn, "LoadBalancerArn": listener.lb_arn,
                               "Port": listener.port, "Protocol": listener.protocol,
                               "DefaultActions": listener.default_actions}
        default_certs = [{"CertificateArn": c["CertificateArn"]} for c in listener.certificates if c.get("IsDefault")]
        if default_certs:
            out["Certificates"] = default_certs
        if listener.ssl_policy:
            out["SslPolicy"] = listener.ssl_policy
        if listener.alpn_policy:
            out["AlpnPolicy"] = listener.alpn_policy
        return out

    @staticmethod
    def rule_wire(rule: Rule | Listener) -> dict[str, Any]:
        if isinstance(rule, Listener):
            return {"RuleArn": rule.default_rule_arn, "Priority": "default", "Conditions": [],
                    "Actions": rule.default_actions, "IsDefault": True}
        return {"RuleArn": rule.arn, "Priority": str(rule.priority), "Conditions": rule.conditions,
                "Actions": rule.actions, "IsDefault": False}

    def tg_wire(self, tg: TargetGroup) -> dict[str, Any]:
        out: dict[str, Any] = {"TargetGroupArn": tg.arn, "TargetGroupName": tg.name, "TargetType": tg.target_type,
                               **tg.health, "LoadBalancerArns": self.store.load_balancers_of(tg.arn)}
        for key, value in (("Protocol", tg.protocol), ("Port", tg.port), ("VpcId", tg.vpc_id),
                           ("ProtocolVersion", tg.protocol_version), ("IpAddressType", tg.ip_address_type)):
            if value is not None:
                out[key] = value
        return out

    # -- tags -----------------------------------------------------------------------------------------
    def _tagged(self, ctx: RequestContext, arn: str) -> str:
        """The resource an ARN names must exist (the error names its kind)."""
        if ":loadbalancer/" in arn:
            return self.load_balancer(ctx, arn).arn
        if ":targetgroup/" in arn:
            return self.target_group(ctx, arn).arn
        if ":listener-rule/" in arn:
            self.rule(ctx, arn)
            return arn
        if ":listener/" in arn:
            return self.listener(ctx, arn).arn
        raise ValidationError(f"'{arn}' is not a valid load balancer, listener, rule or target group ARN")

    @operation("AddTags")
    def add_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_AddTags.html"""
        new = v.tags(params.get("Tags"))
        arns = [self._tagged(ctx, str(a)) for a in params.get("ResourceArns") or ()]
        for arn in arns:
            merged = {**self.store.tags.get(arn, {}), **new}
            if len(merged) > v.MAX_TAGS:
                raise TooManyTags()
        for arn in arns:
            self.store.set_tags(arn, {**self.store.tags.get(arn, {}), **new})
        return {}

    @operation("RemoveTags")
    def remove_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        keys = set(params.get("TagKeys") or ())
        for arn in [self._tagged(ctx, str(a)) for a in params.get("ResourceArns") or ()]:
            self.store.set_tags(arn, {k: val for k, val in self.store.tags.get(arn, {}).items() if k not in keys})
        return {}

    @operation("DescribeTags")
    def describe_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arns = [self._tagged(ctx, str(a)) for a in params.get("ResourceArns") or ()]
        if len(arns) > 20:
            raise ValidationError("You can specify at most 20 resource ARNs")
        return {"TagDescriptions": [{"ResourceArn": arn,
                                     "Tags": [{"Key": k, "Value": val}
                                              for k, val in self.store.tags.get(arn, {}).items()]}
                                    for arn in arns]}
