"""DistributionConfig validation the way CreateDistribution/UpdateDistribution do it, with AWS's defaults filled in.

Rules and limits are from the API reference (API_DistributionConfig.html, API_Origin.html, API_CacheBehavior.html,
API_CustomErrorResponse.html, API_OriginGroup.html) and the quotas page (Developer Guide, "Quotas"): 25 origins,
75 cache behaviours, 10 origin custom headers, 100 alternate domain names per distribution. Lambda@Edge associations
follow API_LambdaFunctionAssociation.html, "Restrictions on Lambda@Edge" and "Quotas on Lambda@Edge", with the
messages CloudFront answers with.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from miniaws.services.cloudfront.errors import (IllegalOriginAccessConfiguration, InconsistentQuantities,
                                                InvalidArgument, InvalidDefaultRootObject, InvalidErrorCode,
                                                InvalidForwardCookies, InvalidLambdaFunctionAssociation, InvalidOrigin,
                                                InvalidOriginKeepaliveTimeout, InvalidOriginReadTimeout,
                                                InvalidRelativePath, InvalidResponseCode,
                                                InvalidTTLOrder, NoSuchCachePolicy, NoSuchOrigin,
                                                NoSuchOriginAccessControl, NoSuchOriginRequestPolicy,
                                                NoSuchResponseHeadersPolicy, TooManyCacheBehaviors,
                                                TooManyCookieNamesInWhiteList, TooManyDistributionCNAMEs,
                                                TooManyHeadersInForwardedValues,
                                                TooManyLambdaFunctionAssociations, TooManyOriginCustomHeaders,
                                                TooManyOriginGroupsPerDistribution, TooManyOrigins,
                                                TooManyQueryStringParameters)
from miniaws.services.cloudfront.models import CACHE, ORIGIN_REQUEST, RESPONSE_HEADERS

MAX_ORIGINS = 25
MAX_CACHE_BEHAVIORS = 75
MAX_CUSTOM_HEADERS = 10
MAX_ALIASES = 100
MAX_ORIGIN_GROUPS = 10
MAX_FORWARDED = 10
MAX_COMMENT = 128

#: the method sets CloudFront accepts (API_AllowedMethods.html, API_CachedMethods.html)
ALLOWED_METHOD_SETS = (frozenset({"GET", "HEAD"}), frozenset({"GET", "HEAD", "OPTIONS"}),
                       frozenset({"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}))
CACHED_METHOD_SETS = (frozenset({"GET", "HEAD"}), frozenset({"GET", "HEAD", "OPTIONS"}))
VIEWER_PROTOCOL_POLICIES = ("allow-all", "https-only", "redirect-to-https")
ORIGIN_PROTOCOL_POLICIES = ("http-only", "match-viewer", "https-only")
#: error codes a CustomErrorResponse may name, and the response codes it may return (API_CustomErrorResponse.html)
CUSTOM_ERROR_CODES = frozenset({400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504})
CUSTOM_RESPONSE_CODES = frozenset({200, 400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504})
#: status codes an origin group may fail over on (API_OriginGroupFailoverCriteria.html)
FAILOVER_CODES = frozenset({400, 403, 404, 416, 500, 502, 503, 504})
#: headers an origin custom header may not set (Developer Guide, "Custom headers that CloudFront can't add")
FORBIDDEN_CUSTOM_HEADERS = frozenset({
    "cache-control", "connection", "content-length", "cookie", "host", "if-match", "if-modified-since",
    "if-none-match", "if-range", "if-unmodified-since", "max-forwards", "pragma", "proxy-authorization",
    "proxy-connection", "range", "request-range", "te", "trailer", "transfer-encoding", "upgrade", "via",
    "x-real-ip", "x-forwarded-for",
})
DEFAULT_TTL = 86400
MAX_TTL = 31536000

_S3_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9.\-]*\.s3([.\-][a-z0-9\-]+)*\.(amazonaws\.com(\.cn)?|localhost"
                        r"(\.localstack\.cloud)?)$")

#: (kind, id) → does the policy exist for this account
PolicyExists = Callable[[str, str], bool]
OacExists = Callable[[str], bool]
#: a qualified function ARN → the FunctionConfiguration of that published version of this account, or None
FunctionLookup = Callable[[str], "dict[str, Any] | None"]

#: Lambda@Edge event types, and per kind of event the function limits ("Quotas on Lambda@Edge")
EDGE_EVENT_TYPES = ("viewer-request", "viewer-response", "origin-request", "origin-response")
EDGE_MAX_TIMEOUT = {"viewer": 5, "origin": 30}
EDGE_MAX_MEMORY = {"viewer": 128, "origin": 10240}
EDGE_REGION = "us-east-1"
_FUNCTION_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:"
                           r"(?P<name>[a-zA-Z0-9-_]+)(?::(?P<qualifier>[^:]+))?$")


def items(wrapper: Any, what: str) -> list[Any]:
    """The Items of a Quantity/Items wrapper, checking that the two agree (InconsistentQuantities)."""
    if wrapper is None:
        return []
    if not isinstance(wrapper, dict):
        raise InvalidArgument(f"The parameter {what} is not valid.")
    values = wrapper.get("Items") or []
    quantity = wrapper.get("Quantity")
    if quantity is None:
        raise InvalidArgument(f"The parameter {what}.Quantity is required.")
    if int(quantity) != len(values):
        raise InconsistentQuantities(f"The value of Quantity and the size of Items don't match for {what}.")
    return list(values)


def wrap(values: list[Any]) -> dict[str, Any]:
    """A Quantity/Items wrapper as CloudFront returns it (no Items element when empty)."""
    return {"Quantity": len(values), "Items": list(values)} if values else {"Quantity": 0}


def is_s3_domain(domain: str) -> bool:
    return _S3_DOMAIN.match(domain.lower()) is not None


def _int(value: Any, name: str, low: int, high: int, error: type[Exception] = InvalidArgument) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise error(f"The parameter {name} is not valid.") from None
    if not low <= number <= high:
        raise error(f"The parameter {name} must be between {low} and {high}.")
    return number


def normalize_distribution_config(raw: Any, policy_exists: PolicyExists, oac_exists: OacExists,
                                  function_config: FunctionLookup | None = None) -> dict[str, Any]:
    """The config CloudFront would store for `raw`, or the error CloudFront would raise. Without
    `function_config`, Lambda@Edge ARNs are checked for their form only (unit tests of the edge)."""
    if not isinstance(raw, dict) or not raw:
        from miniaws.services.cloudfront.errors import MissingBody
        raise MissingBody()
    config = copy.deepcopy(raw)
    if not config.get("CallerReference"):
        raise InvalidArgument("The parameter CallerReference is required.")
    if "Comment" not in config or config["Comment"] is None:
        raise InvalidArgument("The parameter Comment is required.")
    if len(str(config["Comment"])) > MAX_COMMENT:
        raise InvalidArgument(f"The parameter Comment is too long (at most {MAX_COMMENT} characters).")
    if config.get("Enabled") is None:
        raise InvalidArgument("The parameter Enabled is required.")

    origins = [_origin(o, oac_exists) for o in items(config.get("Origins"), "Origins")]
    if not origins:
        raise InvalidArgument("The parameter Origins must contain at least one origin.")
    if len(origins) > MAX_ORIGINS:
        raise TooManyOrigins(f"Your request contains too many origins (at most {MAX_ORIGINS}).")
    origin_ids = [o["Id"] for o in origins]
    if len(set(origin_ids)) != len(origin_ids):
        raise InvalidArgument("The parameter Origin Id must be unique.")
    config["Origins"] = wrap(origins)
    s3_origins = {o["Id"] for o in origins if "S3OriginConfig" in o}

    groups = [_origin_group(g, set(origin_ids)) for g in items(config.get("OriginGroups"), "OriginGroups")]
    if len(groups) > MAX_ORIGIN_GROUPS:
        raise TooManyOriginGroupsPerDistribution(f"At most {MAX_ORIGIN_GROUPS} origin groups per distribution.")
    group_ids = [g["Id"] for g in groups]
    if len(set(group_ids)) != len(group_ids) or set(group_ids) & set(origin_ids):
        raise InvalidArgument("The parameter OriginGroup Id must be unique among origins and origin groups.")
    config["OriginGroups"] = wrap(groups)
    targets = set(origin_ids) | set(group_ids)

    if not isinstance(config.get("DefaultCacheBehavior"), dict):
        raise InvalidArgument("The parameter DefaultCacheBehavior is required.")
    config["DefaultCacheBehavior"] = _behavior(config["DefaultCacheBehavior"], targets, s3_origins, policy_exists,
                                               function_config, default=True)
    behaviors = [_behavior(b, targets, s3_origins, policy_exists, function_config, default=False)
                 for b in items(config.get("CacheBehaviors"), "CacheBehaviors")]
    if len(behaviors) > MAX_CACHE_BEHAVIORS:
        raise TooManyCacheBehaviors(f"Your request contains more cache behaviors than are allowed per distribution "
                                    f"({MAX_CACHE_BEHAVIORS}).")
    patterns = [b["PathPattern"] for b in behaviors]
    if len(set(patterns)) != len(patterns):
        raise InvalidArgument("The parameter PathPattern must be unique among cache behaviors.")
    config["CacheBehaviors"] = wrap(behaviors)

    config["CustomErrorResponses"] = wrap([_custom_error(e) for e in items(config.get("CustomErrorResponses"),
                                                                            "CustomErrorResponses")])
    codes = [e["ErrorCode"] for e in config["CustomErrorResponses"].get("Items") or ()]
    if len(set(codes)) != len(codes):
        raise InvalidArgument("The parameter ErrorCode must be unique among custom error responses.")

    aliases = [str(a).strip().lower() for a in items(config.get("Aliases"), "Aliases")]
    if len(aliases) > MAX_ALIASES:
        raise TooManyDistributionCNAMEs(f"Your request contains more CNAMEs than are allowed per distribution "
                                        f"({MAX_ALIASES}).")
    for alias in aliases:
        if not re.fullmatch(r"(\*\.)?[a-z0-9]([a-z0-9\-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9\-]*[a-z0-9])?)*", alias):
            raise InvalidArgument(f"The parameter CNAME contains one or more illegal characters: {alias}")
    config["Aliases"] = wrap(aliases)

    root = config.get("DefaultRootObject") or ""
    if root.startswith("/") or len(root) > 255:
        raise InvalidDefaultRootObject("The specified default root object is not valid: it must not begin with a "
                                       "slash and must be at most 255 characters.")
    config["DefaultRootObject"] = root
    config.setdefault("PriceClass", "PriceClass_All")
    if config["PriceClass"] not in ("PriceClass_100", "PriceClass_200", "PriceClass_All", "None"):
        raise InvalidArgument(f"The parameter PriceClass is not valid: {config['PriceClass']}")
    config.setdefault("HttpVersion", "http2")
    if config["HttpVersion"] not in ("http1.1", "http2", "http3", "http2and3"):
        raise InvalidArgument(f"The parameter HttpVersion is not valid: {config['HttpVersion']}")
    config.setdefault("IsIPV6Enabled", False)
    config.setdefault("WebACLId", "")
    config.setdefault("Staging", False)
    config.setdefault("Logging", {"Enabled": False, "IncludeCookies": False, "Bucket": "", "Prefix": ""})
    config.setdefault("ViewerCertificate", {"CloudFrontDefaultCertificate": True, "SSLSupportMethod": "vip",
                                            "MinimumProtocolVersion": "TLSv1", "CertificateSource": "cloudfront"})
    restrictions = config.setdefault("Restrictions", {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}})
    geo = restrictions.get("GeoRestriction") or {"RestrictionType": "none", "Quantity": 0}
    geo_items = items(geo, "GeoRestriction")
    if geo.get("RestrictionType") not in ("none", "whitelist", "blacklist"):
        raise InvalidArgument("The parameter RestrictionType is not valid.")
    restrictions["GeoRestriction"] = {"RestrictionType": geo["RestrictionType"], **wrap(geo_items)}
    return config


def _origin(raw: Any, oac_exists: OacExists) -> dict[str, Any]:
    if not isinstance(raw, dict) or not raw.get("Id") or not raw.get("DomainName"):
        raise InvalidArgument("Each origin requires an Id and a DomainName.")
    origin = dict(raw)
    domain = str(origin["DomainName"]).lower()
    s3, custom = origin.get("S3OriginConfig"), origin.get("CustomOriginConfig")
    if s3 is None and custom is None:
        raise InvalidOrigin("The specified origin server does not exist or is not valid: an origin needs either an "
                            "S3OriginConfig or a CustomOriginConfig.")
    if s3 is not None and custom is not None:
        raise InvalidOrigin("An origin cannot have both an S3OriginConfig and a CustomOriginConfig.")
    path = origin.get("OriginPath") or ""
    if path and (not path.startswith("/") or path.endswith("/")):
        raise InvalidArgument("The parameter OriginPath must begin with a slash and must not end with one.")
    origin["OriginPath"] = path
    headers = items(origin.get("CustomHeaders"), "CustomHeaders")
    if len(headers) > MAX_CUSTOM_HEADERS:
        raise TooManyOriginCustomHeaders(f"Your request contains too many origin custom headers "
                                         f"(at most {MAX_CUSTOM_HEADERS}).")
    for header in headers:
        name = str(header.get("HeaderName", "")).lower()
        if not name or name in FORBIDDEN_CUSTOM_HEADERS or name.startswith(("x-amz-", "x-edge-")):
            raise InvalidArgument(f"The parameter HeaderName : {header.get('HeaderName')} is not allowed.")
    origin["CustomHeaders"] = wrap(headers)
    origin["ConnectionAttempts"] = _int(origin.get("ConnectionAttempts", 3), "ConnectionAttempts", 1, 3)
    origin["ConnectionTimeout"] = _int(origin.get("ConnectionTimeout", 10), "ConnectionTimeout", 1, 10)
    origin.setdefault("OriginShield", {"Enabled": False})
    oac = origin.get("OriginAccessControlId") or ""
    if oac and not oac_exists(oac):
        raise NoSuchOriginAccessControl(f"The origin access control {oac} does not exist.")
    origin["OriginAccessControlId"] = oac
    if s3 is not None:
        if not is_s3_domain(domain):
            raise InvalidArgument(f"The parameter Origin DomainName does not refer to a valid S3 bucket: {domain}")
        oai = (s3 or {}).get("OriginAccessIdentity") or ""
        if oai and oac:
            raise IllegalOriginAccessConfiguration("An origin cannot use both an origin access identity and an "
                                                   "origin access control.")
        origin["S3OriginConfig"] = {"OriginAccessIdentity": oai, **{k: v for k, v in (s3 or {}).items()
                                                                      if k != "OriginAccessIdentity"}}
        if "OriginReadTimeout" in origin["S3OriginConfig"]:
            origin["S3OriginConfig"]["OriginReadTimeout"] = _int(origin["S3OriginConfig"]["OriginReadTimeout"],
                                                                 "OriginReadTimeout", 1, 180,
                                                                 InvalidOriginReadTimeout)
    else:
        assert custom is not None
        config = dict(custom)
        policy = config.get("OriginProtocolPolicy")
        if policy not in ORIGIN_PROTOCOL_POLICIES:
            raise InvalidArgument(f"The parameter OriginProtocolPolicy is not valid: {policy}")
        for port_name, default in (("HTTPPort", 80), ("HTTPSPort", 443)):
            port = _int(config.get(port_name, default), port_name, 1, 65535)
            if port not in (80, 443) and port < 1024:
                raise InvalidArgument(f"The parameter {port_name} must be 80, 443, or between 1024 and 65535.")
            config[port_name] = port
        config["OriginReadTimeout"] = _int(config.get("OriginReadTimeout", 30), "OriginReadTimeout", 1, 180,
                                           InvalidOriginReadTimeout)
        config["OriginKeepaliveTimeout"] = _int(config.get("OriginKeepaliveTimeout", 5), "OriginKeepaliveTimeout",
                                                1, 180, InvalidOriginKeepaliveTimeout)
        protocols = items(config.get("OriginSslProtocols"), "OriginSslProtocols") or ["TLSv1.2"]
        config["OriginSslProtocols"] = wrap(protocols)
        origin["CustomOriginConfig"] = config
        if oac:
            # an OAC signs requests to S3 (or MediaStore, Lambda URLs, MediaPackage): not to an arbitrary server
            raise IllegalOriginAccessConfiguration("An origin access control cannot be used with a custom origin "
                                                   "that is not an AWS origin.")
    return origin


def _origin_group(raw: Any, origin_ids: set[str]) -> dict[str, Any]:
    if not isinstance(raw, dict) or not raw.get("Id"):
        raise InvalidArgument("Each origin group requires an Id.")
    group = dict(raw)
    members = items(group.get("Members"), "OriginGroupMembers")
    if len(members) != 2:
        raise InvalidArgument("An origin group must have exactly two members.")
    for member in members:
        if member.get("OriginId") not in origin_ids:
            raise NoSuchOrigin(f"The origin {member.get('OriginId')} of origin group {group['Id']} does not exist.")
    criteria = group.get("FailoverCriteria") or {}
    codes = [int(c) for c in items(criteria.get("StatusCodes"), "StatusCodes")]
    if not codes or any(c not in FAILOVER_CODES for c in codes):
        raise InvalidArgument("The parameter FailoverCriteria StatusCodes must name one or more of "
                              f"{sorted(FAILOVER_CODES)}.")
    group["FailoverCriteria"] = {"StatusCodes": wrap(codes)}
    group["Members"] = wrap(members)
    group.setdefault("SelectionCriteria", "default")
    return group


def _methods(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {"Quantity": 2, "Items": ["HEAD", "GET"],
                "CachedMethods": {"Quantity": 2, "Items": ["HEAD", "GET"]}}
    allowed = [str(m).upper() for m in items(raw, "AllowedMethods")]
    if frozenset(allowed) not in ALLOWED_METHOD_SETS or len(set(allowed)) != len(allowed):
        raise InvalidArgument("The parameter AllowedMethods must be GET,HEAD or GET,HEAD,OPTIONS or "
                              "GET,HEAD,OPTIONS,PUT,POST,PATCH,DELETE.")
    cached_raw = raw.get("CachedMethods")
    cached = [str(m).upper() for m in items(cached_raw, "CachedMethods")] if cached_raw else ["HEAD", "GET"]
    if frozenset(cached) not in CACHED_METHOD_SETS or not set(cached) <= set(allowed):
        raise InvalidArgument("The parameter CachedMethods must be GET,HEAD or GET,HEAD,OPTIONS, within the "
                              "allowed methods.")
    return {**wrap(allowed), "CachedMethods": wrap(cached)}


def _forwarded_values(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or raw.get("QueryString") is None:
        raise InvalidArgument("The parameter ForwardedValues.QueryString is required.")
    values = dict(raw)
    cookies = dict(values.get("Cookies") or {"Forward": "none"})
    if cookies.get("Forward") not in ("none", "whitelist", "all"):
        raise InvalidForwardCookies("The parameter Cookies.Forward must be none, whitelist or all.")
    names = items(cookies.get("WhitelistedNames"), "WhitelistedNames")
    if cookies["Forward"] == "whitelist" and not names:
        raise InvalidForwardCookies("Cookies.Forward is whitelist but no cookie names are given.")
    if len(names) > MAX_FORWARDED:
        raise TooManyCookieNamesInWhiteList(f"At most {MAX_FORWARDED} cookie names may be whitelisted.")
    if cookies["Forward"] == "whitelist":
        cookies["WhitelistedNames"] = wrap(names)
    else:
        cookies.pop("WhitelistedNames", None)
    values["Cookies"] = cookies
    headers = items(values.get("Headers"), "Headers")
    if len(headers) > MAX_FORWARDED:
        raise TooManyHeadersInForwardedValues(f"At most {MAX_FORWARDED} headers may be forwarded.")
    values["Headers"] = wrap(headers)
    keys = items(values.get("QueryStringCacheKeys"), "QueryStringCacheKeys")
    if len(keys) > MAX_FORWARDED:
        raise TooManyQueryStringParameters(f"At most {MAX_FORWARDED} query string cache keys may be given.")
    values["QueryStringCacheKeys"] = wrap(keys)
    return values


def _behavior(raw: Any, targets: set[str], s3_origins: set[str], policy_exists: PolicyExists,
              function_config: FunctionLookup | None, default: bool) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidArgument("The parameter CacheBehavior is not valid.")
    behavior = dict(raw)
    if not default:
        pattern = behavior.get("PathPattern")
        if not pattern or len(pattern) > 255:
            raise InvalidArgument("The parameter PathPattern is required and must be at most 255 characters.")
    if behavior.get("TargetOriginId") not in targets:
        raise NoSuchOrigin("One or more of your origins or origin groups do not exist.")
    if behavior.get("ViewerProtocolPolicy") not in VIEWER_PROTOCOL_POLICIES:
        raise InvalidArgument(f"The parameter ViewerProtocolPolicy is not valid: {behavior.get('ViewerProtocolPolicy')}")
    behavior["AllowedMethods"] = _methods(behavior.get("AllowedMethods"))
    cache_policy = behavior.get("CachePolicyId") or ""
    if cache_policy:
        if behavior.get("ForwardedValues") is not None:
            raise InvalidArgument("The parameter ForwardedValues cannot be used when a cache policy is associated "
                                  "to the cache behavior.")
        if not policy_exists(CACHE, cache_policy):
            raise NoSuchCachePolicy(f"The cache policy {cache_policy} does not exist.")
    else:
        if behavior.get("ForwardedValues") is None:
            raise InvalidArgument("The parameter ForwardedValues is required when no cache policy is associated to "
                                  "the cache behavior.")
        behavior["ForwardedValues"] = _forwarded_values(behavior["ForwardedValues"])
        if behavior.get("MinTTL") is None:
            raise InvalidArgument("The parameter MinTTL is required.")
        minimum = int(behavior["MinTTL"])
        given_default, given_max = behavior.get("DefaultTTL"), behavior.get("MaxTTL")
        default_ttl = int(given_default) if given_default is not None else max(DEFAULT_TTL, minimum)
        maximum = int(given_max) if given_max is not None else max(MAX_TTL, default_ttl)
        if not 0 <= minimum <= default_ttl <= maximum:
            raise InvalidTTLOrder("The TTL order specified in CacheBehavior is not valid: MinTTL <= DefaultTTL <= "
                                  "MaxTTL is required.")
        behavior.update(MinTTL=minimum, DefaultTTL=default_ttl, MaxTTL=maximum)
    for key, kind, error in (("OriginRequestPolicyId", ORIGIN_REQUEST, NoSuchOriginRequestPolicy),
                             ("ResponseHeadersPolicyId", RESPONSE_HEADERS, NoSuchResponseHeadersPolicy)):
        value = behavior.get(key) or ""
        if value and not policy_exists(kind, value):
            raise error(f"The {kind.replace('-', ' ')} policy {value} does not exist.")
    behavior.setdefault("Compress", False)
    behavior.setdefault("SmoothStreaming", False)
    behavior.setdefault("FieldLevelEncryptionId", "")
    for key in ("TrustedSigners", "TrustedKeyGroups"):
        value = behavior.get(key) or {"Enabled": False, "Quantity": 0}
        behavior[key] = {"Enabled": bool(value.get("Enabled")), **wrap(items(value, key))}
    behavior["LambdaFunctionAssociations"] = _lambda_associations(behavior.get("LambdaFunctionAssociations"),
                                                                  function_config)
    behavior["FunctionAssociations"] = wrap(items(behavior.get("FunctionAssociations"), "FunctionAssociations"))
    return behavior


def _lambda_associations(raw: Any, function_config: FunctionLookup | None) -> dict[str, Any]:
    """At most one function per event type (so four per behaviour), IncludeBody only on request events, and each
    function a published version in us-east-1 that Lambda@Edge can run."""
    entries = items(raw, "LambdaFunctionAssociations")
    if len(entries) > len(EDGE_EVENT_TYPES):
        raise TooManyLambdaFunctionAssociations()
    out: list[dict[str, Any]] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise InvalidArgument("The parameter LambdaFunctionAssociation is not valid.")
        event, arn = entry.get("EventType"), str(entry.get("LambdaFunctionARN") or "")
        if event not in EDGE_EVENT_TYPES:
            raise InvalidArgument(f"The parameter EventType is not valid: {event}")
        if any(e["EventType"] == event for e in out):
            raise InvalidLambdaFunctionAssociation(f"A cache behavior can have only one function association for "
                                                   f"each event type. Event type: {event}")
        include_body = bool(entry.get("IncludeBody"))
        if include_body and event.endswith("-response"):
            raise InvalidLambdaFunctionAssociation(f"IncludeBody is only valid for viewer-request and origin-request "
                                                   f"events. Event type: {event}")
        _check_edge_function(arn, event, function_config)
        out.append({"LambdaFunctionARN": arn, "EventType": event, "IncludeBody": include_body})
    return wrap(out)


def _check_edge_function(arn: str, event: str, function_config: FunctionLookup | None) -> None:
    match = _FUNCTION_ARN.match(arn)
    if match is None:
        raise InvalidLambdaFunctionAssociation(f"The function ARN is not valid. ARN: {arn}")
    # CloudFront names the version problem before the region one ("Restrictions on Lambda@Edge")
    if not (match.group("qualifier") or "").isdigit():
        raise InvalidLambdaFunctionAssociation(f"The function ARN must reference a specific function version. (The "
                                               f"ARN must end with the version number.) ARN: {arn}")
    if match.group("region") != EDGE_REGION:
        raise InvalidLambdaFunctionAssociation(f"The function must be in region '{EDGE_REGION}'. ARN: {arn}")
    if function_config is None:
        return
    config = function_config(arn)
    if config is None:
        raise InvalidLambdaFunctionAssociation(f"The function does not exist or CloudFront can't access it. "
                                               f"ARN: {arn}")
    if (config.get("Environment") or {}).get("Variables"):
        raise InvalidLambdaFunctionAssociation(f"The function cannot have environment variables. Function: {arn}")
    runtime = str(config.get("Runtime") or "")
    if not runtime.startswith(("python", "nodejs")):
        raise InvalidLambdaFunctionAssociation(f"The function has a runtime that Lambda@Edge does not support: "
                                               f"{runtime}. Function: {arn}")
    kind = event.split("-", 1)[0]
    for name, value, limit in (("timeout", config.get("Timeout"), EDGE_MAX_TIMEOUT[kind]),
                               ("memory size", config.get("MemorySize"), EDGE_MAX_MEMORY[kind])):
        if int(value or 0) > limit:
            raise InvalidLambdaFunctionAssociation(
                f"The function {name} is larger than the maximum allowed for functions that are triggered by a "
                f"CloudFront {kind} event: {value} Max allowed: {limit} Function: {arn}")


def _custom_error(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or raw.get("ErrorCode") is None:
        raise InvalidArgument("The parameter ErrorCode is required.")
    error = dict(raw)
    code = int(error["ErrorCode"])
    if code not in CUSTOM_ERROR_CODES:
        raise InvalidErrorCode(f"The error code {code} is not valid for a custom error response.")
    error["ErrorCode"] = code
    path = error.get("ResponsePagePath") or ""
    response = str(error.get("ResponseCode") or "")
    if path and not path.startswith("/"):
        raise InvalidRelativePath("The relative path is too big, is not URL-encoded, or does not begin with a "
                                  "slash (/).")
    if bool(path) != bool(response):
        raise InvalidArgument("Your request must specify both ResponsePagePath and ResponseCode, or neither.")
    if response and (not response.isdigit() or int(response) not in CUSTOM_RESPONSE_CODES):
        raise InvalidResponseCode(f"The response code {response} is not valid.")
    error["ResponsePagePath"] = path
    error["ResponseCode"] = response
    if error.get("ErrorCachingMinTTL") is None:
        error["ErrorCachingMinTTL"] = 10
    return error
