"""Load balancer attributes that change what the listener does, through real sockets: the client idle timeout,
routing.http.drop_invalid_header_fields, routing.http.desync_mitigation_mode (monitor / defensive / strictest with
raw malformed requests), routing.http.x_amzn_tls_version_and_cipher_suite over HTTPS (curl), the X-Forwarded-For
modes and Host header preservation."""
from __future__ import annotations

import http.client
import json
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from miniaws.server import ServerThread
from tests.dataplane.lb_support import Backend, forward, listener_url, load_balancer, request, states, target_group


@pytest.fixture(scope="module")
def backend(server: ServerThread) -> Iterator[Backend]:
    started = Backend(server, "echo").start()
    yield started
    started.stop()


DEFAULTS = {"idle_timeout.timeout_seconds": "60", "routing.http.drop_invalid_header_fields.enabled": "false",
            "routing.http.desync_mitigation_mode": "defensive",
            "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
            "routing.http.xff_client_port.enabled": "false", "routing.http.xff_header_processing.mode": "append",
            "routing.http.preserve_host_header.enabled": "false"}


@pytest.fixture(scope="module")
def lb(elb: Any, backend: Backend) -> tuple[str, str, str]:
    """(load balancer ARN, its HTTP:80 listener's ARN, target group ARN) — a target group belongs to one load
    balancer, so every test reconfigures this one."""
    tg = target_group(elb, [backend])
    lb_arn, listener = load_balancer(elb, forward(tg))
    deadline = time.monotonic() + 10
    while set(states(elb, tg).values()) != {"healthy"}:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return lb_arn, listener, tg


def balancer(server: ServerThread, elb: Any, lb: tuple[str, str, str], attributes: dict[str, str] | None = None,
             protocol: str = "HTTP", port: int = 80) -> str:
    """The URL of the load balancer's listener on (protocol, port) with these attributes (others at defaults)."""
    lb_arn, listener, tg = lb
    elb.modify_load_balancer_attributes(LoadBalancerArn=lb_arn, Attributes=[
        {"Key": key, "Value": value} for key, value in {**DEFAULTS, **(attributes or {})}.items()])
    if (protocol, port) != ("HTTP", 80):
        existing = {(li["Protocol"], li["Port"]): li["ListenerArn"]
                    for li in elb.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]}
        listener = existing.get((protocol, port)) or elb.create_listener(
            LoadBalancerArn=lb_arn, Protocol=protocol, Port=port, DefaultActions=forward(tg),
            **({"Certificates": [{"CertificateArn": "arn:aws:acm:us-east-1:000000000000:certificate/x"}]}
               if protocol == "HTTPS" else {}))["Listeners"][0]["ListenerArn"]
    return listener_url(server.endpoint_url, listener)


