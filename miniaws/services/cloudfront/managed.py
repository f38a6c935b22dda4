"""The AWS managed cache, origin request and response headers policies, under their real ids and names.

Ids and settings are from the CloudFront Developer Guide: "Use managed cache policies", "Use managed origin
request policies" and "Use managed response headers policies". The API lists them with the `Managed-` prefix
(`aws cloudfront list-cache-policies --type managed`); they cannot be updated or deleted.
"""
from __future__ import annotations

from typing import Any

#: fixed ETag of every managed policy (they never change)
MANAGED_ETAG = "E23ZP02F085DFQ"
#: LastModifiedTime shown for managed policies (epoch seconds)
MANAGED_MODIFIED = 1_600_000_000.0

YEAR = 31_536_000


def _items(values: list[str]) -> dict[str, Any]:
    return {"Quantity": len(values), "Items": list(values)} if values else {"Quantity": 0}


def _cache(name: str, comment: str, ttls: tuple[int, int, int], headers: list[str], cookies: str,
           query: str | list[str], gzip: bool, brotli: bool) -> dict[str, Any]:
    minimum, default, maximum = ttls
    query_config: dict[str, Any] = ({"QueryStringBehavior": query} if isinstance(query, str)
                                    else {"QueryStringBehavior": "whitelist", "QueryStrings": _items(query)})
    return {
        "Name": "Managed-" + name, "Comment": comment, "MinTTL": minimum, "DefaultTTL": default, "MaxTTL": maximum,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": gzip, "EnableAcceptEncodingBrotli": brotli,
            "HeadersConfig": ({"HeaderBehavior": "whitelist", "Headers": _items(headers)} if headers
                              else {"HeaderBehavior": "none"}),
            "CookiesConfig": {"CookieBehavior": cookies},
            "QueryStringsConfig": query_config,
        },
    }


MANAGED_CACHE_POLICIES: dict[str, dict[str, Any]] = {
    "2e54312d-136d-493c-8eb9-b001f22f67d2": _cache(
        "Amplify", "Policy for Amplify Origin", (2, 2, 600),
        ["Authorization", "CloudFront-Viewer-Country", "Host"], "all", "all", True, True),
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": _cache(
        "CachingDisabled", "Policy with caching disabled", (0, 0, 0), [], "none", "none", False, False),
    "658327ea-f89d-4fab-a63d-7e88639e58f6": _cache(
        "CachingOptimized", "Policy with caching enabled. Supports Gzip and Brotli compression.",
        (1, 86400, YEAR), [], "none", "none", True, True),
    "b2884449-e4de-46a7-ac36-70bc7f1ddd6d": _cache(
        "CachingOptimizedForUncompressedObjects", "Default policy when compression is disabled",
        (1, 86400, YEAR), [], "none", "none", False, False),
    "08627262-05a9-4f76-9ded-b50ca2e3a84f": _cache(
        "Elemental-MediaPackage", "Policy for Elemental MediaPackage Origin", (0, 86400, YEAR), ["origin"],
        "none", ["aws.manifestfilter", "start", "end", "m"], True, False),
    "83da9c7e-98b4-4e11-a168-04f0df8e2c65": _cache(
        "UseOriginCacheControlHeaders", "Policy for origins that return Cache-Control headers. "
        "Query strings are not included in the cache key.", (0, 0, YEAR),
        ["host", "origin", "x-http-method-override", "x-http-method", "x-method-override"], "all", "none",
        True, True),
    "4cc15a8a-d715-48a4-82b8-cc0b614638fe": _cache(
        "UseOriginCacheControlHeaders-QueryStrings", "Policy for origins that return Cache-Control headers and "
        "expect query strings in the cache key.", (0, 0, YEAR),
        ["host", "origin", "x-http-method-override", "x-http-method", "x-method-override"], "all", "all",
        True, True),
}


def _origin_request(name: str, comment: str, headers: str | list[str], cookies: str, query: str,
                    except_headers: list[str] | None = None) -> dict[str, Any]:
    if isinstance(headers, str):
        header_config: dict[str, Any] = {"HeaderBehavior": headers}
        if except_headers:
            header_config["Headers"] = _items(except_headers)
    else:
        header_config = {"HeaderBehavior": "whitelist", "Headers": _items(headers)}
    return {"Name": "Managed-" + name, "Comment": comment, "HeadersConfig": header_config,
            "CookiesConfig": {"CookieBehavior": cookies}, "QueryStringsConfig": {"QueryStringBehavior": query}}


#: the CloudFront headers released by June 2022 (AllViewerAndCloudFrontHeaders-2022-06)
CLOUDFRONT_HEADERS_2022_06 = [
    "CloudFront-Forwarded-Proto", "CloudFront-Is-Android-Viewer", "CloudFront-Is-Desktop-Viewer",
    "CloudFront-Is-IOS-Viewer", "CloudFront-Is-Mobile-Viewer", "CloudFront-Is-SmartTV-Viewer",
    "CloudFront-Is-Tablet-Viewer", "CloudFront-Viewer-Address", "CloudFront-Viewer-ASN", "CloudFront-Viewer-City",
    "CloudFront-Viewer-Country", "CloudFront-Viewer-Country-Name", "CloudFront-Viewer-Country-Region",
    "CloudFront-Viewer-Country-Region-Name", "CloudFront-Viewer-Http-Version", "CloudFront-Viewer-Latitude",
    "CloudFront-Viewer-Longitude", "CloudFront-Viewer-Metro-Code", "CloudFront-Viewer-Postal-Code",
    "CloudFront-Viewer-Time-Zone", "CloudFront-Viewer-TLS",
]

