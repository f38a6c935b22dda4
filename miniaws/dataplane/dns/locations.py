"""Where a DNS client is, for latency and geolocation routing: a small table instead of a GeoIP database.

The client address is the EDNS Client Subnet (RFC 7871) when the query has one, else the packet's source. The
table (`dns_locations_file`, format in conf/dns-locations.toml) maps subnets to a region and optionally a
continent/country/subdivision; the longest matching prefix wins. A subnet given only a region takes that region's
location below. Latency between regions defaults to one millisecond per 100 km of great-circle distance between
the regions' cities plus 5 ms, overridable per pair in the file. Clients that match nothing are in `[default]`
region (the configured region) with an unknown location, so geolocation answers them with the `*` record.
"""
from __future__ import annotations

import ipaddress
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from miniaws.config import ConfigError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Location:
    region: str
    continent: str | None = None
    country: str | None = None
    subdivision: str | None = None


#: region → (latitude, longitude, continent, country, subdivision) of the city it is in
REGIONS: dict[str, tuple[float, float, str, str, str | None]] = {
    "us-east-1": (38.9, -77.4, "NA", "US", "VA"), "us-east-2": (40.0, -83.0, "NA", "US", "OH"),
    "us-west-1": (37.4, -122.0, "NA", "US", "CA"), "us-west-2": (45.8, -119.7, "NA", "US", "OR"),
    "ca-central-1": (45.5, -73.6, "NA", "CA", None), "ca-west-1": (51.0, -114.1, "NA", "CA", None),
    "mx-central-1": (20.6, -100.4, "NA", "MX", None), "sa-east-1": (-23.5, -46.6, "SA", "BR", None),
    "eu-west-1": (53.3, -6.3, "EU", "IE", None), "eu-west-2": (51.5, -0.1, "EU", "GB", None),
    "eu-west-3": (48.9, 2.35, "EU", "FR", None), "eu-central-1": (50.1, 8.7, "EU", "DE", None),
    "eu-central-2": (47.4, 8.5, "EU", "CH", None), "eu-north-1": (59.3, 18.1, "EU", "SE", None),
    "eu-south-1": (45.5, 9.2, "EU", "IT", None), "eu-south-2": (41.6, -0.9, "EU", "ES", None),
    "me-south-1": (26.1, 50.6, "AS", "BH", None), "me-central-1": (25.2, 55.3, "AS", "AE", None),
    "il-central-1": (32.1, 34.8, "AS", "IL", None), "af-south-1": (-33.9, 18.4, "AF", "ZA", None),
    "ap-east-1": (22.3, 114.2, "AS", "HK", None), "ap-south-1": (19.1, 72.9, "AS", "IN", None),
    "ap-south-2": (17.4, 78.5, "AS", "IN", None), "ap-northeast-1": (35.7, 139.7, "AS", "JP", None),
    "ap-northeast-2": (37.6, 127.0, "AS", "KR", None), "ap-northeast-3": (34.7, 135.5, "AS", "JP", None),
    "ap-southeast-1": (1.35, 103.8, "AS", "SG", None), "ap-southeast-2": (-33.9, 151.2, "OC", "AU", None),
    "ap-southeast-3": (-6.2, 106.8, "AS", "ID", None), "ap-southeast-4": (-37.8, 145.0, "OC", "AU", None),
    "ap-southeast-5": (3.1, 101.7, "AS", "MY", None),
}


class LocationsError(ConfigError):
    """A locations file that cannot be used (the message names the file and the entry)."""


def _distance_km(a: str, b: str) -> float:
    lat1, lon1 = (math.radians(v) for v in REGIONS[a][:2])
    lat2, lon2 = (math.radians(v) for v in REGIONS[b][:2])
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(h))


def region_location(region: str) -> Location:
    row = REGIONS.get(region)
    if row is None:
        return Location(region)
    return Location(region, row[2], row[3], row[4])


class Locations:
    def __init__(self, default_region: str, subnets: list[tuple[IPNetwork, Location]] | None = None,
                 latency: dict[tuple[str, str], float] | None = None) -> None:
        self.default = Location(default_region)
        # longest prefix first, so the first match is the most specific
        self.subnets = sorted(subnets or [], key=lambda pair: -pair[0].prefixlen)
        self.overrides = dict(latency or {})
        self._latency: dict[tuple[str, str], float] = {}
        #: locate() results by address: clients repeat, and parsing an address costs more than the lookup
        self._seen: dict[Any, tuple[Location, int | None]] = {}

    def locate(self, address: IPAddress | None) -> tuple[Location, int | None]:
        """The client's location and the prefix length of the table entry that placed it (None: default)."""
        if address is not None:
            for network, location in self.subnets:
                if address.version == network.version and address in network:
                    return location, network.prefixlen
        return self.default, None

    def locate_text(self, address: str | bytes) -> tuple[Location, int | None]:
        """locate() for an address as text (a packet's source) or packed bytes (an ECS address), memoized."""
        found = self._seen.get(address)
        if found is None:
            try:
                parsed: IPAddress | None = ipaddress.ip_address(address)
            except ValueError:
                parsed = None
            found = self.locate(parsed)
            if len(self._seen) >= 4096:
                self._seen.clear()
            self._seen[address] = found
        return found

    def latency(self, client_region: str, record_region: str) -> float:
        """Milliseconds from a client in `client_region` to a record's region (lower is preferred)."""
        key = (client_region, record_region)
        cached = self._latency.get(key)
        if cached is not None:
            return cached
        if key in self.overrides:
            value = self.overrides[key]
        elif client_region == record_region:
            value = 0.0
        elif client_region in REGIONS and record_region in REGIONS:
            value = 5.0 + _distance_km(client_region, record_region) / 100.0
        else:
            value = 1000.0  # an unknown region is never nearer than a known one
        self._latency[key] = value
        return value

    @classmethod
    def load(cls, path: str | Path | None, default_region: str) -> "Locations":
        if path is None:
            return cls(default_region)
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise LocationsError(f"{path}: {exc}") from None
        return cls.from_dict(data, default_region, str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], default_region: str, source: str = "locations") -> "Locations":
        region = str(data.get("default", {}).get("region", default_region))
        subnets: list[tuple[IPNetwork, Location]] = []
        for index, entry in enumerate(data.get("subnet", [])):
            try:
                network = ipaddress.ip_network(str(entry["cidr"]), strict=False)
                base = region_location(str(entry.get("region", region)))
                location = Location(base.region, entry.get("continent", base.continent),
                                    entry.get("country", base.country), entry.get("subdivision", base.subdivision))
            except (KeyError, ValueError) as exc:
                raise LocationsError(f"{source}: subnet #{index + 1}: {exc}") from None
            subnets.append((network, location))
        latency: dict[tuple[str, str], float] = {}
        for client_region, targets in data.get("latency", {}).items():
            if not isinstance(targets, dict):
                raise LocationsError(f"{source}: latency.{client_region} must be a table")
            for record_region, millis in targets.items():
                latency[(client_region, record_region)] = float(millis)
        return cls(region, subnets, latency)
