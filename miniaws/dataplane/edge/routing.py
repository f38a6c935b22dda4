"""A distribution compiled for the edge, sans-IO: Host → distribution, path → cache behaviour, and per behaviour what
goes into the cache key and the origin request.

Path patterns are matched in order, case-sensitively, `*` for any run of characters and `?` for exactly one, the
default behaviour (`*`) last (Developer Guide, "Path pattern"). What a behaviour puts in the cache key comes from its
cache policy, or from the legacy ForwardedValues with Min/Default/MaxTTL; what it forwards to the origin is the cache
key's values plus its origin request policy's (Developer Guide, "Control origin requests with a policy").
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from miniaws.dataplane.edge.cache import DEFAULT_ERROR_TTL, Ttls

#: (kind, id) → the policy's config (managed or custom), or None
PolicyConfig = Callable[[str, str], "dict[str, Any] | None"]
#: OAC id → its config, or None
OacConfig = Callable[[str], "dict[str, Any] | None"]


@dataclass(slots=True, frozen=True)
class Selection:
    """Which headers, cookies or query strings: mode is none | whitelist | allExcept | all (lower-cased names for
    headers; cookie and query names are case-sensitive)."""

    mode: str = "none"
    names: frozenset[str] = frozenset()

    def picks(self, name: str) -> bool:
        if self.mode == "all":
            return True
        if self.mode == "whitelist":
            return name in self.names
        if self.mode == "allExcept":
            return name not in self.names
        return False

    def union(self, other: "Selection") -> "Selection":
        """Everything either selects (the origin gets cache key values and origin request policy values)."""
        if self.mode == "all" or other.mode == "none":
            return self
        if other.mode == "all" or self.mode == "none":
            return other
        if self.mode == "whitelist" and other.mode == "whitelist":
            return Selection("whitelist", self.names | other.names)
        if self.mode == "allExcept" and other.mode == "allExcept":
            return Selection("allExcept", self.names & other.names)
        allowed, excluded = (self, other) if self.mode == "whitelist" else (other, self)
        return Selection("allExcept", excluded.names - allowed.names)


@dataclass(slots=True, frozen=True)
class CachePlan:
    ttls: Ttls
    headers: Selection
    cookies: Selection
    queries: Selection
    gzip: bool
    brotli: bool


@dataclass(slots=True, frozen=True)
class EdgeFunction:
    """A Lambda@Edge association: the published function version to run, and whether it sees the request body."""

    arn: str
    include_body: bool = False


@dataclass(slots=True, frozen=True)
class Behavior:
    pattern: str
    regex: re.Pattern[str] | None
    target: str
    allowed: frozenset[str]
    cached: frozenset[str]
    viewer_protocol: str
    compress: bool
    cache: CachePlan
    #: what the origin request carries beyond the fixed headers CloudFront always sends
    forward_headers: Selection
    forward_cookies: Selection
    forward_queries: Selection
    #: CloudFront-* headers to add to the origin request (allViewerAndWhitelistCloudFront / whitelist)
    cloudfront_headers: frozenset[str]
    response_headers: dict[str, Any] | None
    #: Lambda@Edge: event type (viewer-request, origin-request, origin-response, viewer-response) → function
    functions: Mapping[str, EdgeFunction] = field(default_factory=dict)

    def matches(self, path: str) -> bool:
        return self.regex is None or self.regex.fullmatch(path) is not None


@dataclass(slots=True, frozen=True)
class Origin:
    id: str
    domain: str
    path: str
    s3: bool
    bucket: str
    custom_headers: tuple[tuple[str, str], ...]
    protocol_policy: str
    http_port: int
    https_port: int
    connection_attempts: int
    connection_timeout: float
    read_timeout: float
    #: "oac" (signed by an origin access control that signs), "oai", or "" (anonymous)
    access: str
    oai: str


@dataclass(slots=True, frozen=True)
class OriginGroup:
    id: str
    primary: str
    secondary: str
    failover_codes: frozenset[int]


@dataclass(slots=True, frozen=True)
class CustomError:
    code: int
    page_path: str
    response_code: int | None
    min_ttl: int


@dataclass(slots=True)
class CompiledDistribution:
    id: str
    arn: str
    domain: str
    enabled: bool
    aliases: tuple[str, ...]
    default_root_object: str
    behaviors: list[Behavior]
    origins: dict[str, Origin]
    groups: dict[str, OriginGroup]
    errors: dict[int, CustomError] = field(default_factory=dict)

    def behavior_for(self, path: str) -> Behavior:
        for behavior in self.behaviors:
            if behavior.matches(path):
                return behavior
        return self.behaviors[-1]

    def error_ttl(self, status: int) -> int:
        custom = self.errors.get(status)
        return custom.min_ttl if custom is not None else DEFAULT_ERROR_TTL


def pattern_regex(pattern: str) -> re.Pattern[str]:
    text = pattern if pattern.startswith("/") else "/" + pattern
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text), re.DOTALL)


def _items(wrapper: Any) -> list[Any]:
    return list((wrapper or {}).get("Items") or ())


def _selection(mode: str, names: list[Any], lower: bool) -> Selection:
    if mode in ("allViewer", "allViewerAndWhitelistCloudFront"):
        return Selection("all")
    values = frozenset(str(n).lower() if lower else str(n) for n in names)
    return Selection(mode if mode in ("whitelist", "allExcept", "all") else "none", values)


def _cache_plan(behavior: Mapping[str, Any], policy: PolicyConfig) -> CachePlan:
    ident = behavior.get("CachePolicyId")
    config = policy("cache", ident) if ident else None
    if config is not None:
        params = config.get("ParametersInCacheKeyAndForwardedToOrigin") or {}
        headers = params.get("HeadersConfig") or {}
        cookies = params.get("CookiesConfig") or {}
        queries = params.get("QueryStringsConfig") or {}
        return CachePlan(
            Ttls(int(config.get("MinTTL") or 0), int(config.get("DefaultTTL") or 0), int(config.get("MaxTTL") or 0)),
            _selection(headers.get("HeaderBehavior", "none"), _items(headers.get("Headers")), True),
            _selection(cookies.get("CookieBehavior", "none"), _items(cookies.get("Cookies")), False),
            _selection(queries.get("QueryStringBehavior", "none"), _items(queries.get("QueryStrings")), False),
            bool(params.get("EnableAcceptEncodingGzip")), bool(params.get("EnableAcceptEncodingBrotli")))
    # legacy cache settings (API_ForwardedValues.html): forwarded values are also the cache key
    values = behavior.get("ForwardedValues") or {}
    header_names = [str(h).lower() for h in _items(values.get("Headers"))]
    headers_sel = Selection("all") if "*" in header_names else _selection("whitelist", header_names, True)
    cookies_cfg = values.get("Cookies") or {}
    forward = cookies_cfg.get("Forward", "none")
    cookies_sel = _selection(forward, _items(cookies_cfg.get("WhitelistedNames")), False)
    keys = _items(values.get("QueryStringCacheKeys"))
    queries_sel = (Selection("none") if not values.get("QueryString")
                   else _selection("whitelist", keys, False) if keys else Selection("all"))
    ttls = Ttls(int(behavior.get("MinTTL") or 0), int(behavior.get("DefaultTTL") or 0),
                int(behavior.get("MaxTTL") or 0))
    compress = bool(behavior.get("Compress"))
    return CachePlan(ttls, headers_sel, cookies_sel, queries_sel, compress, False)


def _behavior(raw: Mapping[str, Any], policy: PolicyConfig, default: bool) -> Behavior:
    pattern = "*" if default else str(raw.get("PathPattern"))
    cache = _cache_plan(raw, policy)
    allowed = raw.get("AllowedMethods") or {}
    forward_headers, forward_cookies, forward_queries = cache.headers, cache.cookies, cache.queries
    cloudfront: frozenset[str] = frozenset()
    if not raw.get("CachePolicyId"):
        # legacy: ForwardedValues both keys and forwards; the query string goes to the origin whole
        values = raw.get("ForwardedValues") or {}
        if values.get("QueryString"):
            forward_queries = Selection("all")
    ident = raw.get("OriginRequestPolicyId")
    request_policy = policy("origin-request", ident) if ident else None
    if request_policy is not None:
        headers = request_policy.get("HeadersConfig") or {}
        mode = headers.get("HeaderBehavior", "none")
        names = _items(headers.get("Headers"))
        if mode in ("whitelist", "allViewerAndWhitelistCloudFront"):
            cloudfront = frozenset(str(n).lower() for n in names if str(n).lower().startswith("cloudfront-"))
        forward_headers = forward_headers.union(_selection(mode, names, True))
        cookies = request_policy.get("CookiesConfig") or {}
        forward_cookies = forward_cookies.union(_selection(cookies.get("CookieBehavior", "none"),
                                                           _items(cookies.get("Cookies")), False))
        queries = request_policy.get("QueryStringsConfig") or {}
        forward_queries = forward_queries.union(_selection(queries.get("QueryStringBehavior", "none"),
                                                           _items(queries.get("QueryStrings")), False))
    rhp_id = raw.get("ResponseHeadersPolicyId")
    functions = {str(a["EventType"]): EdgeFunction(str(a["LambdaFunctionARN"]), bool(a.get("IncludeBody")))
                 for a in _items(raw.get("LambdaFunctionAssociations"))}
    return Behavior(
        pattern=pattern, regex=None if default else pattern_regex(pattern), target=str(raw.get("TargetOriginId")),
        allowed=frozenset(_items(allowed)) or frozenset({"GET", "HEAD"}),
        cached=frozenset(_items(allowed.get("CachedMethods"))) or frozenset({"GET", "HEAD"}),
        viewer_protocol=str(raw.get("ViewerProtocolPolicy") or "allow-all"), compress=bool(raw.get("Compress")),
        cache=cache, forward_headers=forward_headers, forward_cookies=forward_cookies, forward_queries=forward_queries,
        cloudfront_headers=cloudfront, response_headers=policy("response-headers", rhp_id) if rhp_id else None,
        functions=functions)


def _origin(raw: Mapping[str, Any], oac: OacConfig) -> Origin:
    domain = str(raw["DomainName"]).lower()
    custom = raw.get("CustomOriginConfig") or {}
    s3 = "S3OriginConfig" in raw and raw["S3OriginConfig"] is not None
    access, oai = "", ""
    oac_id = raw.get("OriginAccessControlId") or ""
    if oac_id:
        oac_config = oac(oac_id) or {}
        # SigningBehavior "never" sends the viewer's request unsigned (API_OriginAccessControlConfig.html)
        access = "" if oac_config.get("SigningBehavior") == "never" else "oac"
    elif s3 and (raw.get("S3OriginConfig") or {}).get("OriginAccessIdentity"):
        access, oai = "oai", str(raw["S3OriginConfig"]["OriginAccessIdentity"]).rsplit("/", 1)[-1]
    read_timeout = custom.get("OriginReadTimeout") or (raw.get("S3OriginConfig") or {}).get("OriginReadTimeout") or 30
    return Origin(
        id=str(raw["Id"]), domain=domain, path=str(raw.get("OriginPath") or ""), s3=s3,
        bucket=bucket_of(domain) if s3 else "",
        custom_headers=tuple((str(h["HeaderName"]), str(h.get("HeaderValue") or ""))
                             for h in _items(raw.get("CustomHeaders"))),
        protocol_policy=str(custom.get("OriginProtocolPolicy") or "https-only"),
        http_port=int(custom.get("HTTPPort") or 80), https_port=int(custom.get("HTTPSPort") or 443),
        connection_attempts=int(raw.get("ConnectionAttempts") or 3),
        connection_timeout=float(raw.get("ConnectionTimeout") or 10), read_timeout=float(read_timeout),
        access=access, oai=oai)


_S3_SUFFIX = re.compile(r"\.s3([.\-][a-z0-9\-]+)*\.(amazonaws\.com(\.cn)?|localhost(\.localstack\.cloud)?)$")


def bucket_of(domain: str) -> str:
    """The bucket an S3 origin domain names: `bucket.s3.amazonaws.com`, `bucket.s3.us-west-2.amazonaws.com`,
    `bucket.s3-us-west-2.amazonaws.com`, `bucket.s3.localhost`."""
    match = _S3_SUFFIX.search(domain)
    return domain[:match.start()] if match else domain.split(".", 1)[0]


def compile_distribution(ident: str, arn: str, domain: str, config: Mapping[str, Any], policy: PolicyConfig,
                         oac: OacConfig) -> CompiledDistribution:
    behaviors = [_behavior(b, policy, False) for b in _items(config.get("CacheBehaviors"))]
    behaviors.append(_behavior(config["DefaultCacheBehavior"], policy, True))
    origins = {o.id: o for o in (_origin(raw, oac) for raw in _items(config.get("Origins")))}
    groups: dict[str, OriginGroup] = {}
    for raw in _items(config.get("OriginGroups")):
        members = [m["OriginId"] for m in _items(raw.get("Members"))]
        codes = frozenset(int(c) for c in _items((raw.get("FailoverCriteria") or {}).get("StatusCodes")))
        groups[str(raw["Id"])] = OriginGroup(str(raw["Id"]), members[0], members[1], codes)
    errors = {}
    for raw in _items(config.get("CustomErrorResponses")):
        code = int(raw["ErrorCode"])
        response = str(raw.get("ResponseCode") or "")
        min_ttl = raw.get("ErrorCachingMinTTL")
        errors[code] = CustomError(code, str(raw.get("ResponsePagePath") or ""),
                                   int(response) if response.isdigit() else None,
                                   DEFAULT_ERROR_TTL if min_ttl is None else int(min_ttl))
    aliases = tuple(str(a).lower() for a in _items(config.get("Aliases")))
    return CompiledDistribution(ident, arn, domain, bool(config.get("Enabled")), aliases,
                                str(config.get("DefaultRootObject") or ""), behaviors, origins, groups, errors)


class HostTable:
    """Host header → distribution: its domain name (`<id>.cloudfront.localhost`, or `.cloudfront.net` for scripts
    that build AWS names), an alias, or a wildcard alias (`*.example.com` covers one more label)."""

    def __init__(self, distributions: list[CompiledDistribution]) -> None:
        self.by_host: dict[str, CompiledDistribution] = {}
        self.by_id: dict[str, CompiledDistribution] = {}
        self.wildcards: dict[str, CompiledDistribution] = {}
        for dist in distributions:
            self.by_id[dist.id] = dist
            label = dist.domain.split(".", 1)[0]
            self.by_host[dist.domain] = dist
            self.by_host[label + ".cloudfront.net"] = dist
            for alias in dist.aliases:
                if alias.startswith("*."):
                    self.wildcards[alias[2:]] = dist
                else:
                    self.by_host[alias] = dist

    def lookup(self, host: str) -> CompiledDistribution | None:
        name = host.lower()
        if name.startswith("["):
            return None
        name = name.rsplit(":", 1)[0] if ":" in name else name
        name = name.rstrip(".")
        found = self.by_host.get(name)
        if found is not None:
            return found
        parent = name.partition(".")[2]
        return self.wildcards.get(parent) if parent else None
