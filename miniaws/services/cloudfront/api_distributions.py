"""Distribution operations: Create (with tags), Get, GetConfig, Update, Delete, List, ListBy*Policy, and tags.

https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateDistribution.html and the pages beside it.
"""
from __future__ import annotations

from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.cloudfront.api_common import (DOMAIN_SUFFIX, LOCATION_PREFIX, CloudFrontBase, check_if_match,
                                                    new_etag, page, resource_id)
from miniaws.services.cloudfront.errors import (CNAMEAlreadyExists, DistributionAlreadyExists,
                                                DistributionNotDisabled, IllegalUpdate, InvalidArgument,
                                                InvalidTagging, NoSuchResource)
from miniaws.services.cloudfront.models import CACHE, ORIGIN_REQUEST, RESPONSE_HEADERS, Distribution
from miniaws.services.cloudfront.validation import normalize_distribution_config

MAX_TAGS = 50

#: DistributionSummary members copied from the config (API_DistributionSummary.html)
_SUMMARY_MEMBERS = ("Aliases", "Origins", "OriginGroups", "DefaultCacheBehavior", "CacheBehaviors",
                    "CustomErrorResponses", "Comment", "PriceClass", "Enabled", "ViewerCertificate", "Restrictions",
                    "WebACLId", "HttpVersion", "IsIPV6Enabled", "Staging")


def _tags_of(wrapper: Any) -> dict[str, str]:
    """{Items: [{Key, Value}]} → dict, validated like TagResource (InvalidTagging)."""
    tags: dict[str, str] = {}
    for tag in (wrapper or {}).get("Items") or ():
        key, value = str(tag.get("Key", "")), str(tag.get("Value") or "")
        if not key or len(key) > 128 or len(value) > 256 or key.lower().startswith("aws:"):
            raise InvalidTagging(f"The tag {key!r} is not valid: keys are 1-128 characters, values up to 256, and "
                                 "the aws: prefix is reserved.")
        tags[key] = value
    return tags


def _wire_tags(tags: dict[str, str]) -> dict[str, Any]:
    return {"Items": [{"Key": k, "Value": v} for k, v in tags.items()]}