MANAGED_ORIGIN_REQUEST_POLICIES: dict[str, dict[str, Any]] = {
    "216adef6-5c7f-47e4-b989-5492eafa07d3": _origin_request(
        "AllViewer", "Policy to forward all parameters in viewer requests", "allViewer", "all", "all"),
    "33f36d7e-f396-46d9-90e0-52428a34d9dc": {
        **_origin_request("AllViewerAndCloudFrontHeaders-2022-06",
                          "Policy to forward all parameters in viewer requests and all CloudFront headers that were "
                          "released through June 2022", "allViewerAndWhitelistCloudFront", "all", "all"),
        "HeadersConfig": {"HeaderBehavior": "allViewerAndWhitelistCloudFront",
                          "Headers": _items(CLOUDFRONT_HEADERS_2022_06)},
    },
    "b689b0a8-53d0-40ab-baf2-68738e2966ac": _origin_request(
        "AllViewerExceptHostHeader", "Policy to forward all parameters in viewer requests except for the Host "
        "header", "allExcept", "all", "all", except_headers=["host"]),
    "59781a5b-3903-41f3-afcb-af62929ccde1": _origin_request(
        "CORS-CustomOrigin", "Policy for allowing CORS requests to a custom origin", ["origin"], "none", "none"),
    "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf": _origin_request(
        "CORS-S3Origin", "Policy for allowing CORS requests to an S3 origin",
        ["origin", "access-control-request-headers", "access-control-request-method"], "none", "none"),
    "775133bc-15f2-49f9-abea-afb2e0bf67d2": _origin_request(
        "Elemental-MediaTailor-PersonalizedManifests", "Policy for Elemental MediaTailor Origin",
        ["origin", "access-control-request-headers", "x-forwarded-for", "access-control-request-method",
         "user-agent"], "none", "all"),
    "bf0718e1-ba1e-49d1-88b1-f726733018ae": _origin_request(
        "HostHeaderOnly", "Policy to forward only the Host header", ["host"], "none", "none"),
    "acba4595-bd28-49b8-b9fe-13317c0390fa": _origin_request(
        "UserAgentRefererHeaders", "Policy to forward the User-Agent and Referer headers",
        ["user-agent", "referer"], "none", "all"),
}


def _cors(preflight: bool) -> dict[str, Any]:
    methods = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"] if preflight else ["ALL"]
    config: dict[str, Any] = {
        "AccessControlAllowOrigins": _items(["*"]),
        "AccessControlAllowHeaders": _items(["*"]),
        "AccessControlAllowMethods": _items(methods),
        "AccessControlAllowCredentials": False,
        "AccessControlExposeHeaders": _items(["*"]),
        "OriginOverride": False,
    }
    if preflight:
        config["AccessControlMaxAgeSec"] = 600
    return config


_SECURITY: dict[str, Any] = {
    "XSSProtection": {"Override": False, "Protection": True, "ModeBlock": True},
    "FrameOptions": {"Override": False, "FrameOption": "SAMEORIGIN"},
    "ReferrerPolicy": {"Override": False, "ReferrerPolicy": "strict-origin-when-cross-origin"},
    "ContentTypeOptions": {"Override": True},
    "StrictTransportSecurity": {"Override": False, "IncludeSubdomains": False, "Preload": False,
                                "AccessControlMaxAgeSec": YEAR},
}


def _headers_policy(name: str, comment: str, cors: dict[str, Any] | None,
                    security: bool) -> dict[str, Any]:
    config: dict[str, Any] = {"Name": "Managed-" + name, "Comment": comment}
    if cors is not None:
        config["CorsConfig"] = cors
    if security:
        config["SecurityHeadersConfig"] = _SECURITY
    return config


MANAGED_RESPONSE_HEADERS_POLICIES: dict[str, dict[str, Any]] = {
    "e61eb60c-9c35-4d20-a928-2b84e02af89c": _headers_policy(
        "CORS-and-SecurityHeadersPolicy", "Allows all origins for simple CORS requests and adds security headers",
        _cors(False), True),
    "5cc3b908-e619-4b99-88e5-2cf7f45965bd": _headers_policy(
        "CORS-With-Preflight", "Allows all origins for CORS requests, including preflight requests",
        _cors(True), False),
    "eaab4381-ed33-4a86-88ca-d9558dc6cd63": _headers_policy(
        "CORS-with-preflight-and-SecurityHeadersPolicy", "Allows all origins for CORS requests, including "
        "preflight requests, and adds security headers", _cors(True), True),
    "67f7725c-6f97-4210-82d7-5512b31e9d03": _headers_policy(
        "SecurityHeadersPolicy", "Adds a set of security headers to every response", None, True),
    "60669652-455b-4ae9-85a4-c4c02393f86c": _headers_policy(
        "SimpleCORS", "Allows all origins for simple CORS requests", _cors(False), False),
}
