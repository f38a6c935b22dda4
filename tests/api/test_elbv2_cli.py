"""ELBv2 through the AWS CLI v1: a load balancer, a target group, a listener and a rule from the command line —
the CLI's own query serializer and XML parser against ours."""
from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from tests.helpers.awscli import aws_executable as _aws
from tests.helpers.awscli import cli_environment

pytestmark = pytest.mark.subprocess


@pytest.fixture
def aws(endpoint: str, tmp_path: Path) -> Any:
    env = cli_environment(endpoint, tmp_path / "home")
    exe = _aws()

    def run(*args: str) -> Any:
        done = subprocess.run([exe, "elbv2", *args, "--output", "json"], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"aws elbv2 {' '.join(args)}: {done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else {}

    return run


def test_load_balancer_from_the_cli(aws: Any) -> None:
    suffix = uuid.uuid4().hex[:8]
    lb = aws("create-load-balancer", "--name", f"cli-{suffix}", "--subnets", "subnet-1", "subnet-2")[
        "LoadBalancers"][0]
    tg = aws("create-target-group", "--name", f"cli-tg-{suffix}", "--protocol", "HTTP", "--port", "8080",
             "--vpc-id", "vpc-1", "--target-type", "ip", "--health-check-path", "/health")["TargetGroups"][0]
    aws("register-targets", "--target-group-arn", tg["TargetGroupArn"], "--targets", "Id=127.0.0.1,Port=8081")
    listener = aws("create-listener", "--load-balancer-arn", lb["LoadBalancerArn"], "--protocol", "HTTP",
                   "--port", "8280", "--default-actions",
                   f"Type=forward,TargetGroupArn={tg['TargetGroupArn']}")["Listeners"][0]
    rule = aws("create-rule", "--listener-arn", listener["ListenerArn"], "--priority", "5", "--conditions",
               json.dumps([{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}]), "--actions",
               json.dumps([{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "204"}}]))["Rules"][0]
    assert rule["Priority"] == "5"
    rules = aws("describe-rules", "--listener-arn", listener["ListenerArn"])["Rules"]
    assert [r["Priority"] for r in rules] == ["5", "default"]
    health = aws("describe-target-health", "--target-group-arn", tg["TargetGroupArn"])
    assert health["TargetHealthDescriptions"][0]["Target"] == {"Id": "127.0.0.1", "Port": 8081}
    described = aws("describe-load-balancers", "--names", f"cli-{suffix}")["LoadBalancers"][0]
    assert described["State"]["Code"] == "active" and described["DNSName"] == lb["DNSName"]
    aws("delete-load-balancer", "--load-balancer-arn", lb["LoadBalancerArn"])
