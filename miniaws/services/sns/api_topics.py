"""SNS topic operations: create (standard and FIFO, idempotent), delete, list, attributes and tags."""
from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.sns.api_common import SnsBase
from miniaws.services.sns.attributes import (CREATE_ONLY_TOPIC_ATTRIBUTES, check_topic_attribute, default_policy,
                                             effective_delivery_policy)
from miniaws.services.sns.errors import InvalidParameter, ResourceNotFound, TagLimitExceeded
from miniaws.services.sns.models import Topic, parse_topic_arn

_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}")
_FIFO_NAME = re.compile(r"[A-Za-z0-9_-]{1,251}\.fifo")
PAGE_SIZE = 100
#: "You can add up to 50 tags to an Amazon SNS topic" (Developer Guide, "Amazon SNS topic tagging")
MAX_TAGS = 50


def page(items: list[Any], token: Any, key: str) -> tuple[list[Any], str | None]:
    """One page of `items` after the item whose `key` the NextToken names (tokens are opaque to clients)."""
    start = 0
    if token:
        try:
            after = base64.urlsafe_b64decode(str(token).encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidParameter("Invalid parameter: NextToken") from None
        keys = [getattr(item, key) for item in items]
        if after not in keys:
            raise InvalidParameter("Invalid parameter: NextToken")
        start = keys.index(after) + 1
    chunk = items[start:start + PAGE_SIZE]
    more = start + PAGE_SIZE < len(items)
    return chunk, base64.urlsafe_b64encode(getattr(chunk[-1], key).encode()).decode() if more and chunk else None


def tags_of(tags: Iterable[Any] | None) -> dict[str, str]:
    """Validate a Tags list ([{"Key", "Value"}]) into a dict."""
    out: dict[str, str] = {}
    for tag in tags or ():
        key, value = str(tag.get("Key") or ""), str(tag.get("Value") or "")
        if not 1 <= len(key) <= 128:
            raise InvalidParameter("Invalid parameter: Tags Reason: Tag key must be between 1 and 128 characters")
        if len(value) > 256:
            raise InvalidParameter("Invalid parameter: Tags Reason: Tag value must be at most 256 characters")
        if key in out:
            raise InvalidParameter("Invalid parameter: Duplicated keys are not allowed.")
        out[key] = value
    return out


class TopicOperations(SnsBase):
    @operation("CreateTopic")
    def create_topic(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html"""
        name = str(params.get("Name") or "")
        requested = {str(k): str(v) for k, v in (params.get("Attributes") or {}).items()}
        fifo_flag = requested.get("FifoTopic", "false").lower()
        if fifo_flag not in ("true", "false"):
            raise InvalidParameter("Invalid parameter: FifoTopic")
        fifo = fifo_flag == "true"
        if fifo and not _FIFO_NAME.fullmatch(name):
            raise InvalidParameter("Fifo Topic names must end with .fifo and must be made up of only uppercase and "
                                   "lowercase ASCII letters, numbers, underscores, and hyphens, and must be "
                                   "between 1 and 256 characters long.")
        if not fifo and not _NAME.fullmatch(name):
            raise InvalidParameter("Invalid parameter: Topic Name")
        attributes = {k: check_topic_attribute(k, v, fifo) for k, v in requested.items()
                      if k not in CREATE_ONLY_TOPIC_ATTRIBUTES}
        tags = tags_of(params.get("Tags"))
        if len(tags) > MAX_TAGS:
            raise TagLimitExceeded()
        topic = Topic(name, ctx.account_id, ctx.region, fifo, ctx.clock.now(), attributes, tags)
        existing = self.store.topics.get(topic.arn)
        if existing is not None:
            # CreateTopic is idempotent only for the same settings (AWS: "Topic already exists with different …")
            shown = self.topic_attributes(existing)
            if any(shown.get(k) != v for k, v in attributes.items()):
                raise InvalidParameter("Invalid parameter: Attributes Reason: Topic already exists with different "
                                       "attributes")
            if any(existing.tags.get(k) != v for k, v in tags.items()):
                raise InvalidParameter("Invalid parameter: Tags Reason: Topic already exists with different tags")
            return {"TopicArn": existing.arn}
        self.store.save_topic(topic)
        return {"TopicArn": topic.arn}

    @operation("DeleteTopic")
    def delete_topic(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = params.get("TopicArn")
        if parse_topic_arn(str(arn or "")) is None:
            raise InvalidParameter("Invalid parameter: TopicArn")
        topic = self.store.topics.get(str(arn))
        if topic is not None and topic.region == ctx.region:
            self.store.remove_topic(topic)
        return {}  # deleting a topic that does not exist is not an error (DeleteTopic reference)

    @operation("ListTopics")
    def list_topics(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        topics, token = page(self.store.topics_of(ctx.account_id, ctx.region), params.get("NextToken"), "arn")
        out: dict[str, Any] = {"Topics": [{"TopicArn": t.arn} for t in topics]}
        if token:
            out["NextToken"] = token
        return out

    # -- attributes -----------------------------------------------------------------------------
    def topic_attributes(self, topic: Topic) -> dict[str, str]:
        pending = sum(1 for s in topic.subscriptions.values() if s.pending)
        out = {
            "Policy": default_policy(topic.arn, topic.account),
            "Owner": topic.account,
            "SubscriptionsPending": str(pending),
            "TopicArn": topic.arn,
            "EffectiveDeliveryPolicy": effective_delivery_policy(topic.retry, topic.content_type,
                                                                 topic.subscription_overrides),
            "SubscriptionsConfirmed": str(len(topic.subscriptions) - pending),
            "DisplayName": "",
            "SubscriptionsDeleted": "0",
        }
        if topic.fifo:
            out["FifoTopic"] = "true"
            out["ContentBasedDeduplication"] = "false"
        out.update(topic.attributes)
        return out

    @operation("GetTopicAttributes")
    def get_topic_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Attributes": self.topic_attributes(self.topic_for(ctx, params.get("TopicArn")))}

    @operation("SetTopicAttributes")
    def set_topic_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        topic = self.topic_for(ctx, params.get("TopicArn"))
        name = str(params.get("AttributeName") or "")
        value = check_topic_attribute(name, str(params.get("AttributeValue") or ""), topic.fifo)
        if value == "" and name in ("DeliveryPolicy", "Policy", "ArchivePolicy"):
            topic.attributes.pop(name, None)  # an empty policy means the default one
        else:
            topic.attributes[name] = value
        self.store.save_topic(topic)
        return {}

    # -- tags -----------------------------------------------------------------------------------
    def _tagged(self, ctx: RequestContext, arn: Any) -> Topic:
        topic = self.store.topics.get(str(arn or ""))
        if topic is None or topic.region != ctx.region:
            raise ResourceNotFound()
        return topic

    @operation("TagResource")
    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        topic = self._tagged(ctx, params.get("ResourceArn"))
        tags = tags_of(params.get("Tags"))
        if len({**topic.tags, **tags}) > MAX_TAGS:
            raise TagLimitExceeded()
        topic.tags.update(tags)
        self.store.save_topic(topic)
        return {}

    @operation("UntagResource")
    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        topic = self._tagged(ctx, params.get("ResourceArn"))
        for key in params.get("TagKeys") or ():
            topic.tags.pop(str(key), None)
        self.store.save_topic(topic)
        return {}

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        topic = self._tagged(ctx, params.get("ResourceArn"))
        return {"Tags": [{"Key": k, "Value": v} for k, v in topic.tags.items()]}