class Raw:
    """One client connection that writes bytes as given and reads HTTP responses."""

    def __init__(self, url: str) -> None:
        host, port = url.split("//", 1)[1].rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)

    def exchange(self, data: bytes) -> tuple[http.client.HTTPResponse, bytes]:
        self.sock.sendall(data)
        response = http.client.HTTPResponse(self.sock)
        response.begin()
        return response, response.read()

    def closed_by_peer(self, timeout: float = 10.0) -> bool:
        """True when the load balancer closes the connection within `timeout` (nothing more arrives)."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


def test_idle_client_connections_are_closed(server: ServerThread, elb: Any, lb: tuple[str, str, str]) -> None:
    url = balancer(server, elb, lb, {"idle_timeout.timeout_seconds": "1"})
    silent = Raw(url)  # never sends a request
    used = Raw(url)
    try:
        response, _ = used.exchange(b"GET / HTTP/1.1\r\nHost: app\r\n\r\n")
        assert response.status == 200
        started = time.monotonic()
        assert silent.closed_by_peer() and used.closed_by_peer()
        assert time.monotonic() - started < 8  # well before the 60 s default
    finally:
        silent.close()
        used.close()


def test_drop_invalid_header_fields(server: ServerThread, elb: Any, lb: tuple[str, str, str]) -> None:
    headers = {"X_Custom": "1", "X-Fine": "2"}
    kept = request(balancer(server, elb, lb), "/", headers=headers).json()["headers"]
    assert (kept.get("X_Custom"), kept.get("X-Fine")) == ("1", "2")
    url = balancer(server, elb, lb, {"routing.http.drop_invalid_header_fields.enabled": "true"})
    dropped = request(url, "/", headers=headers).json()["headers"]
    assert "X_Custom" not in dropped and dropped["X-Fine"] == "2"


GET_WITH_BODY = b"GET /g HTTP/1.1\r\nHost: app\r\nContent-Length: 3\r\n\r\nabc"
GET_WITH_ZERO = b"GET /z HTTP/1.1\r\nHost: app\r\nContent-Length: 0\r\n\r\n"
BAD_TE = b"POST /t HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
CL_AND_TE = b"POST /b HTTP/1.1\r\nHost: app\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"


@pytest.mark.parametrize("mode, raw, status, closed", [
    ("monitor", GET_WITH_BODY, 200, False),
    ("monitor", BAD_TE, 200, False),
    ("defensive", GET_WITH_ZERO, 200, False),  # Acceptable
    ("defensive", GET_WITH_BODY, 200, True),  # Ambiguous: served, then both connections closed
    ("defensive", BAD_TE, 400, True),  # Severe
    ("strictest", GET_WITH_ZERO, 400, True),
    ("strictest", GET_WITH_BODY, 400, True),
    ("defensive", CL_AND_TE, 400, True),  # the listener's parser refuses it in any mode
    ("monitor", CL_AND_TE, 400, True),
])
def test_desync_mitigation_modes(server: ServerThread, elb: Any, lb: tuple[str, str, str], backend: Backend,
                                 mode: str, raw: bytes, status: int, closed: bool) -> None:
    url = balancer(server, elb, lb, {"routing.http.desync_mitigation_mode": mode})
    client = Raw(url)
    try:
        before = backend.hits
        response, body = client.exchange(raw)
        assert response.status == status
        if status == 400:
            assert response.getheader("Server") == "awselb/2.0" and b"400 Bad Request" in body
            assert backend.hits == before  # never reached the target
        else:
            assert json.loads(body)["backend"] == "echo"
        assert client.closed_by_peer(timeout=0.5 if not closed else 10) is closed
    finally:
        client.close()


def test_strictest_refuses_non_ascii_header_values(server: ServerThread, elb: Any, lb: tuple[str, str, str]) -> None:
    raw = "GET / HTTP/1.1\r\nHost: app\r\nX-Name: café\r\n\r\n".encode()
    client = Raw(balancer(server, elb, lb, {"routing.http.desync_mitigation_mode": "strictest"}))
    try:
        assert client.exchange(raw)[0].status == 400
    finally:
        client.close()
    client = Raw(balancer(server, elb, lb))
    try:
        assert client.exchange(raw)[0].status == 200  # Acceptable in defensive mode
    finally:
        client.close()


CURL = shutil.which("curl")


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_tls_version_and_cipher_headers(server: ServerThread, elb: Any, lb: tuple[str, str, str]) -> None:
    assert CURL is not None
    url = balancer(server, elb, lb, {"routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "true"},
                   protocol="HTTPS", port=443)
    done = subprocess.run([CURL, "-sk", "--max-time", "10", "--tlsv1.2", "--tls-max", "1.2", f"{url}/tls"],
                          capture_output=True, text=True, timeout=20)
    seen = json.loads(done.stdout)["headers"]
    assert seen["x-amzn-tls-version"] == "TLSv1.2" and "-" in seen["x-amzn-tls-cipher-suite"]  # OpenSSL names
    plain = request(balancer(server, elb, lb, protocol="HTTPS", port=443), "/", context=_unverified()).json()
    assert "x-amzn-tls-version" not in {k.lower() for k in plain["headers"]}


def _unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@pytest.mark.parametrize("attributes, expected", [
    ({}, "203.0.113.7, 127.0.0.1"),
    ({"routing.http.xff_client_port.enabled": "true"}, "203.0.113.7, 127.0.0.1:"),
    ({"routing.http.xff_header_processing.mode": "preserve"}, "203.0.113.7"),
    ({"routing.http.xff_header_processing.mode": "remove"}, None),
])
def test_x_forwarded_for_modes(server: ServerThread, elb: Any, lb: tuple[str, str, str], attributes: dict[str, str],
                               expected: str | None) -> None:
    seen = request(balancer(server, elb, lb, attributes), "/", headers={"X-Forwarded-For": "203.0.113.7"}).json()
    value = seen["headers"].get("X-Forwarded-For")
    if expected is None or not expected.endswith(":"):
        assert value == expected
    else:
        assert value.startswith(expected) and value.rsplit(":", 1)[1].isdigit()


def test_host_header_gets_the_listener_port_unless_preserved(server: ServerThread, elb: Any,
                                                            lb: tuple[str, str, str]) -> None:
    seen = request(balancer(server, elb, lb, port=8088), "/", headers={"Host": "app.example.com"}).json()
    assert seen["headers"]["Host"] == "app.example.com:8088"
    url = balancer(server, elb, lb, {"routing.http.preserve_host_header.enabled": "true"}, port=8088)
    assert request(url, "/", headers={"Host": "app.example.com"}).json()["headers"]["Host"] == "app.example.com"
