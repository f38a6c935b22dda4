"""Cache, origin request and response headers policies (one life cycle, three names) and origin access controls.

https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateCachePolicy.html and the pages beside it;
API_CreateOriginAccessControl.html for origin access controls.
"""
from __future__ import annotations

import uuid
from typing import Any

from miniaws.core.context import RequestContext
from miniaws.core.errors import AwsError
from miniaws.services.base import operation
from miniaws.services.cloudfront.api_common import (LOCATION_PREFIX, MANAGED, CloudFrontBase, check_if_match,
                                                    new_etag, page, resource_id)
from miniaws.services.cloudfront.errors import (CachePolicyAlreadyExists, CachePolicyInUse, IllegalDelete,
                                                IllegalUpdate, InvalidArgument, OriginAccessControlAlreadyExists,
                                                OriginAccessControlInUse, OriginRequestPolicyAlreadyExists,
                                                OriginRequestPolicyInUse, ResponseHeadersPolicyAlreadyExists,
                                                ResponseHeadersPolicyInUse)
from miniaws.services.cloudfront.models import (CACHE, ORIGIN_REQUEST, RESPONSE_HEADERS, OriginAccessControl,
                                                Policy)
from miniaws.services.cloudfront.policy_validation import POLICY_NORMALIZERS, normalize_oac_config

#: kind → (wire member name, path segment in Location, behaviour member, AlreadyExists, InUse)
_KINDS: dict[str, tuple[str, str, str, type[AwsError], type[AwsError]]] = {
    CACHE: ("CachePolicy", "cache-policy", "CachePolicyId", CachePolicyAlreadyExists, CachePolicyInUse),
    ORIGIN_REQUEST: ("OriginRequestPolicy", "origin-request-policy", "OriginRequestPolicyId",
                     OriginRequestPolicyAlreadyExists, OriginRequestPolicyInUse),
    RESPONSE_HEADERS: ("ResponseHeadersPolicy", "response-headers-policy", "ResponseHeadersPolicyId",
                       ResponseHeadersPolicyAlreadyExists, ResponseHeadersPolicyInUse),
}


def _wire(policy: Policy) -> dict[str, Any]:
    member = _KINDS[policy.kind][0]
    return {"Id": policy.id, "LastModifiedTime": policy.modified, member + "Config": policy.config}


