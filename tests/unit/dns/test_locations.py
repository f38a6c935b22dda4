"""The client-location table: the shipped example loads, longest prefix wins, latency overrides and estimates."""
from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from miniaws.config import load_config
from miniaws.dataplane.dns.locations import Location, Locations, LocationsError

EXAMPLE = Path(__file__).resolve().parents[3] / "conf" / "dns-locations.toml"


def test_the_shipped_example_loads() -> None:
    table = Locations.load(EXAMPLE, "us-west-1")
    assert table.default == Location("us-east-1")
    ireland, prefix = table.locate(ipaddress.ip_address("10.1.200.3"))
    assert ireland == Location("eu-west-1", "EU", "IE", None) and prefix == 16
    assert table.locate(ipaddress.ip_address("10.2.0.1"))[0] == Location("us-west-2", "NA", "US", "OR")
    assert table.locate(ipaddress.ip_address("2001:db8:1::5"))[0].region == "eu-central-1"
    assert table.locate(ipaddress.ip_address("192.0.2.1")) == (Location("us-east-1"), None)
    assert table.latency("eu-west-1", "us-east-1") == 70
    # the file is also accepted as the dns_locations_file setting
    assert load_config(env={"MINIAWS_DNS_LOCATIONS_FILE": str(EXAMPLE)}).dns_locations_file == str(EXAMPLE)


def test_longest_prefix_wins() -> None:
    table = Locations.from_dict({"subnet": [{"cidr": "10.0.0.0/8", "region": "us-east-1"},
                                            {"cidr": "10.9.0.0/16", "region": "ap-northeast-1"}]}, "us-east-1")
    assert table.locate(ipaddress.ip_address("10.9.1.1")) == (Location("ap-northeast-1", "AS", "JP", None), 16)
    assert table.locate(ipaddress.ip_address("10.8.1.1"))[1] == 8


def test_latency_estimates_follow_distance() -> None:
    table = Locations("us-east-1")
    assert table.latency("eu-west-1", "eu-west-1") == 0
    assert table.latency("eu-west-1", "eu-west-2") < table.latency("eu-west-1", "us-east-1")
    assert table.latency("eu-west-1", "us-east-1") < table.latency("eu-west-1", "ap-southeast-2")
    assert table.latency("eu-west-1", "mars-north-1") == 1000


def test_bad_entries_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "locations.toml"
    bad.write_text('[[subnet]]\ncidr = "10.0.0.0/33"\n')
    with pytest.raises(LocationsError, match="subnet #1"):
        Locations.load(bad, "us-east-1")
