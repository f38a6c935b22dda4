"""Validation of cache, origin request and response headers policy configs and origin access control configs.

Rules are from the API reference pages of each config (API_CachePolicyConfig.html, API_OriginRequestPolicyConfig.html,
API_ResponseHeadersPolicyConfig.html, API_OriginAccessControlConfig.html) and the quotas page: 10 headers, cookies
and query strings per cache or origin request policy, 10 custom headers per response headers policy.
"""
from __future__ import annotations

import copy
from typing import Any

from miniaws.services.cloudfront.errors import (InvalidArgument, MissingBody, TooLongCSPInResponseHeadersPolicy,
                                                TooManyCookiesInCachePolicy, TooManyCookiesInOriginRequestPolicy,
                                                TooManyCustomHeadersInResponseHeadersPolicy,
                                                TooManyHeadersInCachePolicy, TooManyHeadersInOriginRequestPolicy,
                                                TooManyQueryStringsInCachePolicy,
                                                TooManyQueryStringsInOriginRequestPolicy,
                                                TooManyRemoveHeadersInResponseHeadersPolicy)
from miniaws.services.cloudfront.models import CACHE, ORIGIN_REQUEST, RESPONSE_HEADERS
from miniaws.services.cloudfront.validation import DEFAULT_TTL, MAX_TTL, items, wrap

MAX_POLICY_ITEMS = 10
MAX_CSP = 1783

CACHE_HEADER_BEHAVIORS = ("none", "whitelist")
CACHE_COOKIE_BEHAVIORS = ("none", "whitelist", "allExcept", "all")
CACHE_QUERY_BEHAVIORS = ("none", "whitelist", "allExcept", "all")
ORIGIN_HEADER_BEHAVIORS = ("none", "whitelist", "allViewer", "allViewerAndWhitelistCloudFront", "allExcept")
ORIGIN_COOKIE_BEHAVIORS = ("none", "whitelist", "all", "allExcept")
ORIGIN_QUERY_BEHAVIORS = ("none", "whitelist", "all", "allExcept")
OAC_ORIGIN_TYPES = ("s3", "mediastore", "lambda", "mediapackagev2")
OAC_SIGNING_BEHAVIORS = ("never", "always", "no-override")
FRAME_OPTIONS = ("DENY", "SAMEORIGIN")
REFERRER_POLICIES = ("no-referrer", "no-referrer-when-downgrade", "origin", "origin-when-cross-origin",
                     "same-origin", "strict-origin", "strict-origin-when-cross-origin", "unsafe-url")


