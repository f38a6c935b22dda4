"""The AWS CLI (v1, from the test venv) against the session server: create-key, encrypt and decrypt round trip
with an encryption context, in the CLI's own binary and base64 handling (fileb:// in, base64 text out).
"""
from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest
from tests.helpers.awscli import aws_executable as _aws

pytestmark = pytest.mark.subprocess


def test_cli_encrypt_decrypt_round_trip(endpoint: str, tmp_path: Path) -> None:
    for name in ("config", "credentials"):
        (tmp_path / name).write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "100000000041", "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"), "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_PAGER": "", "HOME": str(tmp_path)})

    def aws(*args: str) -> str:
        done = subprocess.run([_aws(), "--endpoint-url", endpoint, "--output", "text", "kms", *args], env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    key_id = aws("create-key", "--description", "cli", "--query", "KeyMetadata.KeyId")
    aws("create-alias", "--alias-name", "alias/cli", "--target-key-id", key_id)
    (tmp_path / "plain.bin").write_bytes(b"\x00secret\xff")
    blob = aws("encrypt", "--key-id", "alias/cli", "--plaintext", f"fileb://{tmp_path / 'plain.bin'}",
               "--encryption-context", "purpose=cli", "--query", "CiphertextBlob")
    (tmp_path / "blob.bin").write_bytes(base64.b64decode(blob))
    plain = aws("decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'blob.bin'}", "--encryption-context",
                "purpose=cli", "--query", "Plaintext")
    assert base64.b64decode(plain) == b"\x00secret\xff"
