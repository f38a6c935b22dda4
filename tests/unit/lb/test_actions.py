"""Action normalization (as Describe* shows it) and AWS's action errors."""
from __future__ import annotations

from typing import Any

import pytest

from miniaws.services.elbv2.actions import normalize
from miniaws.services.elbv2.errors import (InvalidLoadBalancerAction, TargetGroupNotFound, TooManyActions,
                                           ValidationError)

TG1 = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/a/1"
TG2 = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/b/2"


def lookup(arn: str) -> str:
    if arn not in (TG1, TG2):
        raise TargetGroupNotFound()
    return arn


def test_forward_to_one_group_shows_both_forms() -> None:
    [action] = normalize([{"Type": "forward", "TargetGroupArn": TG1}], lookup)
    assert action == {"Type": "forward", "TargetGroupArn": TG1, "Order": 1,
                      "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": TG1, "Weight": 1}],
                                        "TargetGroupStickinessConfig": {"Enabled": False}}}


def test_weighted_forward_with_stickiness() -> None:
    [action] = normalize([{"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": TG1, "Weight": 80}, {"TargetGroupArn": TG2, "Weight": 20}],
        "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 60}}}], lookup)
    assert "TargetGroupArn" not in action
    assert action["ForwardConfig"]["TargetGroupStickinessConfig"] == {"Enabled": True, "DurationSeconds": 60}


def test_redirect_defaults_to_placeholders() -> None:
    [action] = normalize([{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443",
                                                                  "StatusCode": "HTTP_301"}}], lookup)
    assert action["RedirectConfig"] == {"Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}",
                                        "Query": "#{query}", "StatusCode": "HTTP_301"}


@pytest.mark.parametrize("actions, error", [
    ([], ValidationError),
    ([{"Type": "forward", "TargetGroupArn": "arn:nope"}], TargetGroupNotFound),
    ([{"Type": "authenticate-oidc", "AuthenticateOidcConfig": {}}], InvalidLoadBalancerAction),
    ([{"Type": "authenticate-cognito"}], InvalidLoadBalancerAction),
    ([{"Type": "forward", "TargetGroupArn": TG1}, {"Type": "fixed-response",
                                                   "FixedResponseConfig": {"StatusCode": "200"}}], TooManyActions),
    ([{"Type": "redirect", "RedirectConfig": {"StatusCode": "HTTP_301"}}], InvalidLoadBalancerAction),
    ([{"Type": "redirect", "RedirectConfig": {"Path": "x", "StatusCode": "HTTP_301"}}], ValidationError),
    ([{"Type": "redirect", "RedirectConfig": {"Port": "443", "StatusCode": "HTTP_307"}}], ValidationError),
    ([{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "302"}}], ValidationError),
    ([{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "ContentType": "image/png"}}],
     ValidationError),
    ([{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "MessageBody": "x" * 1025}}],
     ValidationError),
    ([{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": TG1, "Weight": 1000}]}}],
     ValidationError),
    ([{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": TG1}],
                                            "TargetGroupStickinessConfig": {"Enabled": True}}}], ValidationError),
])
def test_invalid_actions(actions: list[dict[str, Any]], error: type[Exception]) -> None:
    with pytest.raises(error):
        normalize(actions, lookup)
