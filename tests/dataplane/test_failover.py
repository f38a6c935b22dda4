"""Health checks that really probe: a real local HTTP endpoint goes down and the DNS answer flips to the
SECONDARY after FailureThreshold failed probes, then back when it returns. Intervals are scaled by 0.01."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from miniaws.server import ServerThread
from tests.dataplane.conftest import SCALE, Endpoint, a_values, ask, change, dig, needs_dig, new_zone


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> float:
    """Seconds until `predicate()` held (polling every 10 ms); fails after `timeout`."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)
    return time.monotonic() - started


def create_check(r53: Any, **config: Any) -> str:
    config = {"Type": "HTTP", "IPAddress": "127.0.0.1", "RequestInterval": 10, "FailureThreshold": 2, **config}
    check: str = r53.create_health_check(CallerReference=uuid.uuid4().hex, HealthCheckConfig=config)["HealthCheck"]["Id"]
    return check


def status(r53: Any, check_id: str) -> str:
    observations = r53.get_health_check_status(HealthCheckId=check_id)["HealthCheckObservations"]
    return str(observations[0]["StatusReport"]["Status"])


@needs_dig
def test_failover_follows_a_real_endpoint_down_and_back_up(server: ServerThread, r53: Any, dns_port: int) -> None:
    endpoint = Endpoint(server).start()
    check_id = create_check(r53, Port=endpoint.port, ResourcePath="/health")
    zone_id, name = new_zone(r53)
    record = {"Name": "app." + name, "Type": "A", "TTL": 5}
    change(r53, zone_id,
           {**record, "SetIdentifier": "primary", "Failover": "PRIMARY", "HealthCheckId": check_id,
            "ResourceRecords": [{"Value": "192.0.2.10"}]},
           {**record, "SetIdentifier": "secondary", "Failover": "SECONDARY",
            "ResourceRecords": [{"Value": "192.0.2.20"}]})
    wait_for(lambda: endpoint.hits >= 2)
    assert dig(dns_port, "+short", "app." + name).split() == ["192.0.2.10"]
    assert status(r53, check_id) == "Success: HTTP Status Code 200, OK"

    endpoint.stop()
    # 2 failures at a (scaled) 0.1 s interval: about 0.2 s, never more than a few intervals
    flipped = wait_for(lambda: a_values(ask(dns_port, "app." + name)) == ["192.0.2.20"])
    assert flipped < 10 * 10 * SCALE
    assert dig(dns_port, "+short", "app." + name).split() == ["192.0.2.20"]
    assert dig(dns_port, "+short", "+tcp", "app." + name).split() == ["192.0.2.20"]
    assert status(r53, check_id).startswith("Failure: Connection refused")
    reason = r53.get_health_check_last_failure_reason(HealthCheckId=check_id)["HealthCheckObservations"]
    assert reason and reason[0]["StatusReport"]["Status"].startswith("Failure: Connection refused")

    endpoint.start()  # same port again
    back = wait_for(lambda: a_values(ask(dns_port, "app." + name)) == ["192.0.2.10"])
    assert back < 10 * 10 * SCALE
    endpoint.stop()


def test_status_codes_and_search_strings(server: ServerThread, r53: Any) -> None:
    failing = Endpoint(server, status=503).start()
    matching = Endpoint(server, body="service: READY").start()
    bad_code = create_check(r53, Port=failing.port)
    found = create_check(r53, Type="HTTP_STR_MATCH", Port=matching.port, SearchString="READY")
    missing = create_check(r53, Type="HTTP_STR_MATCH", Port=matching.port, SearchString="DEGRADED")
    wait_for(lambda: status(r53, bad_code).startswith("Failure") and status(r53, missing).startswith("Failure")
             and status(r53, found).startswith("Success"))
    assert status(r53, bad_code) == "Failure: HTTP Status Code 503, Service Unavailable"
    assert "did not contain the search string" in status(r53, missing)
    failing.stop()
    matching.stop()


def test_tcp_checks(server: ServerThread, r53: Any) -> None:
    endpoint = Endpoint(server).start()
    check_id = create_check(r53, Type="TCP", Port=endpoint.port)
    wait_for(lambda: status(r53, check_id) == "Success: TCP connection established")
    endpoint.stop()
    wait_for(lambda: status(r53, check_id).startswith("Failure"))


