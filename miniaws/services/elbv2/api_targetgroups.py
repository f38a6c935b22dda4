"""Target group, target registration and target health operations.

https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html and the pages
beside it. Targets are really probed (dataplane/health.py) once a listener or rule forwards to their group;
DescribeTargetHealth reports what the probes found, with ELB's states and reason codes.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.elbv2 import attributes as attrs
from miniaws.services.elbv2 import validation as v
from miniaws.services.elbv2.api_common import ElbV2Base, default_vpc, paginate
from miniaws.services.elbv2.errors import (DuplicateTargetGroupName, InvalidTarget, ResourceInUse,
                                           TargetGroupNotFound, TooManyTargets, ValidationError)
from miniaws.services.elbv2.models import Target, TargetGroup

TARGET_TYPES = ("instance", "ip", "lambda")
PROTOCOL_VERSIONS = ("HTTP1", "HTTP2", "GRPC")
MAX_TARGETS = 1000
_FUNCTION_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9-_]+(:[a-zA-Z0-9-_$]+)?$")


class TargetGroupOperations(ElbV2Base):
    @operation("CreateTargetGroup")
    def create_target_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = v.target_group_name(params.get("Name"))
        target_type = params.get("TargetType") or "instance"
        if target_type not in TARGET_TYPES:
            raise ValidationError(f"Target type '{target_type}' is not supported by miniaws: use one of "
                                  f"[{', '.join(TARGET_TYPES)}]")
        protocol, port, vpc, version, ip_type = (params.get("Protocol"), params.get("Port"), params.get("VpcId"),
                                                 params.get("ProtocolVersion"), params.get("IpAddressType"))
        if target_type == "lambda":
            if protocol is not None or port is not None or vpc is not None:
                raise ValidationError("Protocol, port and VPC ID cannot be specified for target groups with target "
                                      "type 'lambda'")
        else:
            if protocol is None:
                raise ValidationError(f"A protocol must be specified for target groups with target type "
                                      f"'{target_type}'")
            if protocol not in ("HTTP", "HTTPS"):
                raise ValidationError(f"Protocol '{protocol}' is not supported by miniaws: application load "
                                      "balancer target groups use HTTP or HTTPS")
            port = v.port(port)
            vpc = vpc or default_vpc(ctx.account_id, ctx.region)
            version = version or "HTTP1"
            if version not in PROTOCOL_VERSIONS:
                raise ValidationError(f"Protocol version '{version}' must be one of [{', '.join(PROTOCOL_VERSIONS)}]")
            ip_type = ip_type or "ipv4"
            if ip_type not in ("ipv4", "ipv6"):
                raise ValidationError(f"IP address type '{ip_type}' must be one of [ipv4, ipv6]")
        health = v.health_check(target_type, protocol, params)
        tags = v.tags(params.get("Tags"))
        for existing in self.store.target_groups.values():
            if existing.name == name and self._mine(ctx, existing.arn):
                # CreateTargetGroup is idempotent: the same settings answer the same group
                if (existing.target_type, existing.protocol, existing.port, existing.vpc_id, existing.health) == (
                        target_type, protocol, port, vpc, health):
                    return {"TargetGroups": [self.tg_wire(existing)]}
                raise DuplicateTargetGroupName(f"A target group with the same name '{name}' exists, but with "
                                               "different settings")
        table = attrs.LAMBDA_TARGET_GROUP if target_type == "lambda" else attrs.TARGET_GROUP
        tg = TargetGroup(self.arn(ctx, f"targetgroup/{name}/{self.new_id()}"), name, ctx.account_id, ctx.region,
                         target_type, protocol, version, port, vpc, ip_type, health, attrs.defaults(table))
        self.store.put_target_group(tg)
        if tags:
            self.store.set_tags(tg.arn, tags)
        return {"TargetGroups": [self.tg_wire(tg)]}

    @operation("DescribeTargetGroups")
    def describe_target_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        mine = sorted((tg for tg in self.store.target_groups.values() if self._mine(ctx, tg.arn)),
                      key=lambda tg: tg.name)
        lb_arn, arns, names = params.get("LoadBalancerArn"), params.get("TargetGroupArns"), params.get("Names")
        if sum(1 for given in (lb_arn, arns, names) if given) > 1:
            raise ValidationError("Only one of load balancer ARN, target group ARNs or names can be specified")
        if arns:
            selected = [self.target_group(ctx, arn) for arn in arns]
        elif names:
            by_name = {tg.name: tg for tg in mine}
            missing = [n for n in names if n not in by_name]
            if missing:
                raise TargetGroupNotFound(f"Target groups '[{', '.join(missing)}]' not found")
            selected = [by_name[n] for n in names]
        elif lb_arn:
            lb = self.load_balancer(ctx, lb_arn)
            selected = [tg for tg in mine if lb.arn in self.store.load_balancers_of(tg.arn)]
        else:
            selected = mine
        page, following = paginate(selected, params, lambda tg: tg.arn)
        out: dict[str, Any] = {"TargetGroups": [self.tg_wire(tg) for tg in page]}
        if following:
            out["NextMarker"] = following
        return out

    @operation("ModifyTargetGroup")
    def modify_target_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        tg = self.target_group(ctx, params.get("TargetGroupArn"))
        tg.health = v.health_check(tg.target_type, tg.protocol, params, tg.health)
        self.store.put_target_group(tg)
        return {"TargetGroups": [self.tg_wire(tg)]}

    @operation("DeleteTargetGroup")
    def delete_target_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = str(params.get("TargetGroupArn") or "")
        tg = self.store.target_groups.get(arn)
        if tg is None or not self._mine(ctx, arn):
            return {}  # like DeleteLoadBalancer, deleting what is gone succeeds
        if self.store.load_balancers_of(arn):
            raise ResourceInUse(f"Target group '{arn}' is currently in use by a listener or a rule")
        self.store.remove_target_group(tg)
        return {}

    @operation("DescribeTargetGroupAttributes")
    def describe_target_group_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        tg = self.target_group(ctx, params.get("TargetGroupArn"))
        return {"Attributes": attrs.wire(tg.attributes)}

    @operation("ModifyTargetGroupAttributes")
    def modify_target_group_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        tg = self.target_group(ctx, params.get("TargetGroupArn"))
        table = attrs.LAMBDA_TARGET_GROUP if tg.target_type == "lambda" else attrs.TARGET_GROUP
        tg.attributes = attrs.apply(tg.attributes, params.get("Attributes"), table, "Target group")
        self.store.put_target_group(tg)
        return {"Attributes": attrs.wire(tg.attributes)}

    # -- targets --------------------------------------------------------------------------------------
    def _targets(self, tg: TargetGroup, given: Any, registering: bool) -> list[Target]:
        out = []
        for raw in given or ():
            target_id = str(raw.get("Id") or "")
            if not target_id:
                raise ValidationError("A target ID must be specified")
            port: int | None = None
            if tg.target_type == "lambda":
                if registering and not _FUNCTION_ARN.match(target_id):
                    raise InvalidTarget(f"The target '{target_id}' is not a valid Lambda function ARN")
                if raw.get("Port") is not None:
                    raise ValidationError("A port cannot be specified for a Lambda target")
            else:
                port = v.port(raw["Port"]) if raw.get("Port") is not None else tg.port
                if tg.target_type == "ip" and registering:
                    try:
                        ipaddress.ip_address(target_id)
                    except ValueError:
                        raise InvalidTarget(f"The IP address '{target_id}' is not a valid IPv4 or IPv6 "
                                            "address") from None
            out.append(Target(target_id, port, raw.get("AvailabilityZone"), self.clock.now()))
        if not out:
            raise ValidationError("At least one target must be specified")
        return out

    @operation("RegisterTargets")
    def register_targets(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        tg = self.target_group(ctx, params.get("TargetGroupArn"))
        targets = [t for t in self._targets(tg, params.get("Targets"), True) if t.key not in tg.targets]
        total = len(tg.targets) + len({t.key for t in targets})
        if tg.target_type == "lambda" and total > 1:
            raise TooManyTargets("A target group with target type 'lambda' can have only one registered target")
        if total > MAX_TARGETS:
            raise TooManyTargets(f"A target group can have at most {MAX_TARGETS} targets")
        self.store.add_targets(tg, targets)
        return {}

    @operation("DeregisterTargets")
    def deregister_targets(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        tg = self.target_group(ctx, params.get("TargetGroupArn"))
        targets = self._targets(tg, params.get("Targets"), False)
        missing = [t.id for t in targets if t.key not in tg.targets]
        if missing:
            raise InvalidTarget(f"The following targets are not registered in target group '{tg.arn}': "
                                + ", ".join(f"'{m}'" for m in missing))
        self.store.remove_targets(tg, targets)
        return {}

    @operation("DescribeTargetHealth")
    def describe_target_health(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        tg = self.target_group(ctx, params.get("TargetGroupArn"))
        health_port = tg.health.get("HealthCheckPort", "traffic-port")
        states = {live.key: (live, state) for live, state in self.plane.target_health(tg)}
        wanted = self._targets(tg, params.get("Targets"), False) if params.get("Targets") else None
        keys = [t.key for t in wanted] if wanted is not None else list(states)
        out = []
        for key in keys:
            target: dict[str, Any] = {"Id": key[0]}
            if key[1] is not None:
                target["Port"] = key[1]
            registered = tg.targets.get(key)
            if registered is not None and registered.availability_zone:
                target["AvailabilityZone"] = registered.availability_zone
            entry: dict[str, Any] = {"Target": target}
            if key in states:
                entry["TargetHealth"] = states[key][1]
            else:
                entry["TargetHealth"] = {"State": "unused", "Reason": "Target.NotRegistered",
                                         "Description": "Target is not registered to the target group"}
            if tg.target_type != "lambda":
                entry["HealthCheckPort"] = str(key[1]) if health_port == "traffic-port" else str(health_port)
            out.append(entry)
        return {"TargetHealthDescriptions": out}
