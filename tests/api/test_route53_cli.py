"""Route 53 through the AWS CLI v1: create a zone, change records from a JSON change batch, list them, and ask
TestDNSAnswer — the CLI's own serializer and parser against ours."""
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
        done = subprocess.run([exe, "route53", *args, "--output", "json"], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"aws route53 {' '.join(args)}: {done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else {}

    return run


def test_zone_and_records_with_the_cli(aws: Any, tmp_path: Path) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}.test"
    created = aws("create-hosted-zone", "--name", name, "--caller-reference", uuid.uuid4().hex)
    zone_id = created["HostedZone"]["Id"]
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps({"Comment": "from the cli", "Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": {"Name": f"www.{name}", "Type": "A", "TTL": 300,
                                                   "ResourceRecords": [{"Value": "192.0.2.44"}]}},
        {"Action": "UPSERT", "ResourceRecordSet": {"Name": f"{name}", "Type": "MX", "TTL": 300,
                                                   "ResourceRecords": [{"Value": f"10 mail.{name}"}]}}]}))
    change = aws("change-resource-record-sets", "--hosted-zone-id", zone_id, "--change-batch", f"file://{batch}")
    assert change["ChangeInfo"]["Status"] == "INSYNC"
    aws("wait", "resource-record-sets-changed", "--id", change["ChangeInfo"]["Id"])
    listed = aws("list-resource-record-sets", "--hosted-zone-id", zone_id)["ResourceRecordSets"]
    assert [(r["Name"], r["Type"]) for r in listed] == [(f"{name}.", "MX"), (f"{name}.", "NS"), (f"{name}.", "SOA"),
                                                        (f"www.{name}.", "A")]
    answer = aws("test-dns-answer", "--hosted-zone-id", zone_id, "--record-name", f"www.{name}",
                 "--record-type", "A")
    assert answer["RecordData"] == ["192.0.2.44"] and answer["ResponseCode"] == "NOERROR"
    zones = aws("list-hosted-zones-by-name", "--dns-name", name, "--max-items", "1")["HostedZones"]
    assert zones[0]["Id"] == zone_id
