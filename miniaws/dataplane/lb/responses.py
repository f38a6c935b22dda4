"""Responses the load balancer writes itself, sans-IO: error pages, redirects and fixed responses.

Error pages carry ALB's bodies and `Server: awselb/2.0` (https://docs.aws.amazon.com/elasticloadbalancing/latest/
application/load-balancer-troubleshooting.html#http-502-issues and the 503/504 sections beside it). Redirects
substitute the `#{protocol}`, `#{host}`, `#{port}`, `#{path}` (without its leading "/") and `#{query}` placeholders
and leave default ports out of the Location (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/
load-balancer-listeners.html#redirect-actions).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

SERVER = "awselb/2.0"
_REASONS = {301: "Moved Permanently", 302: "Found", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            460: "", 463: "", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def page(status: int) -> bytes:
    title = f"{status} {_REASONS.get(status, '')}".rstrip()
    return (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
            f"</body>\r\n</html>\r\n").encode()


def error(status: int) -> Reply:
    """An error the load balancer itself answers (no healthy target, a target failure, a timeout …)."""
    return Reply(status, page(status), {"Server": SERVER, "Content-Type": "text/html"})


def fixed(config: Mapping[str, Any]) -> Reply:
    body = str(config.get("MessageBody") or "").encode()
    content_type = config.get("ContentType") or "text/plain"
    return Reply(int(config["StatusCode"]), body, {"Server": SERVER,
                                                   "Content-Type": f"{content_type}; charset=utf-8"})


@dataclass(slots=True)
class Origin:
    """The URL components a redirect may reuse."""

    protocol: str  # "http" | "https"
    host: str  # without port
    port: int  # the port the client connected to
    path: str  # with its leading "/"
    query: str  # without "?"


def redirect(config: Mapping[str, Any], origin: Origin, port_of: Callable[[int], int] | None = None) -> Reply:
    """A 301/302 to the URL the redirect config builds from `origin`. `port_of` maps a configured listener port to
    the port it is actually bound on (80 → 10080 when port 80 was not available), so redirects between a load
    balancer's listeners reach the right socket."""
    values = {"#{protocol}": origin.protocol.upper(), "#{host}": origin.host, "#{port}": str(origin.port),
              "#{path}": origin.path[1:] if origin.path.startswith("/") else origin.path,
              "#{query}": origin.query}

    def fill(template: str) -> str:
        for name, value in values.items():
            if name in template:
                template = template.replace(name, value)
        return template

    protocol = fill(str(config.get("Protocol", "#{protocol}"))).lower()
    host = fill(str(config.get("Host", "#{host}")))
    port_text = str(config.get("Port", "#{port}"))
    if port_text == "#{port}":
        port = origin.port
    else:
        port = int(port_text)
        if port_of is not None:
            port = port_of(port)
    path = fill(str(config.get("Path", "/#{path}")))
    if not path.startswith("/"):
        path = "/" + path
    query = fill(str(config.get("Query", "#{query}")))
    shown = "" if _DEFAULT_PORTS.get(protocol) == port else f":{port}"
    location = f"{protocol}://{host}{shown}{path}" + (f"?{query}" if query else "")
    status = 301 if config.get("StatusCode") == "HTTP_301" else 302
    return Reply(status, page(status), {"Server": SERVER, "Content-Type": "text/html", "Location": location})
