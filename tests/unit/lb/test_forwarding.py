"""Headers the load balancer sends a target (X-Forwarded-* modes, hop-by-hop removal, invalid names, Host port,
TLS facts) and its desync mitigation classification and verdicts, as case tables."""
from __future__ import annotations

import pytest

from miniaws.dataplane.lb import desync, forwarding
from miniaws.dataplane.lb.forwarding import Settings

RAW = [(b"Host", b"app.example.com"), (b"X-Forwarded-For", b"203.0.113.7"), (b"Connection", b"keep-alive, X-Hop"),
       (b"X-Hop", b"1"), (b"X_Under", b"2"), (b"Keep-Alive", b"timeout=5"), (b"Content-Length", b"3"),
       (b"X-Forwarded-Proto", b"forged"), (b"Accept", b"*/*")]


def sent(settings: Settings, raw: list[tuple[bytes, bytes]] = RAW, tls: tuple[str, str] | None = None) -> dict[
        bytes, list[bytes]]:
    out: dict[bytes, list[bytes]] = {}
    for name, value in forwarding.headers(raw, settings, "198.51.100.2", 40000, tls):
        out.setdefault(name.lower(), []).append(value)
    return out


def test_defaults_append_and_strip_hop_by_hop() -> None:
    headers = sent(Settings("http", 10080, 80))
    assert headers[b"x-forwarded-for"] == [b"203.0.113.7, 198.51.100.2"]
    assert (headers[b"x-forwarded-proto"], headers[b"x-forwarded-port"]) == ([b"http"], [b"10080"])
    assert headers[b"host"] == [b"app.example.com"] and headers[b"x_under"] == [b"2"]
    for gone in (b"connection", b"x-hop", b"keep-alive", b"content-length"):
        assert gone not in headers
    assert headers[b"x-amzn-trace-id"][0].startswith(b"Root=1-")


@pytest.mark.parametrize("mode, client_port, expected", [
    ("append", True, [b"203.0.113.7, 198.51.100.2:40000"]),
    ("preserve", False, [b"203.0.113.7"]),
    ("remove", False, None),
])
def test_xff_modes(mode: str, client_port: bool, expected: list[bytes] | None) -> None:
    headers = sent(Settings("http", 10080, 80, xff_mode=mode, xff_client_port=client_port))
    assert headers.get(b"x-forwarded-for") == expected


def test_drop_invalid_header_fields_keeps_alphanumeric_and_hyphen_names() -> None:
    headers = sent(Settings("http", 10080, 80, drop_invalid=True))
    assert b"x_under" not in headers and headers[b"accept"] == [b"*/*"]


@pytest.mark.parametrize("listener_port, preserve, host, expected", [
    (8080, False, b"app.example.com", b"app.example.com:8080"),
    (8080, False, b"app.example.com:9000", b"app.example.com:9000"),
    (8080, False, b"[::1]", b"[::1]:8080"),
    (8080, True, b"app.example.com", b"app.example.com"),
    (443, False, b"app.example.com", b"app.example.com"),
])
def test_host_gets_the_listener_port_unless_preserved(listener_port: int, preserve: bool, host: bytes,
                                                      expected: bytes) -> None:
    headers = sent(Settings("http", 18080, listener_port, preserve_host=preserve), [(b"Host", host)])
    assert headers[b"host"] == [expected]


def test_tls_headers_only_when_enabled() -> None:
    tls = ("TLSv1.3", "TLS_AES_256_GCM_SHA384")
    assert b"x-amzn-tls-version" not in sent(Settings("https", 10443, 443), tls=tls)
    headers = sent(Settings("https", 10443, 443, tls_headers=True), tls=tls)
    assert (headers[b"x-amzn-tls-version"], headers[b"x-amzn-tls-cipher-suite"]) == (
        [b"TLSv1.3"], [b"TLS_AES_256_GCM_SHA384"])


def test_request_head_is_one_block() -> None:
    head = forwarding.request_head("GET", "/a?b=1", [(b"Host", b"h"), (b"X-A", b"1")])
    assert head == b"GET /a?b=1 HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n"


@pytest.mark.parametrize("method, version, raw, tier, reason", [
    ("GET", (1, 1), [(b"Host", b"h"), (b"Accept-Encoding", b"gzip")], desync.COMPLIANT, "Compliant"),
    ("POST", (1, 1), [(b"Content-Length", b"3")], desync.COMPLIANT, "Compliant"),
    ("GET", (1, 1), [(b"Content-Length", b"0")], desync.ACCEPTABLE, "GetHeadZeroContentLength"),
    ("GET", (1, 1), [(b"X-Name", "café".encode())], desync.ACCEPTABLE, "NonCompliantHeader"),
    ("GET", (1, 1), [(b"Content-Length", b"3")], desync.AMBIGUOUS, "UndefinedContentLengthSemantics"),
    ("HEAD", (1, 1), [(b"Transfer-Encoding", b"chunked")], desync.AMBIGUOUS, "UndefinedTransferEncodingSemantics"),
    ("POST", (1, 0), [(b"Transfer-Encoding", b"chunked")], desync.AMBIGUOUS, "UndefinedTransferEncodingSemantics"),
    ("POST", (1, 1), [(b"Transfer-Encoding", b"chunked"), (b"Content-Length", b"3")], desync.AMBIGUOUS,
     "BothTeClPresent"),
    ("POST", (1, 1), [(b"Content-Length", b"3"), (b"Content-Length", b"3")], desync.AMBIGUOUS,
     "DuplicateContentLength"),
    ("POST", (1, 1), [(b"Content_Length", b"3")], desync.AMBIGUOUS, "SuspiciousHeader"),
    ("POST", (1, 1), [(b"Content-Length", b"3"), (b"Content-Length", b"4")], desync.SEVERE, "MultipleContentLength"),
    ("POST", (1, 1), [(b"Content-Length", b"+3")], desync.SEVERE, "BadContentLength"),
    ("POST", (1, 1), [(b"Transfer-Encoding", b"gzip, chunked")], desync.SEVERE, "BadTransferEncoding"),
    ("POST", (1, 1), [(b"Transfer-Encoding", b"chunked"), (b"Transfer-Encoding", b"chunked")], desync.SEVERE,
     "MultipleTransferEncodingChunked"),
])
def test_desync_classification(method: str, version: tuple[int, int], raw: list[tuple[bytes, bytes]], tier: int,
                               reason: str) -> None:
    assert desync.classify(method, version, raw) == (tier, reason)


@pytest.mark.parametrize("mode, verdicts", [
    ("monitor", [desync.ALLOW, desync.ALLOW, desync.ALLOW, desync.ALLOW]),
    ("defensive", [desync.ALLOW, desync.ALLOW, desync.CLOSE, desync.REJECT]),
    ("strictest", [desync.ALLOW, desync.REJECT, desync.REJECT, desync.REJECT]),
])
def test_desync_modes(mode: str, verdicts: list[str]) -> None:
    tiers = [desync.COMPLIANT, desync.ACCEPTABLE, desync.AMBIGUOUS, desync.SEVERE]
    assert [desync.decide(mode, tier) for tier in tiers] == verdicts
