"""Route 53 state is durable: zones, record sets (with policies and aliases), changes, tags and health checks
survive a restart on the same data directory, and the restarted DNS server answers from them."""
from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from tests.api.conftest import make_client
from tests.dataplane.conftest import a_values, ask, start


def test_zones_records_and_checks_survive_a_restart(tmp_path: Path) -> None:
    first = start(ephemeral=False, data_dir=str(tmp_path))
    try:
        r53 = make_client(first.endpoint_url, "route53")
        zone = r53.create_hosted_zone(Name="durable.test", CallerReference=uuid.uuid4().hex,
                                      HostedZoneConfig={"Comment": "keep me"})
        zone_id, bare = zone["HostedZone"]["Id"], zone["HostedZone"]["Id"].split("/")[-1]
        check = r53.create_health_check(CallerReference="durable-check", HealthCheckConfig={
            "Type": "TCP", "IPAddress": "127.0.0.1", "Port": 9, "RequestInterval": 10})["HealthCheck"]
        change = r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
            {"Action": "CREATE", "ResourceRecordSet": {"Name": "www.durable.test", "Type": "A", "TTL": 60,
                                                       "ResourceRecords": [{"Value": "192.0.2.1"}]}},
            {"Action": "CREATE", "ResourceRecordSet": {
                "Name": "w.durable.test", "Type": "A", "TTL": 60, "SetIdentifier": "one", "Weight": 5,
                "HealthCheckId": check["Id"], "ResourceRecords": [{"Value": "192.0.2.2"}]}},
            {"Action": "CREATE", "ResourceRecordSet": {
                "Name": "durable.test", "Type": "A",
                "AliasTarget": {"HostedZoneId": bare, "DNSName": "www.durable.test", "EvaluateTargetHealth": True}}},
        ]})["ChangeInfo"]
        r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=bare,
                                     AddTags=[{"Key": "k", "Value": "v"}])
        before = r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        servers = r53.get_hosted_zone(Id=zone_id)["DelegationSet"]
    finally:
        first.stop()

    second = start(ephemeral=False, data_dir=str(tmp_path))
    try:
        r53 = make_client(second.endpoint_url, "route53")
        got: Any = r53.get_hosted_zone(Id=zone_id)
        assert got["HostedZone"]["Config"]["Comment"] == "keep me" and got["DelegationSet"] == servers
        assert r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"] == before
        assert r53.get_change(Id=change["Id"])["ChangeInfo"]["Status"] == "INSYNC"
        assert r53.get_health_check(HealthCheckId=check["Id"])["HealthCheck"] == check
        assert r53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=bare)["ResourceTagSet"]["Tags"] \
            == [{"Key": "k", "Value": "v"}]
        assert second.server.dns is not None
        port = second.server.dns.port
        assert a_values(ask(port, "durable.test")) == ["192.0.2.1"]
        assert a_values(ask(port, "WWW.durable.test", tcp=True)) == ["192.0.2.1"]
        # the restored check is probing again (nothing listens on port 9)
        observations = []
        for _ in range(200):
            observations = r53.get_health_check_status(HealthCheckId=check["Id"])["HealthCheckObservations"]
            if observations[0]["StatusReport"]["Status"].startswith("Failure"):
                break
            time.sleep(0.01)
        assert observations[0]["StatusReport"]["Status"].startswith("Failure")
    finally:
        second.stop()