def test_inverted_disabled_and_calculated_checks_drive_dns(server: ServerThread, r53: Any, dns_port: int) -> None:
    up = Endpoint(server).start()
    healthy = create_check(r53, Port=up.port)
    inverted = create_check(r53, Port=up.port, Inverted=True)
    calculated = r53.create_health_check(CallerReference=uuid.uuid4().hex, HealthCheckConfig={
        "Type": "CALCULATED", "ChildHealthChecks": [healthy, inverted], "HealthThreshold": 2})["HealthCheck"]["Id"]
    zone_id, name = new_zone(r53)
    rr = {"Name": "w." + name, "Type": "A", "TTL": 5}
    change(r53, zone_id,
           {**rr, "SetIdentifier": "inv", "Weight": 100, "HealthCheckId": inverted,
            "ResourceRecords": [{"Value": "192.0.2.1"}]},
           {**rr, "SetIdentifier": "calc", "Weight": 100, "HealthCheckId": calculated,
            "ResourceRecords": [{"Value": "192.0.2.2"}]},
           {**rr, "SetIdentifier": "ok", "Weight": 1, "HealthCheckId": healthy,
            "ResourceRecords": [{"Value": "192.0.2.3"}]})
    # the inverted check is unhealthy, so the calculated one (needs 2 of 2) is too: only "ok" remains
    wait_for(lambda: all(a_values(ask(dns_port, "w." + name)) == ["192.0.2.3"] for _ in range(10)))
    r53.update_health_check(HealthCheckId=inverted, Disabled=True)  # disabled checks count as healthy
    wait_for(lambda: {v for _ in range(30) for v in a_values(ask(dns_port, "w." + name))} >= {"192.0.2.1",
                                                                                           "192.0.2.2"})
    up.stop()


def test_health_check_api(r53: Any) -> None:
    reference = uuid.uuid4().hex
    config = {"Type": "HTTPS", "FullyQualifiedDomainName": "app.localhost", "RequestInterval": 30}
    created = r53.create_health_check(CallerReference=reference, HealthCheckConfig=config)
    check = created["HealthCheck"]
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201 and created["Location"].endswith(check["Id"])
    filled = check["HealthCheckConfig"]
    assert (filled["Port"], filled["ResourcePath"], filled["FailureThreshold"], filled["EnableSNI"],
            filled["Inverted"], filled["Disabled"], check["HealthCheckVersion"]) == (443, "/", 3, True, False,
                                                                                     False, 1)
    # the same request again is the same check; the same reference with other settings is a conflict
    again = r53.create_health_check(CallerReference=reference, HealthCheckConfig=config)
    assert again["HealthCheck"]["Id"] == check["Id"]
    with pytest.raises(ClientError) as err:
        r53.create_health_check(CallerReference=reference, HealthCheckConfig={**config, "RequestInterval": 10})
    assert err.value.response["Error"]["Code"] == "HealthCheckAlreadyExists"

    updated = r53.update_health_check(HealthCheckId=check["Id"], HealthCheckVersion=1, ResourcePath="/ping",
                                      FailureThreshold=5)["HealthCheck"]
    assert updated["HealthCheckVersion"] == 2 and updated["HealthCheckConfig"]["ResourcePath"] == "/ping"
    with pytest.raises(ClientError) as err:
        r53.update_health_check(HealthCheckId=check["Id"], HealthCheckVersion=1, FailureThreshold=4)
    assert err.value.response["Error"]["Code"] == "HealthCheckVersionMismatch"
    reset = r53.update_health_check(HealthCheckId=check["Id"], ResetElements=["ResourcePath"])["HealthCheck"]
    assert reset["HealthCheckConfig"]["ResourcePath"] == "/"

    assert r53.get_health_check(HealthCheckId=check["Id"])["HealthCheck"]["HealthCheckVersion"] == 3
    listed = [c["Id"] for c in r53.list_health_checks()["HealthChecks"]]
    assert check["Id"] in listed
    assert r53.get_health_check_count()["HealthCheckCount"] == len(listed)
    r53.delete_health_check(HealthCheckId=check["Id"])
    with pytest.raises(ClientError) as err:
        r53.get_health_check(HealthCheckId=check["Id"])
    assert err.value.response["Error"]["Code"] == "NoSuchHealthCheck"


@pytest.mark.parametrize("config,fragment", [
    ({"Type": "HTTP"}, "IPAddress or FullyQualifiedDomainName"),
    ({"Type": "HTTP_STR_MATCH", "IPAddress": "127.0.0.1"}, "SearchString"),
    ({"Type": "TCP", "IPAddress": "127.0.0.1"}, "Port"),
    ({"Type": "HTTP", "IPAddress": "127.0.0.1", "RequestInterval": 20}, "RequestInterval"),
    ({"Type": "CALCULATED", "ChildHealthChecks": []}, "HealthThreshold"),
])
def test_invalid_health_check_configs(r53: Any, config: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ClientError) as err:
        r53.create_health_check(CallerReference=uuid.uuid4().hex, HealthCheckConfig=config)
    assert err.value.response["Error"]["Code"] == "InvalidInput" and fragment in err.value.response["Error"]["Message"]
