"""HTTP desync mitigation, sans-IO: classify a parsed request and decide what `routing.http.desync_mitigation_mode`
does with it.

Classification follows AWS's http_desync_guardian (https://github.com/aws/http-desync-guardian, docs/README.md),
whose tiers and reasons ALB reports; the modes follow https://docs.aws.amazon.com/elasticloadbalancing/latest/
application/application-load-balancers.html#desync-mitigation-mode:

| tier       | monitor | defensive                                   | strictest |
|------------|---------|---------------------------------------------|-----------|
| Compliant  | allowed | allowed                                     | allowed   |
| Acceptable | allowed | allowed                                     | 400       |
| Ambiguous  | allowed | allowed, then client and target connections | 400       |
|            |         | closed                                      |           |
| Severe     | allowed | 400                                         | 400       |

What miniaws classifies (the listener's HTTP parser, aiohttp's llhttp, already answers 400 in every mode to what
it cannot parse: differing or duplicate Content-Length, Content-Length with Transfer-Encoding on HTTP/1.1, bad
header names or CR/NUL/CTL in values, obsolete line folding, bare LF line ends, spaces in the URI, bad versions):
- Acceptable: a header value with non-ASCII bytes (NonCompliantHeader); GET/HEAD with `Content-Length: 0`
  (GetHeadZeroContentLength).
- Ambiguous: GET/HEAD with a non-zero Content-Length (UndefinedContentLengthSemantics) or with Transfer-Encoding
  (UndefinedTransferEncodingSemantics); Transfer-Encoding on HTTP/1.0, or with Content-Length (BothTeClPresent);
  duplicate Content-Length headers with one value (DuplicateContentLength); a header name that normalises to
  Content-Length or Transfer-Encoding, e.g. `Content_Length` (SuspiciousHeader).
- Severe: differing Content-Length values (MultipleContentLength), a Content-Length that is not a number
  (BadContentLength), Transfer-Encoding other than a single `chunked` (BadTransferEncoding,
  MultipleTransferEncodingChunked).
"""
from __future__ import annotations

from collections.abc import Sequence

COMPLIANT, ACCEPTABLE, AMBIGUOUS, SEVERE = range(4)
TIERS = ("Compliant", "Acceptable", "Ambiguous", "Severe")

ALLOW, CLOSE, REJECT = "allow", "close", "reject"

_SUSPICIOUS = (b"contentlength", b"transferencoding")


def classify(method: str, version: tuple[int, int], raw: Sequence[tuple[bytes, bytes]]) -> tuple[int, str]:
    """(tier, reason) for a request; the reason is the first one found at the highest tier."""
    found: list[tuple[int, str]] = []
    lengths: list[bytes] = []
    codings: list[bytes] = []
    for name, value in raw:
        lower = name.lower()
        if lower == b"content-length":
            lengths.append(value.strip(b" \t"))
        elif lower == b"transfer-encoding":
            codings.append(value.strip(b" \t").lower())
        elif (b"length" in lower or b"encoding" in lower) and _letters(lower) in _SUSPICIOUS:
            found.append((AMBIGUOUS, "SuspiciousHeader"))
        if not value.isascii():
            found.append((ACCEPTABLE, "NonCompliantHeader"))
    if not (lengths or codings or found):
        return COMPLIANT, "Compliant"
    bodiless = method in ("GET", "HEAD")
    if lengths:
        if any(not v.isdigit() for v in lengths):
            found.append((SEVERE, "BadContentLength"))
        elif len(set(int(v) for v in lengths)) > 1:
            found.append((SEVERE, "MultipleContentLength"))
        elif len(lengths) > 1:
            found.append((AMBIGUOUS, "DuplicateContentLength"))
        elif bodiless:
            found.append((ACCEPTABLE, "GetHeadZeroContentLength") if int(lengths[0]) == 0
                         else (AMBIGUOUS, "UndefinedContentLengthSemantics"))
    if codings:
        if sum(1 for c in codings if c == b"chunked") > 1:
            found.append((SEVERE, "MultipleTransferEncodingChunked"))
        elif codings != [b"chunked"]:
            found.append((SEVERE, "BadTransferEncoding"))
        if lengths:
            found.append((AMBIGUOUS, "BothTeClPresent"))
        if bodiless or version < (1, 1):
            found.append((AMBIGUOUS, "UndefinedTransferEncodingSemantics"))
    if not found:
        return COMPLIANT, "Compliant"
    top = max(tier for tier, _ in found)
    return next(entry for entry in found if entry[0] == top)


def _letters(name: bytes) -> bytes:
    """A lower-cased header name without its non-letters: `content_length` and `Content-Length` both normalise
    to `contentlength` (http_desync_guardian's SuspiciousHeader check)."""
    return bytes(c for c in name if 97 <= c <= 122)


def decide(mode: str, tier: int) -> str:
    """What the load balancer does with a request of this tier: ALLOW, CLOSE (serve it, then close both
    connections) or REJECT (400 and close)."""
    if tier == COMPLIANT or mode == "monitor":
        return ALLOW
    if mode == "strictest":
        return REJECT
    if tier == SEVERE:
        return REJECT
    return CLOSE if tier == AMBIGUOUS else ALLOW