def _require_body(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or not raw:
        raise MissingBody()
    return copy.deepcopy(raw)


def _name(config: dict[str, Any]) -> None:
    name = config.get("Name")
    if not name or len(str(name)) > 128:
        raise InvalidArgument("The parameter Name is required and must be at most 128 characters.")
    if str(name).startswith("Managed-"):
        raise InvalidArgument("The parameter Name cannot begin with Managed-: that prefix is reserved for AWS "
                              "managed policies.")


def _selection(raw: Any, behavior_key: str, list_key: str, behaviors: tuple[str, ...], what: str,
               too_many: type[Exception], listed: tuple[str, ...]) -> dict[str, Any]:
    """One of HeadersConfig / CookiesConfig / QueryStringsConfig."""
    if not isinstance(raw, dict) or raw.get(behavior_key) is None:
        raise InvalidArgument(f"The parameter {behavior_key} is required.")
    behavior = raw[behavior_key]
    if behavior not in behaviors:
        raise InvalidArgument(f"The parameter {behavior_key} is not valid: {behavior}")
    names = items(raw.get(list_key), list_key)
    if len(names) > MAX_POLICY_ITEMS:
        raise too_many(f"Your policy contains too many {what} (at most {MAX_POLICY_ITEMS}).")
    if behavior in listed and not names:
        raise InvalidArgument(f"The parameter {list_key} must name at least one {what[:-1]} when {behavior_key} is "
                              f"{behavior}.")
    out: dict[str, Any] = {behavior_key: behavior}
    if names:
        out[list_key] = wrap(names)
    return out


def normalize_cache_policy_config(raw: Any) -> dict[str, Any]:
    config = _require_body(raw)
    _name(config)
    if config.get("MinTTL") is None:
        raise InvalidArgument("The parameter MinTTL is required.")
    minimum = int(config["MinTTL"])
    default = int(config["DefaultTTL"]) if config.get("DefaultTTL") is not None else max(DEFAULT_TTL, minimum)
    maximum = int(config["MaxTTL"]) if config.get("MaxTTL") is not None else max(MAX_TTL, default)
    if not 0 <= minimum <= default <= maximum:
        raise InvalidArgument("The parameter MinTTL, DefaultTTL and MaxTTL must satisfy MinTTL <= DefaultTTL <= "
                              "MaxTTL.")
    config.update(MinTTL=minimum, DefaultTTL=default, MaxTTL=maximum)
    params = config.get("ParametersInCacheKeyAndForwardedToOrigin")
    if not isinstance(params, dict):
        raise InvalidArgument("The parameter ParametersInCacheKeyAndForwardedToOrigin is required.")
    params = dict(params)
    if params.get("EnableAcceptEncodingGzip") is None:
        raise InvalidArgument("The parameter EnableAcceptEncodingGzip is required.")
    params["HeadersConfig"] = _selection(params.get("HeadersConfig"), "HeaderBehavior", "Headers",
                                         CACHE_HEADER_BEHAVIORS, "headers", TooManyHeadersInCachePolicy,
                                         ("whitelist",))
    params["CookiesConfig"] = _selection(params.get("CookiesConfig"), "CookieBehavior", "Cookies",
                                         CACHE_COOKIE_BEHAVIORS, "cookies", TooManyCookiesInCachePolicy,
                                         ("whitelist", "allExcept"))
    params["QueryStringsConfig"] = _selection(params.get("QueryStringsConfig"), "QueryStringBehavior",
                                              "QueryStrings", CACHE_QUERY_BEHAVIORS, "query strings",
                                              TooManyQueryStringsInCachePolicy, ("whitelist", "allExcept"))
    if maximum == 0 and (params["HeadersConfig"]["HeaderBehavior"] != "none"
                         or params["CookiesConfig"]["CookieBehavior"] != "none"
                         or params["QueryStringsConfig"]["QueryStringBehavior"] != "none"
                         or params.get("EnableAcceptEncodingGzip") or params.get("EnableAcceptEncodingBrotli")):
        # https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CachePolicyConfig.html: with caching
        # disabled nothing can be in the cache key; use an origin request policy to forward values instead
        raise InvalidArgument("The parameter HeaderBehavior, CookieBehavior and QueryStringBehavior must be none "
                              "and compression disabled when MaxTTL is 0.")
    config["ParametersInCacheKeyAndForwardedToOrigin"] = params
    return config


def normalize_origin_request_policy_config(raw: Any) -> dict[str, Any]:
    config = _require_body(raw)
    _name(config)
    config["HeadersConfig"] = _selection(config.get("HeadersConfig"), "HeaderBehavior", "Headers",
                                         ORIGIN_HEADER_BEHAVIORS, "headers", TooManyHeadersInOriginRequestPolicy,
                                         ("whitelist", "allViewerAndWhitelistCloudFront", "allExcept"))
    config["CookiesConfig"] = _selection(config.get("CookiesConfig"), "CookieBehavior", "Cookies",
                                         ORIGIN_COOKIE_BEHAVIORS, "cookies", TooManyCookiesInOriginRequestPolicy,
                                         ("whitelist", "allExcept"))
    config["QueryStringsConfig"] = _selection(config.get("QueryStringsConfig"), "QueryStringBehavior",
                                              "QueryStrings", ORIGIN_QUERY_BEHAVIORS, "query strings",
                                              TooManyQueryStringsInOriginRequestPolicy, ("whitelist", "allExcept"))
    return config


def normalize_response_headers_policy_config(raw: Any) -> dict[str, Any]:
    config = _require_body(raw)
    _name(config)
    cors = config.get("CorsConfig")
    if cors is not None:
        for key in ("AccessControlAllowOrigins", "AccessControlAllowHeaders", "AccessControlAllowMethods"):
            if not items(cors.get(key), key):
                raise InvalidArgument(f"The parameter {key} must contain at least one item.")
        for key in ("AccessControlAllowCredentials", "OriginOverride"):
            if cors.get(key) is None:
                raise InvalidArgument(f"The parameter {key} is required.")
        origins = items(cors["AccessControlAllowOrigins"], "AccessControlAllowOrigins")
        if cors["AccessControlAllowCredentials"] and "*" in origins:
            raise InvalidArgument("Access-Control-Allow-Origin cannot be * when Access-Control-Allow-Credentials "
                                  "is true.")
        if cors.get("AccessControlExposeHeaders") is not None:
            items(cors["AccessControlExposeHeaders"], "AccessControlExposeHeaders")
    security = config.get("SecurityHeadersConfig")
    if security is not None:
        frame = security.get("FrameOptions")
        if frame is not None and frame.get("FrameOption") not in FRAME_OPTIONS:
            raise InvalidArgument("The parameter FrameOption must be DENY or SAMEORIGIN.")
        referrer = security.get("ReferrerPolicy")
        if referrer is not None and referrer.get("ReferrerPolicy") not in REFERRER_POLICIES:
            raise InvalidArgument(f"The parameter ReferrerPolicy is not valid: {referrer.get('ReferrerPolicy')}")
        csp = security.get("ContentSecurityPolicy")
        if csp is not None and len(str(csp.get("ContentSecurityPolicy", ""))) > MAX_CSP:
            raise TooLongCSPInResponseHeadersPolicy(f"The Content-Security-Policy is longer than {MAX_CSP} "
                                                    "characters.")
    custom = items(config.get("CustomHeadersConfig"), "CustomHeadersConfig")
    if len(custom) > MAX_POLICY_ITEMS:
        raise TooManyCustomHeadersInResponseHeadersPolicy(f"At most {MAX_POLICY_ITEMS} custom headers per policy.")
    if config.get("CustomHeadersConfig") is not None:
        config["CustomHeadersConfig"] = wrap(custom)
    removed = items(config.get("RemoveHeadersConfig"), "RemoveHeadersConfig")
    if len(removed) > MAX_POLICY_ITEMS:
        raise TooManyRemoveHeadersInResponseHeadersPolicy(f"At most {MAX_POLICY_ITEMS} headers to remove per policy.")
    if config.get("RemoveHeadersConfig") is not None:
        config["RemoveHeadersConfig"] = wrap(removed)
    return config


def normalize_oac_config(raw: Any) -> dict[str, Any]:
    config = _require_body(raw)
    name = config.get("Name")
    if not name or len(str(name)) > 64:
        raise InvalidArgument("The parameter Name is required and must be at most 64 characters.")
    if config.get("SigningProtocol") != "sigv4":
        raise InvalidArgument("The parameter SigningProtocol must be sigv4.")
    if config.get("SigningBehavior") not in OAC_SIGNING_BEHAVIORS:
        raise InvalidArgument(f"The parameter SigningBehavior is not valid: {config.get('SigningBehavior')}")
    if config.get("OriginAccessControlOriginType") not in OAC_ORIGIN_TYPES:
        raise InvalidArgument("The parameter OriginAccessControlOriginType is not valid: "
                              f"{config.get('OriginAccessControlOriginType')}")
    config.setdefault("Description", "")
    return config


POLICY_NORMALIZERS = {CACHE: normalize_cache_policy_config, ORIGIN_REQUEST: normalize_origin_request_policy_config,
                      RESPONSE_HEADERS: normalize_response_headers_policy_config}
