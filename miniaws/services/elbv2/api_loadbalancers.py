"""Load balancer operations (application load balancers).

https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html and the pages
beside it. There are no VPCs or subnets to check: Subnets, SubnetMappings and SecurityGroups are stored as given
(made up when absent) and each subnet is reported in the next zone of the region. CreateLoadBalancer answers
`provisioning`; Describe* already says `active` (the socket work happens per listener), so waiters pass at once.
"""
from __future__ import annotations

from typing import Any

from miniaws.core.context import RequestContext
from miniaws.core.ids import hex_id
from miniaws.services.base import operation
from miniaws.services.elbv2 import attributes as attrs
from miniaws.services.elbv2 import validation as v
from miniaws.services.elbv2.api_common import ElbV2Base, default_vpc, paginate
from miniaws.services.elbv2.errors import (DuplicateLoadBalancerName, LoadBalancerNotFound, OperationNotPermitted,
                                           ValidationError)
from miniaws.services.elbv2.models import LoadBalancer

SCHEMES = ("internet-facing", "internal")
IP_ADDRESS_TYPES = ("ipv4", "dualstack", "dualstack-without-public-ipv4")


class LoadBalancerOperations(ElbV2Base):
    @operation("CreateLoadBalancer")
    def create_load_balancer(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = v.load_balancer_name(params.get("Name"))
        kind = params.get("Type") or "application"
        if kind != "application":
            raise ValidationError(f"Load balancer type '{kind}' is not supported by miniaws: use 'application'")
        scheme = params.get("Scheme") or "internet-facing"
        if scheme not in SCHEMES:
            raise ValidationError(f"Scheme '{scheme}' must be one of [{', '.join(SCHEMES)}]")
        ip_type = params.get("IpAddressType") or "ipv4"
        if ip_type not in IP_ADDRESS_TYPES:
            raise ValidationError(f"IP address type '{ip_type}' must be one of [{', '.join(IP_ADDRESS_TYPES)}]")
        subnets = [str(s) for s in params.get("Subnets") or ()]
        subnets += [str(m["SubnetId"]) for m in params.get("SubnetMappings") or () if m.get("SubnetId")]
        if params.get("Subnets") and params.get("SubnetMappings"):
            raise ValidationError("You can specify subnets or subnet mappings, not both")
        if len(set(subnets)) != len(subnets):
            raise ValidationError("A subnet may be specified only once")
        groups = [str(g) for g in params.get("SecurityGroups") or ()]
        tags = v.tags(params.get("Tags"))
        for existing in self.store.load_balancers.values():
            if existing.name == name and self._mine(ctx, existing.arn):
                # CreateLoadBalancer is idempotent: the same settings answer the same load balancer
                same_network = (not subnets or subnets == existing.subnets) and (
                    not groups or groups == existing.security_groups)
                if (existing.scheme, existing.ip_address_type) == (scheme, ip_type) and same_network:
                    return {"LoadBalancers": [self.lb_wire(existing)]}
                raise DuplicateLoadBalancerName(f"A load balancer with the same name '{name}' exists, but with "
                                                "different settings")
        if not subnets:
            subnets = ["subnet-" + hex_id(9)[:17], "subnet-" + hex_id(9)[:17]]
        if not groups:
            groups = ["sg-" + hex_id(9)[:17]]
        lb = LoadBalancer(
            arn=self.arn(ctx, f"loadbalancer/app/{name}/{self.new_id()}"), name=name, account=ctx.account_id,
            region=ctx.region, dns_name=self.dns_name(name, scheme, ctx.region), scheme=scheme,
            ip_address_type=ip_type, subnets=subnets, security_groups=groups, created=ctx.clock.now(),
            attributes=attrs.defaults(attrs.LOAD_BALANCER), vpc_id=default_vpc(ctx.account_id, ctx.region))
        self.store.put_load_balancer(lb)
        if tags:
            self.store.set_tags(lb.arn, tags)
        return {"LoadBalancers": [self.lb_wire(lb, state="provisioning")]}

    @operation("DescribeLoadBalancers")
    def describe_load_balancers(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        mine = sorted((lb for lb in self.store.load_balancers.values() if self._mine(ctx, lb.arn)),
                      key=lambda lb: (lb.created, lb.arn))
        arns, names = params.get("LoadBalancerArns"), params.get("Names")
        if arns and names:
            raise ValidationError("Load balancer names and load balancer ARNs cannot be specified at the same time")
        if arns:
            selected = [self.load_balancer(ctx, arn) for arn in arns]
        elif names:
            by_name = {lb.name: lb for lb in mine}
            missing = [n for n in names if n not in by_name]
            if missing:
                raise LoadBalancerNotFound(f"Load balancers '[{', '.join(missing)}]' not found")
            selected = [by_name[n] for n in names]
        else:
            selected = mine
        page, following = paginate(selected, params, lambda lb: lb.arn)
        out: dict[str, Any] = {"LoadBalancers": [self.lb_wire(lb) for lb in page]}
        if following:
            out["NextMarker"] = following
        return out

    @operation("DeleteLoadBalancer")
    async def delete_load_balancer(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = str(params.get("LoadBalancerArn") or "")
        lb = self.store.load_balancers.get(arn)
        if lb is None or not self._mine(ctx, arn):
            return {}  # "If the load balancer does not exist or has already been deleted, the call succeeds."
        if lb.attributes.get("deletion_protection.enabled") == "true":
            raise OperationNotPermitted(f"Load balancer '{arn}' cannot be deleted because deletion protection is "
                                        "enabled")
        self.store.remove_load_balancer(lb)
        await self.plane.apply()
        return {}

    @operation("DescribeLoadBalancerAttributes")
    def describe_load_balancer_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        lb = self.load_balancer(ctx, params.get("LoadBalancerArn"))
        return {"Attributes": attrs.wire(lb.attributes)}

    @operation("ModifyLoadBalancerAttributes")
    def modify_load_balancer_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        lb = self.load_balancer(ctx, params.get("LoadBalancerArn"))
        lb.attributes = attrs.apply(lb.attributes, params.get("Attributes"), attrs.LOAD_BALANCER, "Load balancer")
        self.store.put_load_balancer(lb)
        return {"Attributes": attrs.wire(lb.attributes)}

    @operation("SetSecurityGroups")
    def set_security_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        lb = self.load_balancer(ctx, params.get("LoadBalancerArn"))
        lb.security_groups = [str(g) for g in params.get("SecurityGroups") or ()]
        self.store.put_load_balancer(lb)
        return {"SecurityGroupIds": list(lb.security_groups)}

    @operation("SetSubnets")
    def set_subnets(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        lb = self.load_balancer(ctx, params.get("LoadBalancerArn"))
        subnets = [str(s) for s in params.get("Subnets") or ()]
        subnets += [str(m["SubnetId"]) for m in params.get("SubnetMappings") or () if m.get("SubnetId")]
        if not subnets:
            raise ValidationError("At least one subnet must be specified")
        lb.subnets = subnets
        self.store.put_load_balancer(lb)
        return {"AvailabilityZones": self.lb_wire(lb)["AvailabilityZones"], "IpAddressType": lb.ip_address_type}

    @operation("SetIpAddressType")
    def set_ip_address_type(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        lb = self.load_balancer(ctx, params.get("LoadBalancerArn"))
        ip_type = params.get("IpAddressType")
        if ip_type not in IP_ADDRESS_TYPES:
            raise ValidationError(f"IP address type '{ip_type}' must be one of [{', '.join(IP_ADDRESS_TYPES)}]")
        lb.ip_address_type = ip_type
        self.store.put_load_balancer(lb)
        return {"IpAddressType": ip_type}
