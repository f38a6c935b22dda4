"""ELBv2 through boto3: load balancers (names, idempotency, waiter, pagination, attributes, deletion protection),
listeners (HTTP/HTTPS, duplicates, modify), rules (conditions, priorities, default rule), target groups (health
check defaults and limits, attributes, registration) and tags, with AWS's error codes."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import make_client

CERT = "arn:aws:acm:us-east-1:000000000000:certificate/0b7c9a3e-2f44-4a7e-9c1e-5d1d8f2f9a11"


@pytest.fixture(scope="module")
def elb(endpoint: str) -> Any:
    return make_client(endpoint, "elbv2")


def name(prefix: str = "lb") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def new_lb(elb: Any, **kwargs: Any) -> dict[str, Any]:
    lb: dict[str, Any] = elb.create_load_balancer(Name=name(), Subnets=["subnet-aaaa", "subnet-bbbb"],
                                                  **kwargs)["LoadBalancers"][0]
    return lb


def new_tg(elb: Any, **kwargs: Any) -> dict[str, Any]:
    settings = {"Protocol": "HTTP", "Port": 8080, "VpcId": "vpc-12345678", "TargetType": "ip", **kwargs}
    tg: dict[str, Any] = elb.create_target_group(Name=name("tg"), **settings)["TargetGroups"][0]
    return tg


def forward(tg: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}]


def test_create_describe_and_wait_for_a_load_balancer(elb: Any) -> None:
    lb_name = name()
    created = elb.create_load_balancer(Name=lb_name, Subnets=["subnet-1", "subnet-2"], SecurityGroups=["sg-1"],
                                       Scheme="internal", Tags=[{"Key": "team", "Value": "web"}])["LoadBalancers"][0]
    assert created["State"] == {"Code": "provisioning"}
    assert created["LoadBalancerArn"].startswith("arn:aws:elasticloadbalancing:us-east-1:000000000000:"
                                                 f"loadbalancer/app/{lb_name}/")
    assert created["DNSName"].startswith(f"internal-{lb_name}-") and created["DNSName"].endswith(
        ".us-east-1.elb.localhost")
    assert created["CanonicalHostedZoneId"] == "Z35SXDOTRQ7X7K"
    assert [z["SubnetId"] for z in created["AvailabilityZones"]] == ["subnet-1", "subnet-2"]
    assert [z["ZoneName"] for z in created["AvailabilityZones"]] == ["us-east-1a", "us-east-1b"]
    assert (created["Scheme"], created["Type"], created["IpAddressType"]) == ("internal", "application", "ipv4")
    elb.get_waiter("load_balancer_available").wait(LoadBalancerArns=[created["LoadBalancerArn"]],
                                                   WaiterConfig={"Delay": 1, "MaxAttempts": 2})
    [described] = elb.describe_load_balancers(Names=[lb_name])["LoadBalancers"]
    assert described["State"] == {"Code": "active"} and described["SecurityGroups"] == ["sg-1"]
    tags = elb.describe_tags(ResourceArns=[created["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]
    assert tags == [{"Key": "team", "Value": "web"}]
    # the same settings again answer the same load balancer; other settings under that name are refused
    again = elb.create_load_balancer(Name=lb_name, Subnets=["subnet-1", "subnet-2"], Scheme="internal")
    assert again["LoadBalancers"][0]["LoadBalancerArn"] == created["LoadBalancerArn"]
    with pytest.raises(ClientError) as err:
        elb.create_load_balancer(Name=lb_name, Subnets=["subnet-1", "subnet-2"])
    assert code(err) == "DuplicateLoadBalancerName"


@pytest.mark.parametrize("bad", ["-lead", "trail-", "a" * 33, "under_score", "internal-x"])
def test_load_balancer_name_rules(elb: Any, bad: str) -> None:
    with pytest.raises(ClientError) as err:
        elb.create_load_balancer(Name=bad)
    assert code(err) == "ValidationError"


def test_describe_pages_and_unknown_names(elb: Any) -> None:
    arns = [new_lb(elb)["LoadBalancerArn"] for _ in range(3)]
    seen: list[str] = []
    for page in elb.get_paginator("describe_load_balancers").paginate(PaginationConfig={"PageSize": 2}):
        assert len(page["LoadBalancers"]) <= 2
        seen += [lb["LoadBalancerArn"] for lb in page["LoadBalancers"]]
    assert set(arns) <= set(seen) and len(seen) == len(set(seen))
    with pytest.raises(ClientError) as err:
        elb.describe_load_balancers(Names=["no-such-lb"])
    assert code(err) == "LoadBalancerNotFound"
    with pytest.raises(ClientError) as err:
        elb.describe_load_balancers(LoadBalancerArns=[arns[0] + "0"])
    assert code(err) == "LoadBalancerNotFound"


def test_attributes_and_deletion_protection(elb: Any) -> None:
    arn = new_lb(elb)["LoadBalancerArn"]
    attrs = {a["Key"]: a["Value"] for a in elb.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]}
    assert attrs["idle_timeout.timeout_seconds"] == "60" and attrs["deletion_protection.enabled"] == "false"
    assert attrs["routing.http.xff_header_processing.mode"] == "append"
    elb.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[
        {"Key": "deletion_protection.enabled", "Value": "true"}, {"Key": "idle_timeout.timeout_seconds", "Value": "5"}])
    with pytest.raises(ClientError) as err:
        elb.delete_load_balancer(LoadBalancerArn=arn)
    assert code(err) == "OperationNotPermitted"
    for bad in ({"Key": "idle_timeout.timeout_seconds", "Value": "0"}, {"Key": "no.such.key", "Value": "1"}):
        with pytest.raises(ClientError) as err:
            elb.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[bad])
        assert code(err) in ("InvalidConfigurationRequest", "ValidationError")
    elb.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[
        {"Key": "deletion_protection.enabled", "Value": "false"}])
    elb.delete_load_balancer(LoadBalancerArn=arn)
    elb.delete_load_balancer(LoadBalancerArn=arn)  # deleting what is gone succeeds, as AWS documents
    with pytest.raises(ClientError) as err:
        elb.describe_load_balancers(LoadBalancerArns=[arn])
    assert code(err) == "LoadBalancerNotFound"


def test_target_group_defaults_limits_and_attributes(elb: Any) -> None:
    tg = new_tg(elb)
    assert (tg["HealthCheckProtocol"], tg["HealthCheckPort"], tg["HealthCheckPath"]) == ("HTTP", "traffic-port", "/")
    assert (tg["HealthCheckIntervalSeconds"], tg["HealthCheckTimeoutSeconds"]) == (30, 5)
    assert (tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"]) == (5, 2)
    assert tg["Matcher"] == {"HttpCode": "200"} and tg["HealthCheckEnabled"] is True
    assert tg["LoadBalancerArns"] == [] and tg["ProtocolVersion"] == "HTTP1"
    lam = elb.create_target_group(Name=name("fn"), TargetType="lambda")["TargetGroups"][0]
    assert (lam["HealthCheckEnabled"], lam["HealthCheckIntervalSeconds"], lam["HealthCheckTimeoutSeconds"]) == (
        False, 35, 30)
    assert "Protocol" not in lam and "Port" not in lam
    # (out-of-range intervals and thresholds botocore already refuses before sending)
    for bad in ({"HealthCheckTimeoutSeconds": 30, "HealthCheckIntervalSeconds": 10}, {"Matcher": {"HttpCode": "600"}},
                {"HealthCheckPath": "nope"}, {"HealthCheckEnabled": False}, {"Protocol": "TCP"}):
        with pytest.raises(ClientError) as err:
            new_tg(elb, **bad)
        assert code(err) == "ValidationError", bad
    modified = elb.modify_target_group(TargetGroupArn=tg["TargetGroupArn"], HealthCheckPath="/health",
                                       Matcher={"HttpCode": "200-299"})["TargetGroups"][0]
    assert modified["HealthCheckPath"] == "/health" and modified["Matcher"] == {"HttpCode": "200-299"}
    attrs = {a["Key"]: a["Value"] for a in
             elb.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])["Attributes"]}
    assert attrs["deregistration_delay.timeout_seconds"] == "300"
    assert attrs["load_balancing.algorithm.type"] == "round_robin" and attrs["stickiness.type"] == "lb_cookie"
    changed = elb.modify_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"], Attributes=[
        {"Key": "load_balancing.algorithm.type", "Value": "least_outstanding_requests"},
        {"Key": "slow_start.duration_seconds", "Value": "30"}])["Attributes"]
    assert {"Key": "slow_start.duration_seconds", "Value": "30"} in changed
    for bad_attr in ({"Key": "slow_start.duration_seconds", "Value": "10"},
                     {"Key": "lambda.multi_value_headers.enabled", "Value": "true"}):
        with pytest.raises(ClientError):
            elb.modify_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"], Attributes=[bad_attr])
    lam_attrs = elb.describe_target_group_attributes(TargetGroupArn=lam["TargetGroupArn"])["Attributes"]
    assert lam_attrs == [{"Key": "lambda.multi_value_headers.enabled", "Value": "false"}]


def test_duplicate_target_group_names(elb: Any) -> None:
    tg_name = name("tg")
    first = elb.create_target_group(Name=tg_name, Protocol="HTTP", Port=80, VpcId="vpc-1")["TargetGroups"][0]
    same = elb.create_target_group(Name=tg_name, Protocol="HTTP", Port=80, VpcId="vpc-1")["TargetGroups"][0]
    assert same["TargetGroupArn"] == first["TargetGroupArn"]
    with pytest.raises(ClientError) as err:
        elb.create_target_group(Name=tg_name, Protocol="HTTP", Port=81, VpcId="vpc-1")
    assert code(err) == "DuplicateTargetGroupName"
    with pytest.raises(ClientError) as err:
        elb.describe_target_groups(Names=["missing-tg"])
    assert code(err) == "TargetGroupNotFound"


def test_listeners_and_their_errors(elb: Any) -> None:
    lb, tg = new_lb(elb), new_tg(elb)
    listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=8081,
                                   DefaultActions=forward(tg))["Listeners"][0]
    assert listener["DefaultActions"][0]["ForwardConfig"]["TargetGroups"] == [
        {"TargetGroupArn": tg["TargetGroupArn"], "Weight": 1}]
    same = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=8081,
                               DefaultActions=forward(tg))["Listeners"][0]
    assert same["ListenerArn"] == listener["ListenerArn"]
    with pytest.raises(ClientError) as err:
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=8081,
                            DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}])
    assert code(err) == "DuplicateListener"
    with pytest.raises(ClientError) as err:
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="TCP", Port=9000,
                            DefaultActions=forward(tg))
    assert code(err) == "UnsupportedProtocol"
    with pytest.raises(ClientError) as err:
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=9001,
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"] + "x"}])
    assert code(err) == "TargetGroupNotFound"
    with pytest.raises(ClientError) as err:
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=9002,
                            Certificates=[{"CertificateArn": CERT}], DefaultActions=[{
                                "Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {
                                    "Issuer": "https://idp", "AuthorizationEndpoint": "https://idp/a",
                                    "TokenEndpoint": "https://idp/t", "UserInfoEndpoint": "https://idp/u",
                                    "ClientId": "c"}}, {**forward(tg)[0], "Order": 2}])
    assert code(err) == "InvalidLoadBalancerAction"
    assert "not supported" in err.value.response["Error"]["Message"]
    https = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=8443,
                                Certificates=[{"CertificateArn": CERT}], DefaultActions=forward(tg))["Listeners"][0]
    assert https["Certificates"] == [{"CertificateArn": CERT}]
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    tg_now = elb.describe_target_groups(TargetGroupArns=[tg["TargetGroupArn"]])["TargetGroups"][0]
    assert tg_now["LoadBalancerArns"] == [lb["LoadBalancerArn"]]
    listed = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert [li["Port"] for li in listed] == [8081, 8443]
    moved = elb.modify_listener(ListenerArn=listener["ListenerArn"], Port=8082)["Listeners"][0]
    assert moved["Port"] == 8082
    with pytest.raises(ClientError) as err:
        elb.modify_listener(ListenerArn=listener["ListenerArn"], Port=8443)
    assert code(err) == "DuplicateListener"
    with pytest.raises(ClientError) as err:
        elb.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])
    assert code(err) == "ResourceInUse"
    # a target group serves one load balancer
    other = new_lb(elb)
    with pytest.raises(ClientError) as err:
        elb.create_listener(LoadBalancerArn=other["LoadBalancerArn"], Protocol="HTTP", Port=8081,
                            DefaultActions=forward(tg))
    assert code(err) == "TargetGroupAssociationLimit"
    elb.delete_listener(ListenerArn=listener["ListenerArn"])
    with pytest.raises(ClientError) as err:
        elb.describe_listeners(ListenerArns=[listener["ListenerArn"]])
    assert code(err) == "ListenerNotFound"
    certs = elb.describe_listener_certificates(ListenerArn=https["ListenerArn"])["Certificates"]
    assert certs == [{"CertificateArn": CERT, "IsDefault": True}]


def test_rules_priorities_and_the_default_rule(elb: Any) -> None:
    lb, tg = new_lb(elb), new_tg(elb)
    listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=8090,
                                   DefaultActions=forward(tg))["Listeners"][0]
    arn = listener["ListenerArn"]
    rule = elb.create_rule(ListenerArn=arn, Priority=10, Conditions=[
        {"Field": "path-pattern", "Values": ["/api/*"]},
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["beta"]}}],
        Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "MessageBody": "hi",
                                                                    "ContentType": "text/plain"}}])["Rules"][0]
    assert rule["Priority"] == "10" and rule["IsDefault"] is False
    assert rule["Conditions"][0] == {"Field": "path-pattern", "Values": ["/api/*"],
                                     "PathPatternConfig": {"Values": ["/api/*"]}}
    with pytest.raises(ClientError) as err:
        elb.create_rule(ListenerArn=arn, Priority=10, Conditions=[{"Field": "path-pattern", "Values": ["/x"]}],
                        Actions=forward(tg))
    assert code(err) == "PriorityInUse"
    second = elb.create_rule(ListenerArn=arn, Priority=20, Conditions=[
        {"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8", "2001:db8::/32"]}}],
        Actions=[{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443",
                                                         "StatusCode": "HTTP_301"}}])["Rules"][0]
    rules = elb.describe_rules(ListenerArn=arn)["Rules"]
    assert [r["Priority"] for r in rules] == ["10", "20", "default"]
    default = rules[-1]
    assert default["IsDefault"] and default["Conditions"] == []
    with pytest.raises(ClientError) as err:
        elb.set_rule_priorities(RulePriorities=[{"RuleArn": second["RuleArn"], "Priority": 10}])
    assert code(err) == "PriorityInUse"
    swapped = elb.set_rule_priorities(RulePriorities=[{"RuleArn": rule["RuleArn"], "Priority": 20},
                                                      {"RuleArn": second["RuleArn"], "Priority": 5}])["Rules"]
    assert {r["RuleArn"]: r["Priority"] for r in swapped} == {rule["RuleArn"]: "20", second["RuleArn"]: "5"}
    modified = elb.modify_rule(RuleArn=rule["RuleArn"], Conditions=[
        {"Field": "host-header", "HostHeaderConfig": {"Values": ["*.example.com"]}}])["Rules"][0]
    assert modified["Conditions"][0]["Values"] == ["*.example.com"]
    with pytest.raises(ClientError) as err:
        elb.delete_rule(RuleArn=default["RuleArn"])
    assert code(err) == "OperationNotPermitted"
    new_default = elb.modify_rule(RuleArn=default["RuleArn"], Actions=[
        {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}])["Rules"][0]
    assert new_default["Actions"][0]["Type"] == "fixed-response"
    assert elb.describe_listeners(ListenerArns=[arn])["Listeners"][0]["DefaultActions"][0]["Type"] == \
        "fixed-response"
    elb.delete_rule(RuleArn=second["RuleArn"])
    with pytest.raises(ClientError) as err:
        elb.describe_rules(RuleArns=[second["RuleArn"]])
    assert code(err) == "RuleNotFound"
    with pytest.raises(ClientError) as err:
        elb.create_rule(ListenerArn=arn, Priority=30, Conditions=[
            {"Field": "host-header", "Values": ["a.example.com", "b.example.com", "c.example.com", "d.example.com"]}],
            Actions=forward(tg))
    assert code(err) == "ValidationError"


def test_register_deregister_and_health_states(elb: Any) -> None:
    tg = new_tg(elb, Port=1)
    arn = tg["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1"}, {"Id": "127.0.0.1", "Port": 2}])
    health = elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    assert [(h["Target"]["Port"], h["TargetHealth"]["State"], h["TargetHealth"]["Reason"]) for h in health] == [
        (1, "unused", "Target.NotInUse"), (2, "unused", "Target.NotInUse")]
    asked = elb.describe_target_health(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.9", "Port": 3}])
    assert asked["TargetHealthDescriptions"][0]["TargetHealth"]["Reason"] == "Target.NotRegistered"
    with pytest.raises(ClientError) as err:
        elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": "not-an-ip"}])
    assert code(err) == "InvalidTarget"
    with pytest.raises(ClientError) as err:
        elb.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": 9}])
    assert code(err) == "InvalidTarget"
    elb.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": 2}])
    health = elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    assert [h["Target"]["Port"] for h in health] == [1]
    lam = elb.create_target_group(Name=name("fn"), TargetType="lambda")["TargetGroups"][0]
    fn = "arn:aws:lambda:us-east-1:000000000000:function:web"
    elb.register_targets(TargetGroupArn=lam["TargetGroupArn"], Targets=[{"Id": fn}])
    with pytest.raises(ClientError) as err:
        elb.register_targets(TargetGroupArn=lam["TargetGroupArn"], Targets=[{"Id": fn + "2"}])
    assert code(err) == "TooManyTargets"


def test_tags_on_every_resource(elb: Any) -> None:
    lb, tg = new_lb(elb), new_tg(elb)
    listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=8095,
                                   DefaultActions=forward(tg), Tags=[{"Key": "a", "Value": "1"}])["Listeners"][0]
    arns = [lb["LoadBalancerArn"], tg["TargetGroupArn"], listener["ListenerArn"]]
    elb.add_tags(ResourceArns=arns, Tags=[{"Key": "env", "Value": "test"}])
    described = {d["ResourceArn"]: d["Tags"] for d in elb.describe_tags(ResourceArns=arns)["TagDescriptions"]}
    assert described[listener["ListenerArn"]] == [{"Key": "a", "Value": "1"}, {"Key": "env", "Value": "test"}]
    elb.remove_tags(ResourceArns=[tg["TargetGroupArn"]], TagKeys=["env"])
    assert elb.describe_tags(ResourceArns=[tg["TargetGroupArn"]])["TagDescriptions"][0]["Tags"] == []
    with pytest.raises(ClientError) as err:
        elb.add_tags(ResourceArns=[lb["LoadBalancerArn"]], Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])
    assert code(err) == "TooManyTags"
    with pytest.raises(ClientError) as err:
        elb.add_tags(ResourceArns=[lb["LoadBalancerArn"] + "0"], Tags=[{"Key": "a", "Value": "b"}])
    assert code(err) == "LoadBalancerNotFound"


def test_limits_and_policies(elb: Any) -> None:
    limits = {entry["Name"]: entry["Max"] for entry in elb.describe_account_limits()["Limits"]}
    assert limits["condition-values-per-alb-rule"] == "5"
    policies = elb.describe_ssl_policies(Names=["ELBSecurityPolicy-2016-08"])["SslPolicies"]
    assert policies[0]["SslProtocols"] == ["TLSv1", "TLSv1.1", "TLSv1.2"]
