"""Listener, listener certificate and rule operations.

https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateListener.html, API_CreateRule.html
and the pages beside them. Operations that add, move or remove a listener return once its socket is bound or closed.
HTTPS listeners terminate TLS with the load balancer's self-signed certificate (certs.py); the CertificateArn
given is stored and shown, as miniaws has no ACM to fetch it from.
"""
from __future__ import annotations

from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.elbv2 import actions as action_rules
from miniaws.services.elbv2 import conditions as condition_rules
from miniaws.services.elbv2 import validation as v
from miniaws.services.elbv2.api_common import ElbV2Base, paginate
from miniaws.services.elbv2.certs import self_signed
from miniaws.services.elbv2.errors import (DuplicateListener, IncompatibleProtocols, OperationNotPermitted,
                                           PriorityInUse, SSLPolicyNotFound, TargetGroupAssociationLimit,
                                           TooManyCertificates, TooManyListeners, TooManyRules, UnsupportedProtocol,
                                           ValidationError)
from miniaws.services.elbv2.models import Listener, LoadBalancer, Rule, target_groups_in

#: quotas for Application Load Balancers (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/
#: load-balancer-limits.html)
MAX_LISTENERS = 50
MAX_RULES = 100
MAX_CERTIFICATES = 25
#: the default security policy of new HTTPS listeners, and the policies DescribeSSLPolicies lists with their
#: TLS versions (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html)
DEFAULT_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
SSL_POLICIES = {
    "ELBSecurityPolicy-TLS13-1-2-2021-06": ["TLSv1.2", "TLSv1.3"],
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06": ["TLSv1.2", "TLSv1.3"],
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06": ["TLSv1.2", "TLSv1.3"],
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06": ["TLSv1.2", "TLSv1.3"],
    "ELBSecurityPolicy-TLS13-1-3-2021-06": ["TLSv1.3"],
    "ELBSecurityPolicy-TLS13-1-1-2021-06": ["TLSv1.1", "TLSv1.2", "TLSv1.3"],
    "ELBSecurityPolicy-TLS13-1-0-2021-06": ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"],
    "ELBSecurityPolicy-2016-08": ["TLSv1", "TLSv1.1", "TLSv1.2"],
    "ELBSecurityPolicy-TLS-1-2-2017-01": ["TLSv1.2"],
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06": ["TLSv1.2"],
    "ELBSecurityPolicy-FS-1-2-Res-2020-10": ["TLSv1.2"],
    "ELBSecurityPolicy-2015-05": ["TLSv1", "TLSv1.1", "TLSv1.2"],
}
PROTOCOLS = ("HTTP", "HTTPS")
ALPN_POLICIES = ("HTTP1Only", "HTTP2Only", "HTTP2Optional", "HTTP2Preferred", "None")


