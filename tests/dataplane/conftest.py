"""A miniaws with its DNS server on free loopback ports, health checks sped up 100×, the example locations
table and a seeded random source; plus small HTTP endpoints (aiohttp, on the server's loop) to health-check."""
from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from dnslib import QTYPE, DNSRecord

from miniaws.config import load_config
from miniaws.server import ServerThread
from tests.api.conftest import make_client

LOCATIONS = Path(__file__).resolve().parents[2] / "conf" / "dns-locations.toml"
#: a 10 s RequestInterval probes every 0.1 s
SCALE = 0.01


def start(**settings: Any) -> ServerThread:
    overrides = {"port": 0, "dns_port": 0, "edge_port": 0, "ephemeral": True, "health_check_interval_scale": SCALE,
                 "dns_locations_file": str(LOCATIONS), "dns_random_seed": 7, **settings}
    return ServerThread(load_config(env={}, overrides=overrides)).start()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    thread = start()
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def elb(server: ServerThread) -> Any:
    return make_client(server.endpoint_url, "elbv2")


@pytest.fixture(scope="module")
def r53(server: ServerThread) -> Any:
    return make_client(server.endpoint_url, "route53")


@pytest.fixture(scope="module")
def dns_port(server: ServerThread) -> int:
    assert server.server.dns is not None
    return server.server.dns.port


def new_zone(r53: Any) -> tuple[str, str]:
    name = f"dp-{uuid.uuid4().hex[:10]}.test."
    zone = r53.create_hosted_zone(Name=name, CallerReference=uuid.uuid4().hex)["HostedZone"]
    return zone["Id"], name


def change(r53: Any, zone_id: str, *rrsets: dict[str, Any], action: str = "CREATE") -> None:
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={
        "Changes": [{"Action": action, "ResourceRecordSet": r} for r in rrsets]})


def ask(port: int, name: str, qtype: str = "A", tcp: bool = False) -> DNSRecord:
    """A dnslib client query (no dig needed)."""
    reply = DNSRecord.question(name, qtype).send("127.0.0.1", port, tcp=tcp, timeout=2)
    return DNSRecord.parse(reply)


def a_values(response: DNSRecord) -> list[str]:
    return sorted(rr.rdata.toZone() for rr in response.rr if rr.rtype == QTYPE.A)


DIG = shutil.which("dig")
needs_dig = pytest.mark.skipif(DIG is None, reason="dig is not installed (apt-get install dnsutils; .ci/run does)")


def dig(port: int, *args: str) -> str:
    assert DIG is not None
    done = subprocess.run([DIG, "@127.0.0.1", "-p", str(port), "+time=2", "+tries=1", *args],
                          capture_output=True, text=True, timeout=20)
    return done.stdout


class Endpoint:
    """An HTTP endpoint for health checks, served on the miniaws loop; stop() makes its port refuse."""

    def __init__(self, thread: ServerThread, body: str = "OK all good", status: int = 200) -> None:
        self.thread = thread
        self.body = body
        self.status = status
        self.port = 0
        self.hits = 0
        self._runner: web.AppRunner | None = None

    async def _handler(self, request: web.Request) -> web.Response:
        self.hits += 1
        return web.Response(status=self.status, text=self.body)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> "Endpoint":
        self.thread.call(self._start())
        return self

    def stop(self) -> None:
        self.thread.call(self._stop())
