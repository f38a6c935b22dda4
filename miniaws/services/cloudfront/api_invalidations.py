"""Invalidations: Create (CallerReference idempotency, `*` wildcards), Get, List; the edge purges at once.

https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateInvalidation.html; path rules from the
Developer Guide, "What you need to know when invalidating paths" (case-sensitive, `*` only as the last character).
"""
from __future__ import annotations

from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.cloudfront.api_common import LOCATION_PREFIX, CloudFrontBase, page, resource_id
from miniaws.services.cloudfront.errors import (BatchTooLarge, InvalidArgument, InvalidationBatchAlreadyExists,
                                                MissingBody, NoSuchInvalidation)
from miniaws.services.cloudfront.models import Invalidation
from miniaws.services.cloudfront.validation import items

#: paths per invalidation request (Developer Guide, "Quotas on invalidations")
MAX_PATHS = 3000


def check_paths(paths: list[Any]) -> list[str]:
    if not paths:
        raise InvalidArgument("The parameter Paths must contain at least one path.")
    if len(paths) > MAX_PATHS:
        raise BatchTooLarge(f"Invalidation batch specified is too large (at most {MAX_PATHS} paths).")
    out = []
    for raw in paths:
        path = str(raw)
        if not path or "*" in path[:-1]:
            raise InvalidArgument(f"The parameter Path is not valid: {path} (a * wildcard may only be the last "
                                  "character).")
        out.append(path)
    return out


class InvalidationOperations(CloudFrontBase):
    @operation("CreateInvalidation")
    def create_invalidation(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        dist = self.distribution(ctx, params.get("DistributionId"))
        batch = params.get("InvalidationBatch")
        if not isinstance(batch, dict):
            raise MissingBody()
        reference = str(batch.get("CallerReference") or "")
        if not reference:
            raise InvalidArgument("The parameter CallerReference is required.")
        paths = check_paths(items(batch.get("Paths"), "Paths"))
        for existing in self.store.invalidations.get(dist.id, ()):
            if existing.caller_reference == reference:
                # API_InvalidationBatch.html: the same CallerReference with the same paths returns the first
                # invalidation; with other paths it is an error
                if sorted(existing.paths) != sorted(paths):
                    raise InvalidationBatchAlreadyExists(f"An invalidation with CallerReference {reference} and "
                                                         "different paths already exists.")
                return {"Invalidation": existing.wire(),
                        "Location": f"{LOCATION_PREFIX}distribution/{dist.id}/invalidation/{existing.id}"}
        inv = Invalidation(resource_id("I"), dist.id, reference, paths, ctx.clock.now())
        self.store.add_invalidation(inv)
        self.edge.purge(dist.id, paths)
        return {"Invalidation": inv.wire(),
                "Location": f"{LOCATION_PREFIX}distribution/{dist.id}/invalidation/{inv.id}"}

    @operation("GetInvalidation")
    def get_invalidation(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        dist = self.distribution(ctx, params.get("DistributionId"))
        ident = str(params.get("Id") or "")
        for inv in self.store.invalidations.get(dist.id, ()):
            if inv.id == ident:
                # the purge happened when it was created: from the next read on it is Completed
                inv.completed = True
                return {"Invalidation": inv.wire()}
        raise NoSuchInvalidation(f"The specified invalidation does not exist: {ident}")

    @operation("ListInvalidations")
    def list_invalidations(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        dist = self.distribution(ctx, params.get("DistributionId"))
        newest_first = list(reversed(self.store.invalidations.get(dist.id, [])))
        chunk, following = page(newest_first, params, lambda i: i.id)
        for inv in chunk:
            inv.completed = True
        listing: dict[str, Any] = {"Marker": params.get("Marker") or "", "MaxItems": int(params.get("MaxItems") or 100),
                                   "IsTruncated": bool(following), "Quantity": len(chunk)}
        if chunk:
            listing["Items"] = [inv.summary() for inv in chunk]
        if following:
            listing["NextMarker"] = following
        return {"InvalidationList": listing}