class ListenerOperations(ElbV2Base):
    # -- listeners ------------------------------------------------------------------------------------
    def _check_groups(self, lb: LoadBalancer, actions: list[dict[str, Any]]) -> None:
        for arn in target_groups_in(actions):
            tg = self.store.target_groups[arn]
            if tg.target_type != "lambda" and tg.protocol not in PROTOCOLS:
                raise IncompatibleProtocols(f"Target group '{arn}' uses protocol '{tg.protocol}', which an "
                                            "application load balancer cannot forward to")
            others = [owner for owner in self.store.load_balancers_of(arn) if owner != lb.arn]
            if others:
                raise TargetGroupAssociationLimit(f"The following target groups cannot be associated with more "
                                                  f"than one load balancer: {arn}")

    def _certificates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        certs = [{"CertificateArn": str(c["CertificateArn"]), "IsDefault": i == 0}
                 for i, c in enumerate(params.get("Certificates") or ()) if c.get("CertificateArn")]
        return certs[:1]

    def _ensure_tls(self, lb: LoadBalancer) -> None:
        if lb.tls is None:
            lb.tls = self_signed(lb.dns_name, self.clock.now(), (self.config.host,))
            self.store.put_load_balancer(lb)

    @staticmethod
    def _ssl_policy(value: Any) -> str:
        policy = str(value or DEFAULT_SSL_POLICY)
        if policy not in SSL_POLICIES:
            raise SSLPolicyNotFound(f"SSL policy '{policy}' not found")
        return policy

    @operation("CreateListener")
    async def create_listener(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        lb = self.load_balancer(ctx, params.get("LoadBalancerArn"))
        protocol = params.get("Protocol")
        if protocol is None:
            raise ValidationError("A listener protocol must be specified")
        if protocol not in PROTOCOLS:
            raise UnsupportedProtocol(f"Protocol '{protocol}' is not supported for an application load balancer")
        port = v.port(params.get("Port"))
        actions = action_rules.normalize(params.get("DefaultActions"), self.lookup_group(ctx))
        self._check_groups(lb, actions)
        certificates = self._certificates(params) if protocol == "HTTPS" else []
        ssl_policy = self._ssl_policy(params.get("SslPolicy")) if protocol == "HTTPS" else None
        alpn = list(params.get("AlpnPolicy") or ()) or None
        if alpn and (protocol != "HTTPS" or alpn[0] not in ALPN_POLICIES):
            raise ValidationError("An ALPN policy can only be one of the known policies on an HTTPS listener")
        tags = v.tags(params.get("Tags"))
        siblings = self.store.listeners_of(lb.arn)
        for existing in siblings:
            if existing.port == port:
                if (existing.protocol, existing.default_actions, existing.certificates) == (
                        protocol, actions, certificates):
                    return {"Listeners": [self.listener_wire(existing)]}  # CreateListener is idempotent
                raise DuplicateListener(f"A listener already exists on port {port} for load balancer '{lb.arn}'")
        if len(siblings) >= MAX_LISTENERS:
            raise TooManyListeners(f"A load balancer can have at most {MAX_LISTENERS} listeners")
        listener_id = self.new_id()
        listener = Listener(
            arn=self.arn(ctx, f"listener/{lb.arn_suffix}/{listener_id}"), lb_arn=lb.arn, port=port,
            protocol=protocol, default_actions=actions,
            default_rule_arn=self.arn(ctx, f"listener-rule/{lb.arn_suffix}/{listener_id}/{self.new_id()}"),
            certificates=certificates, ssl_policy=ssl_policy, alpn_policy=alpn)
        if protocol == "HTTPS":
            self._ensure_tls(lb)
        self.store.put_listener(listener)
        if tags:
            self.store.set_tags(listener.arn, tags)
        await self.plane.apply()
        return {"Listeners": [self.listener_wire(listener)]}

    @operation("DescribeListeners")
    def describe_listeners(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arns = params.get("ListenerArns")
        lb_arn = params.get("LoadBalancerArn")
        if arns and lb_arn:
            raise ValidationError("Listener ARNs and a load balancer ARN cannot be specified at the same time")
        if arns:
            listeners = [self.listener(ctx, arn) for arn in arns]
        elif lb_arn:
            listeners = self.store.listeners_of(self.load_balancer(ctx, lb_arn).arn)
        else:
            raise ValidationError("You must specify either listener ARNs or a load balancer ARN")
        page, following = paginate(listeners, params, lambda li: li.arn)
        out: dict[str, Any] = {"Listeners": [self.listener_wire(li) for li in page]}
        if following:
            out["NextMarker"] = following
        return out

    @operation("ModifyListener")
    async def modify_listener(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        listener = self.listener(ctx, params.get("ListenerArn"))
        lb = self.store.load_balancers[listener.lb_arn]
        protocol = params.get("Protocol") or listener.protocol
        if protocol not in PROTOCOLS:
            raise UnsupportedProtocol(f"Protocol '{protocol}' is not supported for an application load balancer")
        port = v.port(params["Port"]) if params.get("Port") is not None else listener.port
        if any(other.port == port and other is not listener for other in self.store.listeners_of(lb.arn)):
            raise DuplicateListener(f"A listener already exists on port {port} for load balancer '{lb.arn}'")
        actions = listener.default_actions
        if params.get("DefaultActions"):
            actions = action_rules.normalize(params["DefaultActions"], self.lookup_group(ctx))
            self._check_groups(lb, actions)
        certificates = listener.certificates if protocol == "HTTPS" else []
        if params.get("Certificates") and protocol == "HTTPS":
            extra = [c for c in listener.certificates if not c.get("IsDefault")]
            certificates = self._certificates(params) + extra
        ssl_policy = None
        if protocol == "HTTPS":
            ssl_policy = self._ssl_policy(params.get("SslPolicy") or listener.ssl_policy)
        listener.protocol, listener.port, listener.default_actions = protocol, port, actions
        listener.certificates, listener.ssl_policy = certificates, ssl_policy
        if params.get("AlpnPolicy"):
            listener.alpn_policy = list(params["AlpnPolicy"])
        if protocol == "HTTPS":
            self._ensure_tls(lb)
        self.store.put_listener(listener)
        await self.plane.apply()
        return {"Listeners": [self.listener_wire(listener)]}

    @operation("DeleteListener")
    async def delete_listener(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        listener = self.listener(ctx, params.get("ListenerArn"))
        self.store.remove_listener(listener)
        await self.plane.apply()
        return {}

    # -- listener certificates ------------------------------------------------------------------------
    @operation("DescribeListenerCertificates")
    def describe_listener_certificates(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        listener = self.listener(ctx, params.get("ListenerArn"))
        page, following = paginate(listener.certificates, params, lambda c: c["CertificateArn"])
        out: dict[str, Any] = {"Certificates": page}
        if following:
            out["NextMarker"] = following
        return out

    @operation("AddListenerCertificates")
    def add_listener_certificates(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        listener = self.listener(ctx, params.get("ListenerArn"))
        if listener.protocol != "HTTPS":
            raise ValidationError("Certificates can only be added to HTTPS listeners")
        known = {c["CertificateArn"] for c in listener.certificates}
        added = [{"CertificateArn": str(c["CertificateArn"]), "IsDefault": False}
                 for c in params.get("Certificates") or () if c.get("CertificateArn") not in known]
        if len(listener.certificates) + len(added) > MAX_CERTIFICATES:
            raise TooManyCertificates(f"A listener can have at most {MAX_CERTIFICATES} certificates")
        listener.certificates = listener.certificates + added
        self.store.put_listener(listener)
        return {"Certificates": listener.certificates}

    @operation("RemoveListenerCertificates")
    def remove_listener_certificates(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        listener = self.listener(ctx, params.get("ListenerArn"))
        gone = {str(c.get("CertificateArn")) for c in params.get("Certificates") or ()}
        if any(c["CertificateArn"] in gone and c.get("IsDefault") for c in listener.certificates):
            raise OperationNotPermitted("The default certificate of a listener cannot be removed: use "
                                        "ModifyListener to replace it")
        listener.certificates = [c for c in listener.certificates if c["CertificateArn"] not in gone]
        self.store.put_listener(listener)
        return {}

    # -- rules ----------------------------------------------------------------------------------------
    @staticmethod
    def _priority(value: Any) -> int:
        try:
            priority = int(value)
        except (TypeError, ValueError):
            raise ValidationError("A rule priority must be specified") from None
        if not 1 <= priority <= 50000:
            raise ValidationError(f"Priority '{priority}' must be between 1 and 50000")
        return priority

    @operation("CreateRule")
    def create_rule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        listener = self.listener(ctx, params.get("ListenerArn"))
        lb = self.store.load_balancers[listener.lb_arn]
        priority = self._priority(params.get("Priority"))
        conditions = condition_rules.normalize(params.get("Conditions"))
        actions = action_rules.normalize(params.get("Actions"), self.lookup_group(ctx))
        self._check_groups(lb, actions)
        tags = v.tags(params.get("Tags"))
        rules = self.store.rules_of(listener.arn)
        if any(r.priority == priority for r in rules):
            raise PriorityInUse(f"Priority '{priority}' is currently in use")
        if len(rules) >= MAX_RULES:
            raise TooManyRules(f"A listener can have at most {MAX_RULES} rules besides its default rule")
        listener_id = listener.arn.rsplit("/", 1)[-1]
        rule = Rule(self.arn(ctx, f"listener-rule/{lb.arn_suffix}/{listener_id}/{self.new_id()}"), listener.arn,
                    priority, conditions, actions)
        self.store.put_rules(rule)
        if tags:
            self.store.set_tags(rule.arn, tags)
        return {"Rules": [self.rule_wire(rule)]}

    @operation("DescribeRules")
    def describe_rules(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arns, listener_arn = params.get("RuleArns"), params.get("ListenerArn")
        if arns and listener_arn:
            raise ValidationError("Rule ARNs and a listener ARN cannot be specified at the same time")
        items: list[Rule | Listener]
        if arns:
            items = [self.rule(ctx, arn) for arn in arns]
        elif listener_arn:
            listener = self.listener(ctx, listener_arn)
            items = [*self.store.rules_of(listener.arn), listener]
        else:
            raise ValidationError("You must specify either rule ARNs or a listener ARN")
        page, following = paginate(items, params, lambda r: self.rule_wire(r)["RuleArn"])
        out: dict[str, Any] = {"Rules": [self.rule_wire(r) for r in page]}
        if following:
            out["NextMarker"] = following
        return out

    @operation("ModifyRule")
    def modify_rule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        target = self.rule(ctx, params.get("RuleArn"))
        listener = target if isinstance(target, Listener) else self.store.listeners[target.listener_arn]
        lb = self.store.load_balancers[listener.lb_arn]
        actions = None
        if params.get("Actions"):
            actions = action_rules.normalize(params["Actions"], self.lookup_group(ctx))
            self._check_groups(lb, actions)
        if isinstance(target, Listener):
            if params.get("Conditions"):
                raise OperationNotPermitted("The conditions of a default rule cannot be modified")
            if actions is not None:
                target.default_actions = actions
                self.store.put_listener(target)
            return {"Rules": [self.rule_wire(target)]}
        if params.get("Conditions"):
            target.conditions = condition_rules.normalize(params["Conditions"])
        if actions is not None:
            target.actions = actions
        self.store.put_rules(target)
        return {"Rules": [self.rule_wire(target)]}

    @operation("DeleteRule")
    def delete_rule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        target = self.rule(ctx, params.get("RuleArn"))
        if isinstance(target, Listener):
            raise OperationNotPermitted(f"Default rule '{target.default_rule_arn}' cannot be deleted")
        self.store.remove_rule(target)
        return {}

    @operation("SetRulePriorities")
    def set_rule_priorities(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        changes: dict[str, int] = {}
        rules: dict[str, Rule] = {}
        for entry in params.get("RulePriorities") or ():
            target = self.rule(ctx, entry.get("RuleArn"))
            if isinstance(target, Listener):
                raise OperationNotPermitted("The priority of a default rule cannot be changed")
            changes[target.arn] = self._priority(entry.get("Priority"))
            rules[target.arn] = target
        for listener_arn in {r.listener_arn for r in rules.values()}:
            final: dict[int, str] = {}
            for rule in self.store.rules_of(listener_arn):
                priority = changes.get(rule.arn, rule.priority)
                if priority in final:
                    raise PriorityInUse(f"Priority '{priority}' is currently in use")
                final[priority] = rule.arn
        for arn, priority in changes.items():
            rules[arn].priority = priority
        if rules:
            self.store.put_rules(*rules.values())
        return {"Rules": [self.rule_wire(r) for r in rules.values()]}

    # -- policies and quotas --------------------------------------------------------------------------
    @operation("DescribeSSLPolicies")
    def describe_ssl_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        names = list(params.get("Names") or SSL_POLICIES)
        for name in names:
            if name not in SSL_POLICIES:
                raise SSLPolicyNotFound(f"SSL policy '{name}' not found")
        return {"SslPolicies": [{"Name": n, "SslProtocols": SSL_POLICIES[n],
                                 "SupportedLoadBalancerTypes": ["application", "network"]} for n in names]}

    @operation("DescribeAccountLimits")
    def describe_account_limits(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        limits = {"application-load-balancers": 50, "target-groups": 3000, "targets-per-application-load-balancer":
                  1000, "listeners-per-application-load-balancer": MAX_LISTENERS,
                  "rules-per-application-load-balancer": MAX_RULES,
                  "certificates-per-application-load-balancer": MAX_CERTIFICATES,
                  "condition-values-per-alb-rule": condition_rules.MAX_VALUES_PER_RULE,
                  "condition-wildcards-per-alb-rule": condition_rules.MAX_WILDCARDS_PER_RULE,
                  "target-groups-per-action-on-application-load-balancer":
                      action_rules.MAX_TARGET_GROUPS_PER_ACTION}
        return {"Limits": [{"Name": k, "Max": str(val)} for k, val in limits.items()]}
