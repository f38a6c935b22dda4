"""Shaping what the edge sends a viewer, sans-IO: byte ranges, conditional requests, edge compression, response
headers policies (CORS, security headers, custom and removed headers) and CloudFront's own error pages.

Compression follows the Developer Guide, "Serve compressed files": gzip when the behaviour compresses, the viewer
accepts it, the origin did not encode the body, the type is in CloudFront's list and the size is 1,000 to
10,000,000 bytes. Brotli would need a third-party library; the normalized `br` key still caches what an origin sends.
"""
from __future__ import annotations

import gzip
import re
from collections.abc import Mapping
from typing import Any

from miniaws.core.timestamps import parse_http_date

COMPRESS_MIN = 1000
COMPRESS_MAX = 10_000_000
#: "File types that CloudFront compresses"
COMPRESSIBLE_TYPES = frozenset({
    "application/dash+xml", "application/eot", "application/font", "application/font-sfnt",
    "application/javascript", "application/json", "application/opentype", "application/otf",
    "application/pkcs7-mime", "application/protobuf", "application/rss+xml", "application/truetype",
    "application/ttf", "application/vnd.apple.mpegurl", "application/vnd.mapbox-vector-tile",
    "application/vnd.ms-fontobject", "application/wasm", "application/xhtml+xml", "application/xml",
    "application/x-font-opentype", "application/x-font-truetype", "application/x-font-ttf",
    "application/x-httpd-cgi", "application/x-javascript", "application/x-mpegurl", "application/x-opentype",
    "application/x-otf", "application/x-perl", "application/x-ttf", "font/eot", "font/opentype", "font/otf",
    "font/ttf", "image/svg+xml", "text/css", "text/csv", "text/html", "text/javascript", "text/js", "text/plain",
    "text/richtext", "text/tab-separated-values", "text/xml", "text/x-script", "text/x-component",
    "text/x-java-source",
})
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def compressible(headers: Mapping[str, str], size: int) -> bool:
    if headers.get("Content-Encoding") or not COMPRESS_MIN <= size <= COMPRESS_MAX:
        return False
    content_type = headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    return content_type in COMPRESSIBLE_TYPES


def gzip_body(body: bytes) -> bytes:
    # level 6 (zlib's default) is what most CDNs pick: most of the gain of 9 at a fraction of the CPU; mtime=0 keeps
    # the output (and so the ETag a viewer sees) stable
    return gzip.compress(body, compresslevel=6, mtime=0)


class Unsatisfiable(Exception):
    """A syntactically valid range that lies past the end of the object (416)."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, length) for a single satisfiable range; None to send the whole object (no Range, or one the edge
    does not serve as a range: several ranges, bad syntax); Unsatisfiable for 416."""
    if not header:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable()
        start = max(size - suffix, 0)
        return start, size - start
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise Unsatisfiable()
    end = min(end, size - 1)
    return start, end - start + 1


def not_modified(request: Mapping[str, str], etag: str | None, last_modified: str | None) -> bool:
    """RFC 9110 §13.2.2: If-None-Match decides when present, else If-Modified-Since."""
    if_none_match = request.get("If-None-Match")
    if if_none_match is not None:
        if etag is None:
            return False
        wanted = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in wanted or etag.removeprefix("W/") in wanted
    since_text = request.get("If-Modified-Since")
    if since_text is None or last_modified is None:
        return False
    since, modified = parse_http_date(since_text), parse_http_date(last_modified)
    return since is not None and modified is not None and modified <= since


# -- response headers policies -------------------------------------------------------------------------
def _set(headers: list[tuple[str, str]], name: str, value: str, override: bool) -> None:
    lowered = name.lower()
    present = any(k.lower() == lowered for k, _ in headers)
    if present and not override:
        return
    if present:
        headers[:] = [(k, v) for k, v in headers if k.lower() != lowered]
    headers.append((name, value))


def _items(wrapper: Any) -> list[str]:
    return [str(v) for v in (wrapper or {}).get("Items") or ()]


def is_preflight(method: str, request: Mapping[str, str]) -> bool:
    return method == "OPTIONS" and "Origin" in request and "Access-Control-Request-Method" in request