class PolicyOperations(CloudFrontBase):
    # -- shared by the three kinds --------------------------------------------------------------
    def _check_name(self, ctx: RequestContext, kind: str, name: str, current: Policy | None = None) -> None:
        taken = any(p.kind == kind and p.account_id == ctx.account_id and p.name == name and p is not current
                    for p in self.store.policies.values())
        if taken:
            raise _KINDS[kind][3](f"A {kind.replace('-', ' ')} policy with the name {name} already exists.")

    def _create_policy(self, ctx: RequestContext, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        member, segment = _KINDS[kind][0], _KINDS[kind][1]
        config = POLICY_NORMALIZERS[kind](params.get(member + "Config"))
        self._check_name(ctx, kind, config["Name"])
        policy = Policy(kind, str(uuid.uuid4()), ctx.account_id, config, new_etag(), ctx.clock.now())
        self.store.put_policy(policy)
        return {member: _wire(policy), "ETag": policy.etag, "Location": f"{LOCATION_PREFIX}{segment}/{policy.id}"}

    def _get_policy(self, ctx: RequestContext, kind: str, params: dict[str, Any], config_only: bool) -> dict[str, Any]:
        policy = self.policy(ctx, kind, params.get("Id"))
        member = _KINDS[kind][0]
        if config_only:
            return {member + "Config": policy.config, "ETag": policy.etag}
        return {member: _wire(policy), "ETag": policy.etag}

    def _update_policy(self, ctx: RequestContext, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        policy = self.policy(ctx, kind, params.get("Id"))
        if policy.managed:
            raise IllegalUpdate("AWS managed policies cannot be updated.")
        check_if_match(params, policy.etag)
        member = _KINDS[kind][0]
        config = POLICY_NORMALIZERS[kind](params.get(member + "Config"))
        self._check_name(ctx, kind, config["Name"], current=policy)
        policy.config = config
        policy.etag = new_etag()
        policy.modified = ctx.clock.now()
        self.store.put_policy(policy)
        return {member: _wire(policy), "ETag": policy.etag}

    def _delete_policy(self, ctx: RequestContext, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        policy = self.policy(ctx, kind, params.get("Id"))
        if policy.managed:
            raise IllegalDelete("AWS managed policies cannot be deleted.")
        check_if_match(params, policy.etag)
        behavior_member, in_use = _KINDS[kind][2], _KINDS[kind][4]
        for dist in self.store.distributions.values():
            if any(b.get(behavior_member) == policy.id for b in self.store.iter_behaviors(dist)):
                raise in_use()
        self.store.remove_policy(policy)
        return {}

    def _list_policies(self, ctx: RequestContext, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        wanted = params.get("Type")
        if wanted not in (None, "", "managed", "custom"):
            raise InvalidArgument(f"The parameter Type is not valid: {wanted}")
        found: list[Policy] = []
        if wanted in (None, "", "managed"):
            found += sorted(MANAGED[kind].values(), key=lambda p: p.name)
        if wanted in (None, "", "custom"):
            found += sorted((p for p in self.store.policies.values()
                             if p.kind == kind and p.account_id == ctx.account_id), key=lambda p: (p.modified, p.id))
        chunk, following = page(found, params, lambda p: p.id)
        member = _KINDS[kind][0]
        listing: dict[str, Any] = {"MaxItems": int(params.get("MaxItems") or 100), "Quantity": len(chunk)}
        if chunk:
            listing["Items"] = [{"Type": "managed" if p.managed else "custom", member: _wire(p)} for p in chunk]
        if following:
            listing["NextMarker"] = following
        return {member + "List": listing}

    # -- cache policies -------------------------------------------------------------------------
    @operation("CreateCachePolicy")
    def create_cache_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._create_policy(ctx, CACHE, params)

    @operation("GetCachePolicy")
    def get_cache_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._get_policy(ctx, CACHE, params, config_only=False)

    @operation("GetCachePolicyConfig")
    def get_cache_policy_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._get_policy(ctx, CACHE, params, config_only=True)

    @operation("UpdateCachePolicy")
    def update_cache_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._update_policy(ctx, CACHE, params)

    @operation("DeleteCachePolicy")
    def delete_cache_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._delete_policy(ctx, CACHE, params)

    @operation("ListCachePolicies")
    def list_cache_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._list_policies(ctx, CACHE, params)

    # -- origin request policies ----------------------------------------------------------------
    @operation("CreateOriginRequestPolicy")
    def create_origin_request_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._create_policy(ctx, ORIGIN_REQUEST, params)

    @operation("GetOriginRequestPolicy")
    def get_origin_request_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._get_policy(ctx, ORIGIN_REQUEST, params, config_only=False)

    @operation("GetOriginRequestPolicyConfig")
    def get_origin_request_policy_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._get_policy(ctx, ORIGIN_REQUEST, params, config_only=True)

    @operation("UpdateOriginRequestPolicy")
    def update_origin_request_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._update_policy(ctx, ORIGIN_REQUEST, params)

    @operation("DeleteOriginRequestPolicy")
    def delete_origin_request_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._delete_policy(ctx, ORIGIN_REQUEST, params)

    @operation("ListOriginRequestPolicies")
    def list_origin_request_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._list_policies(ctx, ORIGIN_REQUEST, params)

    # -- response headers policies --------------------------------------------------------------
    @operation("CreateResponseHeadersPolicy")
    def create_response_headers_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._create_policy(ctx, RESPONSE_HEADERS, params)

    @operation("GetResponseHeadersPolicy")
    def get_response_headers_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._get_policy(ctx, RESPONSE_HEADERS, params, config_only=False)

    @operation("GetResponseHeadersPolicyConfig")
    def get_response_headers_policy_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._get_policy(ctx, RESPONSE_HEADERS, params, config_only=True)

    @operation("UpdateResponseHeadersPolicy")
    def update_response_headers_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._update_policy(ctx, RESPONSE_HEADERS, params)

    @operation("DeleteResponseHeadersPolicy")
    def delete_response_headers_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._delete_policy(ctx, RESPONSE_HEADERS, params)

    @operation("ListResponseHeadersPolicies")
    def list_response_headers_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._list_policies(ctx, RESPONSE_HEADERS, params)

    # -- origin access controls -----------------------------------------------------------------
    def _check_oac_name(self, ctx: RequestContext, name: str, current: OriginAccessControl | None = None) -> None:
        if any(o.account_id == ctx.account_id and o.name == name and o is not current
               for o in self.store.oacs.values()):
            raise OriginAccessControlAlreadyExists(f"An origin access control with the name {name} already exists.")

    @staticmethod
    def _oac_wire(oac: OriginAccessControl) -> dict[str, Any]:
        return {"Id": oac.id, "OriginAccessControlConfig": oac.config}

    @operation("CreateOriginAccessControl")
    def create_origin_access_control(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        config = normalize_oac_config(params.get("OriginAccessControlConfig"))
        self._check_oac_name(ctx, config["Name"])
        oac = OriginAccessControl(resource_id("E"), ctx.account_id, config, new_etag())
        self.store.put_oac(oac)
        return {"OriginAccessControl": self._oac_wire(oac), "ETag": oac.etag,
                "Location": f"{LOCATION_PREFIX}origin-access-control/{oac.id}"}

    @operation("GetOriginAccessControl")
    def get_origin_access_control(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        oac = self.oac(ctx, params.get("Id"))
        return {"OriginAccessControl": self._oac_wire(oac), "ETag": oac.etag}

    @operation("GetOriginAccessControlConfig")
    def get_origin_access_control_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        oac = self.oac(ctx, params.get("Id"))
        return {"OriginAccessControlConfig": oac.config, "ETag": oac.etag}

    @operation("UpdateOriginAccessControl")
    def update_origin_access_control(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        oac = self.oac(ctx, params.get("Id"))
        check_if_match(params, oac.etag)
        config = normalize_oac_config(params.get("OriginAccessControlConfig"))
        self._check_oac_name(ctx, config["Name"], current=oac)
        oac.config = config
        oac.etag = new_etag()
        self.store.put_oac(oac)
        return {"OriginAccessControl": self._oac_wire(oac), "ETag": oac.etag}

    @operation("DeleteOriginAccessControl")
    def delete_origin_access_control(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        oac = self.oac(ctx, params.get("Id"))
        check_if_match(params, oac.etag)
        for dist in self.store.distributions.values():
            if any(o.get("OriginAccessControlId") == oac.id for o in dist.config["Origins"].get("Items") or ()):
                raise OriginAccessControlInUse()
        self.store.remove_oac(oac)
        return {}

    @operation("ListOriginAccessControls")
    def list_origin_access_controls(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        oacs = sorted((o for o in self.store.oacs.values() if o.account_id == ctx.account_id), key=lambda o: o.id)
        chunk, following = page(oacs, params, lambda o: o.id)
        listing: dict[str, Any] = {"Marker": params.get("Marker") or "", "MaxItems": int(params.get("MaxItems") or 100),
                                   "IsTruncated": bool(following), "Quantity": len(chunk)}
        if chunk:
            listing["Items"] = [{"Id": o.id, **{k: o.config.get(k, "") for k in (
                "Description", "Name", "SigningProtocol", "SigningBehavior", "OriginAccessControlOriginType")}}
                for o in chunk]
        if following:
            listing["NextMarker"] = following
        return {"OriginAccessControlList": listing}
