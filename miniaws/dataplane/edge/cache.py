"""The edge cache, sans-IO: cache keys, freshness (TTL) rules, cached entries, LRU by bytes, invalidation matching.

TTL rules follow the CloudFront Developer Guide, "Manage how long content stays in the cache (expiration)" and
"Control how long CloudFront caches errors": `s-maxage` beats `max-age` beats `Expires`, clamped to MinTTL/MaxTTL,
DefaultTTL when the origin says nothing; `no-cache`/`no-store`/`private` prevent caching unless MinTTL > 0; errors
are cached for the greater of their header TTL and the error caching minimum TTL (10 s by default).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from miniaws.core.timestamps import parse_http_date

#: error caching minimum TTL when no CustomErrorResponse names the code
DEFAULT_ERROR_TTL = 10
#: status codes cached like objects (with the object TTLs)
CACHEABLE_OK = frozenset({200, 203, 204, 300, 301, 302, 307, 308})
#: 4xx/5xx codes CloudFront caches for the error caching TTL ("HTTP 4xx and 5xx status codes that CloudFront
#: caches"); the second set only when the origin sends max-age or s-maxage
CACHED_ERRORS = frozenset({404, 410, 414, 500, 501, 502, 503, 504})
CACHED_ERRORS_WITH_MAX_AGE = frozenset({400, 403, 405, 412, 415})
#: for these, no-store / no-cache / private from the origin prevent caching the error; other codes ignore them
ERRORS_HONOURING_NO_STORE = frozenset({404, 410, 414, 501})

CacheKey = tuple[str, str]  # (distribution id, key text)


def parse_cache_control(value: str | None) -> dict[str, str | None]:
    """`max-age=60, no-cache="set-cookie", public` → {"max-age": "60", "no-cache": "set-cookie", "public": None}."""
    out: dict[str, str | None] = {}
    if not value:
        return out
    for part in value.split(","):
        name, sep, arg = part.strip().partition("=")
        if name:
            out[name.strip().lower()] = arg.strip().strip('"') if sep else None
    return out


def _seconds(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return max(int(value), 0)
    except ValueError:
        return None


@dataclass(slots=True, frozen=True)
class Freshness:
    """How long a response may be served from the cache, and how long beyond that when stale."""

    ttl: float
    stale_while_revalidate: float = 0.0
    #: None: an expired object may be served while the origin is unavailable for as long as it stays cached
    stale_if_error: float | None = None


@dataclass(slots=True, frozen=True)
class Ttls:
    minimum: int
    default: int
    maximum: int

    @property
    def disabled(self) -> bool:
        """All three 0 (CachingDisabled): nothing is cached and requests are not collapsed."""
        return self.maximum == 0


def header_ttl(directives: Mapping[str, str | None], expires: str | None, now: float) -> int | None:
    """The TTL the origin asks for: s-maxage, else max-age, else Expires minus now; None when it says nothing."""
    for name in ("s-maxage", "max-age"):
        seconds = _seconds(directives.get(name)) if name in directives else None
        if seconds is not None:
            return seconds
    if expires is not None:
        when = parse_http_date(expires)
        # an unparsable Expires (e.g. "0") means already expired (RFC 9111 §5.3)
        return max(int(when - now), 0) if when is not None else 0
    return None


def freshness(status: int, headers: Mapping[str, str], ttls: Ttls, now: float,
              error_ttl: int | None = None) -> Freshness | None:
    """How long CloudFront would cache this origin response, or None when it would not cache it."""
    if ttls.disabled:
        return None
    directives = parse_cache_control(headers.get("Cache-Control"))
    forbidden = any(d in directives for d in ("no-store", "no-cache", "private"))
    asked = header_ttl(directives, headers.get("Expires"), now)
    if status in CACHEABLE_OK:
        if forbidden:
            # a MinTTL above 0 wins even over no-store (API_CachePolicyConfig.html, "Important")
            return Freshness(float(ttls.minimum)) if ttls.minimum > 0 else None
        ttl = ttls.default if asked is None else min(max(asked, ttls.minimum), ttls.maximum)
        return Freshness(float(ttl), float(_seconds(directives.get("stale-while-revalidate")) or 0),
                         _stale_if_error(directives))
    if status in CACHED_ERRORS or (status in CACHED_ERRORS_WITH_MAX_AGE
                                   and ("max-age" in directives or "s-maxage" in directives)):
        if forbidden and status in ERRORS_HONOURING_NO_STORE:
            return None
        minimum = DEFAULT_ERROR_TTL if error_ttl is None else error_ttl
        ttl = minimum if asked is None else max(min(asked, ttls.maximum), minimum)
        return Freshness(float(ttl)) if ttl > 0 else None
    return None


def _stale_if_error(directives: Mapping[str, str | None]) -> float | None:
    seconds = _seconds(directives.get("stale-if-error")) if "stale-if-error" in directives else None
    return float(seconds) if seconds is not None else None


def normalize_accept_encoding(value: str | None, gzip: bool, brotli: bool) -> str:
    """CloudFront's normalized Accept-Encoding for the cache key ("Compression support"): `br,gzip`, `gzip`,
    or "" (the header is then left out of the key and of the origin request)."""
    if not value or not (gzip or brotli):
        return ""
    accepted = set()
    for part in value.lower().split(","):
        token, _, params = part.strip().partition(";")
        if params.strip().replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            continue
        accepted.add(token.strip())
    has_br = brotli and "br" in accepted
    has_gzip = gzip and ("gzip" in accepted or "*" in accepted)
    if has_br:
        return "br,gzip" if has_gzip else "br"
    return "gzip" if has_gzip else ""


# -- entries and the store -----------------------------------------------------------------------------
@dataclass(slots=True, eq=False)
class CacheEntry:
    key: CacheKey
    #: the request path (percent-decoded) and raw query, for invalidation matching
    path: str
    query: str
    status: int
    #: origin response headers to replay (hop-by-hop and Content-Length removed)
    headers: list[tuple[str, str]]
    body: bytes
    #: clock.monotonic() when stored or last revalidated, and when it stops being fresh
    stored: float
    expires: float
    stale_while_revalidate: float = 0.0
    stale_if_error: float | None = None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers) + 256

    def fresh(self, now: float) -> bool:
        return now < self.expires

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


@dataclass(slots=True)
class DistributionUsage:
    objects: int = 0
    bytes: int = 0
    evictions: int = 0
    invalidated: int = 0


class EdgeCache:
    """Cached responses, least recently used evicted first once their bytes exceed `capacity`."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.bytes = 0
        self._entries: OrderedDict[CacheKey, CacheEntry] = OrderedDict()
        self.usage: dict[str, DistributionUsage] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey) -> CacheEntry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, entry: CacheEntry) -> bool:
        """Store (or replace) an entry; False when it is larger than the whole cache."""
        size = entry.size
        if size > self.capacity:
            self.remove(entry.key)
            return False
        self.remove(entry.key)
        self._entries[entry.key] = entry
        self.bytes += size
        usage = self.usage.setdefault(entry.key[0], DistributionUsage())
        usage.objects += 1
        usage.bytes += size
        while self.bytes > self.capacity:
            _, old = self._entries.popitem(last=False)
            self._account_removal(old)
            self.usage.setdefault(old.key[0], DistributionUsage()).evictions += 1
        return True

    def remove(self, key: CacheKey) -> CacheEntry | None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._account_removal(entry)
        return entry

    def _account_removal(self, entry: CacheEntry) -> None:
        size = entry.size
        self.bytes -= size
        usage = self.usage.get(entry.key[0])
        if usage is not None:
            usage.objects -= 1
            usage.bytes -= size

    def purge(self, distribution_id: str, paths: Iterable[str]) -> int:
        """Remove the distribution's entries that any invalidation path matches; returns how many."""
        matchers = [PathMatcher(p) for p in paths]
        doomed = [key for key, entry in self._entries.items()
                  if key[0] == distribution_id and any(m.matches(entry.path, entry.query) for m in matchers)]
        for key in doomed:
            self.remove(key)
        if doomed:
            self.usage.setdefault(distribution_id, DistributionUsage()).invalidated += len(doomed)
        return len(doomed)

    def drop(self, distribution_id: str) -> None:
        for key in [k for k in self._entries if k[0] == distribution_id]:
            self.remove(key)
        self.usage.pop(distribution_id, None)

    def clear(self) -> None:
        self._entries.clear()
        self.usage.clear()
        self.bytes = 0


@dataclass(slots=True)
class PathMatcher:
    """One invalidation path: exact (every query/header/cookie variant of the file), with `?query` (that variant),
    or ending in `*` (everything starting with it). Case-sensitive; compared percent-decoded."""

    pattern: str
    _prefix: str | None = field(default=None, init=False)
    _exact: str = field(default="", init=False)
    _query: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        text = self.pattern if self.pattern.startswith("/") else "/" + self.pattern
        if text.endswith("*"):
            self._prefix = unquote(text[:-1])
            return
        path, sep, query = text.partition("?")
        self._exact = unquote(path)
        self._query = query if sep else None

    def matches(self, path: str, query: str) -> bool:
        if self._prefix is not None:
            full = path + ("?" + unquote(query) if query else "")
            return full.startswith(self._prefix)
        if path != self._exact:
            return False
        return self._query is None or unquote(self._query) == unquote(query)