def apply_response_headers_policy(config: Mapping[str, Any], method: str, request: Mapping[str, str],
                                  headers: list[tuple[str, str]], server_timing: str) -> None:
    """Add and remove the headers a response headers policy names (API_ResponseHeadersPolicyConfig.html)."""
    cors = config.get("CorsConfig")
    origin = request.get("Origin")
    if cors and origin:
        allowed = _items(cors.get("AccessControlAllowOrigins"))
        credentials = bool(cors.get("AccessControlAllowCredentials"))
        override = bool(cors.get("OriginOverride"))
        if "*" in allowed or origin in allowed:
            _set(headers, "Access-Control-Allow-Origin", "*" if "*" in allowed and not credentials else origin,
                 override)
            if credentials:
                _set(headers, "Access-Control-Allow-Credentials", "true", override)
            if is_preflight(method, request):
                methods = _items(cors.get("AccessControlAllowMethods"))
                if "ALL" in methods:
                    methods = ["GET", "DELETE", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
                _set(headers, "Access-Control-Allow-Methods", ", ".join(methods), override)
                allow_headers = _items(cors.get("AccessControlAllowHeaders"))
                if allow_headers:
                    _set(headers, "Access-Control-Allow-Headers", ", ".join(allow_headers), override)
                if cors.get("AccessControlMaxAgeSec") is not None:
                    _set(headers, "Access-Control-Max-Age", str(cors["AccessControlMaxAgeSec"]), override)
            else:
                exposed = _items(cors.get("AccessControlExposeHeaders"))
                if exposed:
                    _set(headers, "Access-Control-Expose-Headers", ", ".join(exposed), override)
    security = config.get("SecurityHeadersConfig") or {}
    hsts = security.get("StrictTransportSecurity")
    if hsts:
        value = f"max-age={hsts.get('AccessControlMaxAgeSec', 0)}"
        if hsts.get("IncludeSubdomains"):
            value += "; includeSubDomains"
        if hsts.get("Preload"):
            value += "; preload"
        _set(headers, "Strict-Transport-Security", value, bool(hsts.get("Override")))
    if security.get("ContentTypeOptions"):
        _set(headers, "X-Content-Type-Options", "nosniff", bool(security["ContentTypeOptions"].get("Override")))
    frame = security.get("FrameOptions")
    if frame:
        _set(headers, "X-Frame-Options", str(frame.get("FrameOption")), bool(frame.get("Override")))
    referrer = security.get("ReferrerPolicy")
    if referrer:
        _set(headers, "Referrer-Policy", str(referrer.get("ReferrerPolicy")), bool(referrer.get("Override")))
    csp = security.get("ContentSecurityPolicy")
    if csp:
        _set(headers, "Content-Security-Policy", str(csp.get("ContentSecurityPolicy")), bool(csp.get("Override")))
    xss = security.get("XSSProtection")
    if xss:
        value = "1" if xss.get("Protection") else "0"
        if xss.get("Protection") and xss.get("ModeBlock"):
            value += "; mode=block"
        elif xss.get("Protection") and xss.get("ReportUri"):
            value += f"; report={xss['ReportUri']}"
        _set(headers, "X-XSS-Protection", value, bool(xss.get("Override")))
    for custom in (config.get("CustomHeadersConfig") or {}).get("Items") or ():
        _set(headers, str(custom["Header"]), str(custom.get("Value", "")), bool(custom.get("Override")))
    removed = {str(r.get("Header", "")).lower() for r in (config.get("RemoveHeadersConfig") or {}).get("Items") or ()}
    if removed:
        headers[:] = [(k, v) for k, v in headers if k.lower() not in removed]
    timing = config.get("ServerTimingHeadersConfig") or {}
    if timing.get("Enabled"):
        headers.append(("Server-Timing", server_timing))


# -- CloudFront's own error pages ----------------------------------------------------------------------
_REASONS = {301: "Moved Permanently", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 416: "Range Not Satisfiable", 502: "Bad Gateway", 504: "Gateway Timeout"}


def error_page(status: int, message: str, request_id: str) -> bytes:
    """The HTML CloudFront answers with when it, not the origin, refuses or fails a request."""
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">\n'
        '<HTML><HEAD><META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=iso-8859-1">\n'
        "<TITLE>ERROR: The request could not be satisfied</TITLE>\n</HEAD><BODY>\n"
        f"<H1>{status} ERROR</H1>\n<H2>The request could not be satisfied.</H2>\n<HR noshade size=\"1px\">\n"
        f"{message}\n<BR clear=\"all\">\n<HR noshade size=\"1px\">\n<PRE>\n"
        f"Generated by cloudfront (CloudFront)\nRequest ID: {request_id}\n</PRE>\n<ADDRESS>\n</ADDRESS>\n"
        "</BODY></HTML>"
    ).encode("latin-1", "replace")


def reason(status: int) -> str:
    return _REASONS.get(status, "Error")
