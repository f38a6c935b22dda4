"""Static website hosting rules: validating a WebsiteConfiguration, redirects, routing rules, and the HTML error page.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/WebsiteHosting.html, IndexDocumentSupport.html,
how-to-page-redirect.html (RedirectAllRequestsTo, RoutingRules, x-amz-website-redirect-location) and
CustomErrorDocSupport.html (error documents keep the error's status code).
"""
from __future__ import annotations

from html import escape
from typing import Any

from miniaws.services.s3.errors import InvalidArgument, MalformedXML


def check_website(configuration: dict[str, Any] | None) -> dict[str, Any]:
    configuration = configuration or {}
    redirect_all = configuration.get("RedirectAllRequestsTo")
    if redirect_all is not None:
        if not redirect_all.get("HostName"):
            raise MalformedXML()
        if any(configuration.get(k) for k in ("IndexDocument", "ErrorDocument", "RoutingRules")):
            raise InvalidArgument("RedirectAllRequestsTo cannot be provided in conjunction with other Routing "
                                  "Rules.", ArgumentName="RedirectAllRequestsTo")
        return configuration
    suffix = (configuration.get("IndexDocument") or {}).get("Suffix")
    if suffix is None:
        raise InvalidArgument("A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty",
                              ArgumentName="IndexDocument")
    if not suffix or "/" in suffix:
        raise InvalidArgument("The IndexDocument Suffix is not well formed", ArgumentName="IndexDocument",
                              ArgumentValue=suffix)
    for rule in configuration.get("RoutingRules") or []:
        redirect = rule.get("Redirect") or {}
        if redirect.get("ReplaceKeyWith") is not None and redirect.get("ReplaceKeyPrefixWith") is not None:
            raise InvalidArgument("You can only define ReplaceKeyPrefix or ReplaceKey but not both.",
                                  ArgumentName="ReplaceKeyPrefixWith")
        code = redirect.get("HttpRedirectCode")
        if code is not None and code not in ("301", "302", "303", "307", "308"):
            raise InvalidArgument("The provided HTTP redirect code is not valid. It should be a string containing "
                                  "a number between 300 and 399.", ArgumentName="HttpRedirectCode")
    return configuration


def _location(redirect: dict[str, Any], key: str, matched_prefix: str, scheme: str, host: str) -> str:
    if redirect.get("ReplaceKeyWith") is not None:
        key = redirect["ReplaceKeyWith"]
    elif redirect.get("ReplaceKeyPrefixWith") is not None:
        key = redirect["ReplaceKeyPrefixWith"] + key[len(matched_prefix):]
    return f"{redirect.get('Protocol') or scheme}://{redirect.get('HostName') or host}/{key}"


def redirect_all(configuration: dict[str, Any], key: str, scheme: str) -> str | None:
    target = configuration.get("RedirectAllRequestsTo")
    if target is None:
        return None
    return f"{target.get('Protocol') or scheme}://{target['HostName']}/{key}"


def routing_redirect(configuration: dict[str, Any], key: str, error_code: int | None, scheme: str,
                     host: str) -> tuple[int, str] | None:
    """(status, Location) of the first routing rule that applies: before the lookup (`error_code` None) only
    rules without an error-code condition count; after an error, rules whose code matches it."""
    for rule in configuration.get("RoutingRules") or []:
        condition = rule.get("Condition") or {}
        prefix = condition.get("KeyPrefixEquals")
        code = condition.get("HttpErrorCodeReturnedEquals")
        if prefix is not None and not key.startswith(prefix):
            continue
        if (code is None) != (error_code is None) or (code is not None and str(code) != str(error_code)):
            continue
        redirect = rule.get("Redirect") or {}
        return int(redirect.get("HttpRedirectCode") or 301), _location(redirect, key, prefix or "", scheme, host)
    return None


_TITLES = {403: "403 Forbidden", 404: "404 Not Found", 405: "405 Method Not Allowed"}


def error_page(status: int, code: str, message: str, fields: dict[str, str], request_id: str) -> str:
    """The HTML error page S3 website endpoints answer with (no ErrorDocument, or it is missing too)."""
    title = _TITLES.get(status, str(status))
    items = [f"<li>Code: {escape(code)}</li>", f"<li>Message: {escape(message)}</li>"]
    items += [f"<li>{escape(name)}: {escape(value)}</li>" for name, value in fields.items()]
    items.append(f"<li>RequestId: {escape(request_id)}</li>")
    return (f"<html>\n<head><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n<ul>\n" + "\n".join(items)
            + "\n</ul>\n<hr/>\n</body>\n</html>\n")
