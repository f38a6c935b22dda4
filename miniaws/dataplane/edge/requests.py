"""What the edge derives from a viewer request, sans-IO: the cache key text and the origin request's headers, cookies
and query string (Developer Guide, "Understand the cache key" and "Origin request policies").

CloudFront always sends Host (the origin's, unless the viewer's is forwarded), User-Agent ("Amazon CloudFront" unless
forwarded), Via, X-Amz-Cf-Id and X-Forwarded-For; conditional and range headers are its own business, never the
viewer's, on cacheable requests.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

from miniaws.dataplane.edge.routing import Behavior, CachePlan, Selection

#: viewer headers the edge never passes through as they are (it sets its own, or they describe the viewer's hop)
NOT_FORWARDED = frozenset({
    "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
    "proxy-authorization", "content-length", "host", "accept-encoding", "cookie", "via", "x-forwarded-for",
    "x-amz-cf-id", "expect", "if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "if-range",
    "range", "x-forwarded-proto",
})
#: headers the viewer may send through on requests that are not cached (they belong to that request)
PASSED_WHEN_NOT_CACHED = frozenset({"if-none-match", "if-modified-since", "if-match", "if-unmodified-since",
                                    "if-range", "range"})


@dataclass(slots=True)
class ViewerRequest:
    method: str
    host: str
    #: percent-encoded path as received (after the default root object is applied)
    path: str
    #: raw query string without "?"
    query: str
    headers: Mapping[str, str]
    body: bytes = b""
    client_ip: str = ""
    #: "https" unless the request says it came over plain HTTP (X-Forwarded-Proto: http), see server.py
    scheme: str = "https"


def query_pairs(query: str) -> list[tuple[str, str]]:
    """(decoded name, raw `name=value` text) for each parameter, in request order."""
    out = []
    for part in query.split("&"):
        if part:
            out.append((unquote_plus(part.partition("=")[0]), part))
    return out


def select_query(query: str, selection: Selection) -> str:
    if selection.mode == "none" or not query:
        return ""
    if selection.mode == "all":
        return query
    return "&".join(raw for name, raw in query_pairs(query) if selection.picks(name))


def cookies(header: str | None) -> list[tuple[str, str]]:
    out = []
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if name and sep:
            out.append((name, value))
    return out


def select_cookies(header: str | None, selection: Selection) -> str:
    if selection.mode == "none" or not header:
        return ""
    return "; ".join(f"{n}={v}" for n, v in cookies(header) if selection.picks(n))


def cache_key(method: str, request: ViewerRequest, plan: CachePlan, accept_encoding: str) -> str:
    """The key text within a distribution: path, then exactly what the cache policy names, then the normalized
    Accept-Encoding. GET and HEAD share a key; OPTIONS responses are cached apart."""
    parts = [("OPTIONS " if method == "OPTIONS" else "") + request.path]
    query = select_query(request.query, plan.queries)
    if query:
        parts.append("?" + query)
    headers = plan.headers
    if headers.mode == "whitelist":
        for name in sorted(headers.names):
            value = request.headers.get(name)
            if value is not None:
                parts.append(f"h:{name}={value}")
    elif headers.mode == "all":
        for name, value in sorted((k.lower(), v) for k, v in request.headers.items()):
            if name not in NOT_FORWARDED:
                parts.append(f"h:{name}={value}")
    chosen = select_cookies(request.headers.get("Cookie"), plan.cookies)
    if chosen:
        parts.append("c:" + chosen)
    if accept_encoding:
        parts.append("ae:" + accept_encoding)
    return "\x00".join(parts)


def origin_headers(request: ViewerRequest, behavior: Behavior, accept_encoding: str, via: str, request_id: str,
                   cached: bool) -> list[tuple[str, str]]:
    """The headers of the origin request: the selected viewer headers, cookies, and CloudFront's own."""
    selection = behavior.forward_headers
    out: list[tuple[str, str]] = []
    forwarded_ua = False
    for name, value in request.headers.items():
        lowered = name.lower()
        if lowered == "host":
            if selection.picks("host"):
                out.append(("Host", value))
            continue
        if lowered in NOT_FORWARDED and not (not cached and lowered in PASSED_WHEN_NOT_CACHED):
            continue
        if lowered.startswith("cloudfront-"):
            continue  # the viewer cannot forge the headers CloudFront adds
        if selection.picks(lowered) or (not cached and lowered in PASSED_WHEN_NOT_CACHED) or (
                lowered == "content-type" and request.body):
            out.append((name, value))
            forwarded_ua = forwarded_ua or lowered == "user-agent"
    chosen = select_cookies(request.headers.get("Cookie"), behavior.forward_cookies)
    if chosen:
        out.append(("Cookie", chosen))
    if not forwarded_ua:
        out.append(("User-Agent", "Amazon CloudFront"))
    if accept_encoding:
        out.append(("Accept-Encoding", accept_encoding))
    previous = request.headers.get("X-Forwarded-For")
    if request.client_ip:
        out.append(("X-Forwarded-For", f"{previous}, {request.client_ip}" if previous else request.client_ip))
    wanted = behavior.cloudfront_headers
    if "cloudfront-forwarded-proto" in wanted or selection.picks("cloudfront-forwarded-proto"):
        out.append(("CloudFront-Forwarded-Proto", request.scheme))
    if ("cloudfront-viewer-address" in wanted or selection.picks("cloudfront-viewer-address")) and request.client_ip:
        out.append(("CloudFront-Viewer-Address", request.client_ip))
    out.append(("Via", via))
    out.append(("X-Amz-Cf-Id", request_id))
    return out
