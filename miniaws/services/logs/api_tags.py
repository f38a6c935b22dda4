"""Tagging log groups: TagResource / UntagResource / ListTagsForResource by ARN, and the legacy TagLogGroup /
UntagLogGroup / ListTagsLogGroup by name. A resource holds at most 50 tags (TooManyTagsException)."""
from __future__ import annotations

from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.logs.api_common import LogsBase
from miniaws.services.logs.errors import TooManyTagsException
from miniaws.services.logs.models import LogGroup

MAX_TAGS = 50


class TagOperations(LogsBase):
    def _tag(self, group: LogGroup, tags: dict[str, str]) -> None:
        merged = {**group.tags, **tags}
        if len(merged) > MAX_TAGS:
            raise TooManyTagsException(f"A resource can have no more than {MAX_TAGS} tags.",
                                       resourceName=group.arn)
        group.tags = merged
        self.store.save_group(group)

    def _untag(self, group: LogGroup, keys: list[str]) -> None:
        for key in keys:
            group.tags.pop(key, None)
        self.store.save_group(group)

    @operation("TagResource")
    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._tag(self.group_by_arn(params["resourceArn"]), params["tags"])
        return {}

    @operation("UntagResource")
    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._untag(self.group_by_arn(params["resourceArn"]), params["tagKeys"])
        return {}

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"tags": dict(self.group_by_arn(params["resourceArn"]).tags)}

    @operation("TagLogGroup")
    def tag_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._tag(self.group_named(ctx, params["logGroupName"]), params["tags"])
        return {}

    @operation("UntagLogGroup")
    def untag_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._untag(self.group_named(ctx, params["logGroupName"]), params["tags"])
        return {}

    @operation("ListTagsLogGroup")
    def list_tags_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"tags": dict(self.group_named(ctx, params["logGroupName"]).tags)}
