"""Log group operations: create, delete, describe, retention policies and deletion protection."""
from __future__ import annotations

from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.logs.api_common import LogsBase, paginate
from miniaws.services.logs.errors import (InvalidParameterException, ResourceAlreadyExistsException,
                                          ValidationException)
from miniaws.services.logs.models import LogGroup
from miniaws.services.logs.validation import invalid_value

#: the only retention periods PutRetentionPolicy accepts (API reference, PutRetentionPolicy: retentionInDays)
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                  3288, 3653)


class GroupOperations(LogsBase):
    @operation("CreateLogGroup")
    def create_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["logGroupName"]
        if self.store.get_group(ctx.account_id, ctx.region, name) is not None:
            raise ResourceAlreadyExistsException("The specified log group already exists")
        group = LogGroup(ctx.account_id, ctx.region, name, self.now_ms(), tags=dict(params.get("tags") or {}),
                         kms_key_id=params.get("kmsKeyId"), group_class=params.get("logGroupClass") or "STANDARD",
                         deletion_protection=bool(params.get("deletionProtectionEnabled")), durable=True)
        self.store.add_group(group)
        return {}

    @operation("DeleteLogGroup")
    def delete_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        group = self.group_named(ctx, params["logGroupName"])
        if group.deletion_protection:
            # https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/protecting-log-groups-from-deletion.html
            raise ValidationException("Cannot delete log group with deletion protection enabled. "
                                      "Disable deletion protection first.")
        self.store.remove_group(group)
        return {}

    @operation("DescribeLogGroups")
    def describe_log_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        prefix, pattern = params.get("logGroupNamePrefix"), params.get("logGroupNamePattern")
        if prefix is not None and pattern is not None:
            raise InvalidParameterException("LogGroup name prefix and LogGroup name pattern are mutually exclusive "
                                            "parameters.")
        identifiers = params.get("logGroupIdentifiers")
        wanted_class = params.get("logGroupClass")
        groups = sorted(self.store.groups(ctx.account_id, ctx.region).values(), key=lambda g: g.name)
        if prefix is not None:
            groups = [g for g in groups if g.name.startswith(prefix)]
        if pattern:
            # "a case-sensitive substring search" (DescribeLogGroups: logGroupNamePattern)
            groups = [g for g in groups if pattern in g.name]
        if identifiers is not None:
            wanted = {ident.removesuffix(":*") for ident in identifiers}
            groups = [g for g in groups if g.name in wanted or g.arn in wanted]
        if wanted_class is not None:
            groups = [g for g in groups if g.group_class == wanted_class]
        page, token = paginate(groups, lambda g: [g.name], params, "groups")
        now = self.now_ms()
        for group in page:
            self.store.expire(group, now)
        out: dict[str, Any] = {"logGroups": [group.describe() for group in page]}
        if token is not None:
            out["nextToken"] = token
        return out

    # -- retention ------------------------------------------------------------------------------
    @operation("PutRetentionPolicy")
    def put_retention_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        days = params["retentionInDays"]
        if days not in RETENTION_DAYS:
            raise invalid_value(days, "retentionInDays", "Member must satisfy enum value set: "
                                f"[{', '.join(str(d) for d in RETENTION_DAYS)}]")
        group = self.group_named(ctx, params["logGroupName"])
        group.retention = days
        self.store.save_group(group)
        self.store.expire(group, self.now_ms())
        return {}

    @operation("DeleteRetentionPolicy")
    def delete_retention_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        group = self.group_named(ctx, params["logGroupName"])
        group.retention = None
        self.store.save_group(group)
        return {}

    @operation("PutLogGroupDeletionProtection")
    def put_log_group_deletion_protection(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        identifier = params["logGroupIdentifier"]
        group = self.group_by_arn(identifier) if identifier.startswith("arn:") else self.group_named(ctx, identifier)
        group.deletion_protection = params["deletionProtectionEnabled"]
        self.store.save_group(group)
        return {}
