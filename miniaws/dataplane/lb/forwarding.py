"""The request line and headers the load balancer sends a target, sans-IO, built from the client's raw headers.

Follows https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html
(X-Forwarded-For by `routing.http.xff_header_processing.mode` append/preserve/remove, with the client's port under
`routing.http.xff_client_port.enabled`; X-Forwarded-Proto; X-Forwarded-Port — the port the client connected to),
load-balancer-request-tracing.html (X-Amzn-Trace-Id: a new Root, or `Self` added to an incoming Root), and
edit-load-balancer-attributes.html: `routing.http.drop_invalid_header_fields.enabled` removes headers whose names
are not alphanumeric-and-hyphen (ELB's rule, stricter than an RFC token: `X_Custom` is dropped),
`routing.http.x_amzn_tls_version_and_cipher_suite.enabled` adds `x-amzn-tls-version` / `x-amzn-tls-cipher-suite`
on TLS listeners, and without `routing.http.preserve_host_header.enabled` a listener on a port other than 80/443
adds its port to a Host header that has none. Hop-by-hop headers (and those the client's Connection header names)
are not forwarded; body framing (Content-Length / Transfer-Encoding) and Expect are the load balancer's own.
"""
from __future__ import annotations

import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass


HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"proxy-authenticate",
                        b"proxy-authorization", b"te", b"trailer", b"trailers", b"transfer-encoding", b"upgrade"})
#: replaced by the load balancer's own values, or its own framing
_REPLACED = frozenset({b"content-length", b"expect", b"x-forwarded-proto", b"x-forwarded-port", b"x-amzn-trace-id",
                       b"x-amzn-tls-version", b"x-amzn-tls-cipher-suite"})
_VALID_NAME = re.compile(rb"[A-Za-z0-9-]+")
#: names the loop over the client's headers must look at (everything else is copied as it is)
_SPECIAL = HOP_BY_HOP | _REPLACED | {b"x-forwarded-for", b"host"}

RawHeaders = Sequence[tuple[bytes, bytes]]
#: trace ids need to be unique, not secret (seeded from the OS at start-up)
_random = random.Random()


@dataclass(frozen=True, slots=True)
class Settings:
    """What one listener's load balancer attributes say about forwarded headers."""

    scheme: str  # "http" | "https"
    #: the port the client connected to (X-Forwarded-Port)
    port: int
    #: the listener's configured port (the Host header's port when it is not preserved)
    listener_port: int
    xff_mode: str = "append"
    xff_client_port: bool = False
    drop_invalid: bool = False
    preserve_host: bool = False
    tls_headers: bool = False


def valid_name(name: bytes) -> bool:
    return _VALID_NAME.fullmatch(name) is not None


def headers(raw: RawHeaders, settings: Settings, source: str, peer_port: int | None,
            tls: tuple[str, str] | None = None) -> list[tuple[bytes, bytes]]:
    """The headers to send on, in the client's order, then the load balancer's own."""
    out: list[tuple[bytes, bytes]] = []
    xff: list[bytes] = []
    trace: bytes | None = None
    named: set[bytes] | None = None
    has_host = False
    drop_invalid = settings.drop_invalid
    for name, value in raw:
        lower = name.lower()
        if lower in _SPECIAL:
            if lower == b"host":
                if has_host:
                    continue
                has_host = True
                if not settings.preserve_host and settings.listener_port not in (80, 443) and not _has_port(value):
                    value = b"%s:%d" % (value, settings.listener_port)
            elif lower == b"x-forwarded-for":
                if not drop_invalid or valid_name(name):
                    xff.append(value)
                continue
            elif lower == b"connection":
                # headers the client's Connection header names are hop-by-hop too (RFC 9110 §7.6.1)
                tokens = {t.strip(b" \t").lower() for t in value.split(b",")} - {b""}
                named = tokens if named is None else named | tokens
                continue
            else:
                if lower == b"x-amzn-trace-id" and trace is None:
                    trace = value
                continue
        if drop_invalid and _VALID_NAME.fullmatch(name) is None:
            continue
        out.append((name, value))
    if named:
        out = [(name, value) for name, value in out if name.lower() not in named]
        if b"x-forwarded-for" in named:
            xff = []
    mode = settings.xff_mode
    if mode == "append":
        client = source
        if settings.xff_client_port and peer_port is not None:
            client = f"[{client}]:{peer_port}" if ":" in client else f"{client}:{peer_port}"
        existing = b", ".join(xff)
        out.append((b"X-Forwarded-For", existing + b", " + client.encode() if existing else client.encode()))
    elif mode == "preserve":
        out.extend((b"X-Forwarded-For", value) for value in xff)
    out.append((b"X-Forwarded-Proto", settings.scheme.encode()))
    out.append((b"X-Forwarded-Port", b"%d" % settings.port))
    out.append((b"X-Amzn-Trace-Id", trace_id(trace.decode("latin-1") if trace is not None else None).encode()))
    if settings.tls_headers and tls is not None:
        out.append((b"x-amzn-tls-version", tls[0].encode()))
        out.append((b"x-amzn-tls-cipher-suite", tls[1].encode()))
    return out


def request_head(method: str, target: str, fields: list[tuple[bytes, bytes]]) -> bytes:
    lines = [b"%s: %s" % field for field in fields]
    lines.append(b"\r\n")
    return f"{method} {target} HTTP/1.1\r\n".encode("utf-8", "surrogateescape") + b"\r\n".join(lines)


def trace_id(incoming: str | None) -> str:
    """X-Amzn-Trace-Id to send on: keep a valid incoming Root and add Self, else start a new Root."""
    stamp = "1-%08x-%024x" % (int(time.time()), _random.getrandbits(96))
    if incoming and "Root=" in incoming:
        fields = [f for f in incoming.split(";") if f and not f.startswith("Self=")]
        return ";".join([f"Self={stamp}", *fields])
    return f"Root={stamp}"


def _has_port(host: bytes) -> bool:
    if host.startswith(b"["):
        return b"]:" in host
    return b":" in host