class DistributionOperations(CloudFrontBase):
    # -- create ---------------------------------------------------------------------------------
    def _validated(self, ctx: RequestContext, raw: Any, current: Distribution | None = None) -> dict[str, Any]:
        config = normalize_distribution_config(
            raw, lambda kind, ident: self.find_policy(kind, ident, ctx.account_id) is not None,
            lambda ident: (oac := self.store.oacs.get(ident)) is not None and oac.account_id == ctx.account_id,
            lambda arn: self._edge_function(ctx, arn))
        for alias in (config["Aliases"].get("Items") or ()):
            for other in self.store.distributions.values():
                if other is not current and alias in other.aliases:
                    raise CNAMEAlreadyExists(f"One or more of the CNAMEs you provided are already associated with a "
                                             f"different resource: {alias}")
        return config

    def _edge_function(self, ctx: RequestContext, arn: str) -> dict[str, Any] | None:
        """A published version of this account's (the function and the distribution must have one owner)."""
        if self.functions is None or f":{ctx.account_id}:function:" not in arn:
            return None
        return self.functions.published_version(arn)

    def _create(self, ctx: RequestContext, raw: Any, tags: dict[str, str]) -> dict[str, Any]:
        reference = raw.get("CallerReference") if isinstance(raw, dict) else None
        for other in self.store.distributions_of(ctx.account_id):
            if reference and other.config["CallerReference"] == reference:
                raise DistributionAlreadyExists(f"The caller reference that you are using to create a distribution "
                                                f"is associated with another distribution: {other.id}")
        config = self._validated(ctx, raw)
        ident = resource_id("E")
        dist = Distribution(ident, ctx.account_id, config, new_etag(), ident.lower() + DOMAIN_SUFFIX,
                            ctx.clock.now())
        self.store.put_distribution(dist)
        if tags:
            self.store.set_tags(dist.arn, tags)
        return {"Distribution": self.distribution_wire(dist, in_progress=True), "ETag": dist.etag,
                "Location": LOCATION_PREFIX + "distribution/" + ident}

    @operation("CreateDistribution")
    def create_distribution(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._create(ctx, params.get("DistributionConfig"), {})

    @operation("CreateDistributionWithTags")
    def create_distribution_with_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        body = params.get("DistributionConfigWithTags") or {}
        tags = _tags_of(body.get("Tags"))
        return self._create(ctx, body.get("DistributionConfig"), tags)

    # -- read -----------------------------------------------------------------------------------
    @operation("GetDistribution")
    def get_distribution(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        dist = self.observe(self.distribution(ctx, params.get("Id")))
        return {"Distribution": self.distribution_wire(dist), "ETag": dist.etag}

    @operation("GetDistributionConfig")
    def get_distribution_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        dist = self.observe(self.distribution(ctx, params.get("Id")))
        return {"DistributionConfig": dist.config, "ETag": dist.etag}

    def _summary(self, dist: Distribution) -> dict[str, Any]:
        self.observe(dist)
        wire = self.distribution_wire(dist)
        summary = {k: wire[k] for k in ("Id", "ARN", "Status", "LastModifiedTime", "DomainName")}
        summary["ETag"] = dist.etag
        for member in _SUMMARY_MEMBERS:
            if member in dist.config:
                summary[member] = dist.config[member]
        return summary

    @operation("ListDistributions")
    def list_distributions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        dists = sorted(self.store.distributions_of(ctx.account_id), key=lambda d: d.id)
        chunk, following = page(dists, params, lambda d: d.id)
        listing: dict[str, Any] = {"Marker": params.get("Marker") or "", "MaxItems": int(params.get("MaxItems") or 100),
                                   "IsTruncated": bool(following), "Quantity": len(chunk)}
        if chunk:
            listing["Items"] = [self._summary(d) for d in chunk]
        if following:
            listing["NextMarker"] = following
        return {"DistributionList": listing}

    def _list_by_policy(self, ctx: RequestContext, params: dict[str, Any], kind: str, member: str,
                        ident: str) -> dict[str, Any]:
        self.policy(ctx, kind, ident)
        ids = sorted(d.id for d in self.store.distributions_of(ctx.account_id)
                     if any(b.get(member) == ident for b in self.store.iter_behaviors(d)))
        chunk, following = page(ids, params, lambda i: i)
        listing: dict[str, Any] = {"Marker": params.get("Marker") or "", "MaxItems": int(params.get("MaxItems") or 100),
                                   "IsTruncated": bool(following), "Quantity": len(chunk)}
        if chunk:
            listing["Items"] = chunk
        if following:
            listing["NextMarker"] = following
        return {"DistributionIdList": listing}

    @operation("ListDistributionsByCachePolicyId")
    def list_distributions_by_cache_policy_id(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._list_by_policy(ctx, params, CACHE, "CachePolicyId", str(params.get("CachePolicyId")))

    @operation("ListDistributionsByOriginRequestPolicyId")
    def list_distributions_by_origin_request_policy_id(self, ctx: RequestContext,
                                                       params: dict[str, Any]) -> dict[str, Any]:
        return self._list_by_policy(ctx, params, ORIGIN_REQUEST, "OriginRequestPolicyId",
                                    str(params.get("OriginRequestPolicyId")))

    @operation("ListDistributionsByResponseHeadersPolicyId")
    def list_distributions_by_response_headers_policy_id(self, ctx: RequestContext,
                                                         params: dict[str, Any]) -> dict[str, Any]:
        return self._list_by_policy(ctx, params, RESPONSE_HEADERS, "ResponseHeadersPolicyId",
                                    str(params.get("ResponseHeadersPolicyId")))

    # -- update / delete ------------------------------------------------------------------------
    @operation("UpdateDistribution")
    def update_distribution(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        dist = self.distribution(ctx, params.get("Id"))
        check_if_match(params, dist.etag)
        config = self._validated(ctx, params.get("DistributionConfig"), current=dist)
        if config["CallerReference"] != dist.config["CallerReference"]:
            # API_UpdateDistribution.html: the CallerReference cannot change
            raise IllegalUpdate("The CallerReference of a distribution cannot be changed.")
        dist.config = config
        dist.etag = new_etag()
        dist.modified = ctx.clock.now()
        dist.deployed = False
        self.store.put_distribution(dist)
        return {"Distribution": self.distribution_wire(dist, in_progress=True), "ETag": dist.etag}

    @operation("DeleteDistribution")
    def delete_distribution(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        dist = self.distribution(ctx, params.get("Id"))
        check_if_match(params, dist.etag)
        if dist.enabled:
            raise DistributionNotDisabled("The distribution you are trying to delete has not been disabled.")
        self.store.remove_distribution(dist)
        self.edge.forget(dist.id)
        return {}

    # -- tags -----------------------------------------------------------------------------------
    def _tagged(self, ctx: RequestContext, arn: Any) -> str:
        text = str(arn or "")
        prefix = f"arn:aws:cloudfront::{ctx.account_id}:distribution/"
        if not text.startswith("arn:aws:cloudfront::"):
            raise InvalidArgument(f"The parameter Resource is not a valid CloudFront ARN: {text}")
        ident = text[len(prefix):] if text.startswith(prefix) else ""
        dist = self.store.distributions.get(ident)
        if dist is None or dist.account_id != ctx.account_id:
            raise NoSuchResource(f"The specified CloudFront resource does not exist: {text}")
        return text

    @operation("TagResource")
    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = self._tagged(ctx, params.get("Resource"))
        tags = {**self.store.tags.get(arn, {}), **_tags_of(params.get("Tags"))}
        if len(tags) > MAX_TAGS:
            raise InvalidTagging(f"A resource can have at most {MAX_TAGS} tags.")
        self.store.set_tags(arn, tags)
        return {}

    @operation("UntagResource")
    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = self._tagged(ctx, params.get("Resource"))
        drop = set((params.get("TagKeys") or {}).get("Items") or ())
        self.store.set_tags(arn, {k: v for k, v in self.store.tags.get(arn, {}).items() if k not in drop})
        return {}

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = self._tagged(ctx, params.get("Resource"))
        return {"Tags": _wire_tags(self.store.tags.get(arn, {}))}
