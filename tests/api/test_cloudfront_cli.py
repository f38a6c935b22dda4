"""The AWS CLI (v1, from the test venv) against the session server: its create-distribution shorthand
(--origin-domain-name, which fills in a whole DistributionConfig client-side) and create-invalidation --paths."""
from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from tests.helpers.awscli import aws_executable as _aws

pytestmark = pytest.mark.subprocess


def test_cli_shorthand_distribution_and_invalidation(endpoint: str, tmp_path: Path) -> None:
    for name in ("config", "credentials"):
        (tmp_path / name).write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "", "HOME": str(tmp_path)})

    def aws(*args: str) -> Any:
        done = subprocess.run([_aws(), "--endpoint-url", endpoint, "--output", "json", "cloudfront", *args], env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None

    bucket = f"cli-{uuid.uuid4().hex[:10]}"
    created = aws("create-distribution", "--origin-domain-name", f"{bucket}.s3.amazonaws.com",
                  "--default-root-object", "index.html")["Distribution"]
    config = created["DistributionConfig"]
    assert config["DefaultRootObject"] == "index.html" and config["Enabled"] is True
    assert config["Origins"]["Items"][0]["DomainName"] == f"{bucket}.s3.amazonaws.com"
    ident = created["Id"]
    aws("wait", "distribution-deployed", "--id", ident)
    invalidation = aws("create-invalidation", "--distribution-id", ident, "--paths", "/*", "/index.html")
    assert invalidation["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] == ["/*", "/index.html"]
    listed = aws("list-invalidations", "--distribution-id", ident)["InvalidationList"]["Items"]
    assert [i["Status"] for i in listed] == ["Completed"]
