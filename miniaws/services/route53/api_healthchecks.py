"""Health check operations. Checks are really probed by the shared checker (dataplane/health.py).

https://docs.aws.amazon.com/Route53/latest/APIReference/API_CreateHealthCheck.html and the pages beside it.
"""
from __future__ import annotations

import uuid
from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.route53.api_common import Route53Base, max_items
from miniaws.services.route53.errors import HealthCheckAlreadyExists, HealthCheckVersionMismatch, InvalidInput
from miniaws.services.route53.healthchecks import normalize, updated
from miniaws.services.route53.models import HealthCheck

LOCATION_PREFIX = "https://route53.amazonaws.com/2013-04-01/healthcheck/"


class HealthCheckOperations(Route53Base):
    @operation("CreateHealthCheck")
    def create_health_check(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        reference = str(params.get("CallerReference", ""))
        config = normalize(dict(params.get("HealthCheckConfig") or {}))
        self._check_children(ctx, config)
        for existing in self.store.health_checks.values():
            if existing.caller_reference == reference and existing.account_id == ctx.account_id:
                # the same request again returns the same check; other settings under that reference conflict
                if existing.config == config:
                    return {"HealthCheck": existing.wire(), "Location": LOCATION_PREFIX + existing.id}
                raise HealthCheckAlreadyExists(
                    "A health check with the specified CallerReference already exists and has different settings.")
        check = HealthCheck(str(uuid.uuid4()), reference, config, ctx.clock.now(), ctx.account_id)
        self.store.put_health_check(check)
        self.monitor.sync(check)
        return {"HealthCheck": check.wire(), "Location": LOCATION_PREFIX + check.id}

    def _check_children(self, ctx: RequestContext, config: dict[str, Any]) -> None:
        for child in config.get("ChildHealthChecks") or ():
            self.health_check(ctx, child)

    @operation("GetHealthCheck")
    def get_health_check(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"HealthCheck": self.health_check(ctx, params.get("HealthCheckId")).wire()}

    @operation("GetHealthCheckCount")
    def get_health_check_count(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        count = sum(1 for c in self.store.health_checks.values() if c.account_id == ctx.account_id)
        return {"HealthCheckCount": count}

    @operation("ListHealthChecks")
    def list_health_checks(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        limit = max_items(params.get("MaxItems"), 100, 1000)
        checks = [c for c in self.store.health_checks.values() if c.account_id == ctx.account_id]
        marker = params.get("Marker")
        start = 0
        if marker:
            ids = [c.id for c in checks]
            if marker not in ids:
                raise InvalidInput(f"Invalid value for Marker: {marker}")
            start = ids.index(marker)
        page = checks[start:start + limit]
        result: dict[str, Any] = {"HealthChecks": [c.wire() for c in page], "Marker": marker or "",
                                  "IsTruncated": start + limit < len(checks), "MaxItems": str(limit)}
        if result["IsTruncated"]:
            result["NextMarker"] = checks[start + limit].id
        return result

    @operation("UpdateHealthCheck")
    def update_health_check(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check = self.health_check(ctx, params.get("HealthCheckId"))
        version = params.get("HealthCheckVersion")
        if version is not None and int(version) != check.version:
            raise HealthCheckVersionMismatch()
        config = updated(check.config, params)
        self._check_children(ctx, config)
        if config != check.config:
            check.config = config
            check.version += 1
            self.store.put_health_check(check)
            self.monitor.sync(check)
        return {"HealthCheck": check.wire()}

    @operation("DeleteHealthCheck")
    def delete_health_check(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        # Route 53 lets you delete a check that record sets still name; they are then treated as healthy
        check = self.health_check(ctx, params.get("HealthCheckId"))
        self.store.remove_health_check(check)
        self.monitor.forget(check.id)
        return {}

    @operation("GetHealthCheckStatus")
    def get_health_check_status(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check = self.health_check(ctx, params.get("HealthCheckId"))
        return {"HealthCheckObservations": self.monitor.observations(check)}

    @operation("GetHealthCheckLastFailureReason")
    def get_health_check_last_failure_reason(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check = self.health_check(ctx, params.get("HealthCheckId"))
        return {"HealthCheckObservations": self.monitor.observations(check, failures_only=True)}
