"""Running the AWS CLI v1 in tests: where it is, and an environment that sees only miniaws."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest


def aws_executable() -> str:
    """The `aws` installed beside this interpreter (the test extra installs it), else the one on PATH."""
    candidate = Path(sys.executable).parent / "aws"
    found = str(candidate) if candidate.exists() else shutil.which("aws")
    if found is None:
        pytest.skip("the AWS CLI is not installed")
    return found


def cli_environment(endpoint: str, home: Path, access_key: str = "test", secret_key: str = "test") -> dict[str, str]:
    """This process's environment without any AWS_* variable or host configuration, pointed at `endpoint`."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config").touch()
    (home / "credentials").touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key,
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(home / "config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"), "AWS_PAGER": "",
                "AWS_EC2_METADATA_DISABLED": "true", "HOME": str(home)})
    return env
