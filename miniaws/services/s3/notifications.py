"""S3 event notifications: validating a NotificationConfiguration, matching events to it, the event JSON, delivery.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html
(event types, prefix/suffix filters, overlapping configurations) and notification-content-structure.html (the
Records[...] message, version 2.1, and the s3:TestEvent sent when a configuration is saved). Delivery is a method
call on the destination service (SQS, SNS, Lambda), wired in by the composition root; a destination that is not
wired, or no longer exists, is skipped (S3 drops undeliverable events too).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote_plus

import orjson

from miniaws.core.ids import hex_id
from miniaws.core.timestamps import iso8601_ms
from miniaws.services.s3.errors import InvalidArgument, MalformedXML
from miniaws.services.s3.models import Bucket, S3Object

log = logging.getLogger("miniaws.s3")

EVENTS = frozenset({
    "s3:TestEvent", "s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload", "s3:ObjectRemoved:*", "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated", "s3:ObjectRestore:*", "s3:ObjectRestore:Post",
    "s3:ObjectRestore:Completed", "s3:ObjectRestore:Delete", "s3:ReducedRedundancyLostObject", "s3:Replication:*",
    "s3:Replication:OperationFailedReplication", "s3:Replication:OperationMissedThreshold",
    "s3:Replication:OperationReplicatedAfterThreshold", "s3:Replication:OperationNotTracked",
    "s3:LifecycleExpiration:*", "s3:LifecycleExpiration:Delete", "s3:LifecycleExpiration:DeleteMarkerCreated",
    "s3:LifecycleTransition", "s3:IntelligentTiering", "s3:ObjectTagging:*", "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete", "s3:ObjectAcl:Put",
})
#: configuration list member -> (destination ARN member, destination kind)
KINDS = {"QueueConfigurations": ("QueueArn", "queue"), "TopicConfigurations": ("TopicArn", "topic"),
         "LambdaFunctionConfigurations": ("LambdaFunctionArn", "function")}


class QueueSender(Protocol):
    """SqsService.send_to_queue: S3 → SQS is a method call."""

    def send_to_queue(self, queue_arn: str, body: str, *, attributes: Mapping[str, Any] | None = None,
                      group_id: str | None = None, dedup_id: str | None = None,
                      sender_id: str = ...) -> dict[str, Any]: ...


class TopicPublisher(Protocol):
    """The SNS service's in-process publish (wired by the composition root when SNS provides it)."""

    def publish_to_topic(self, topic_arn: str, message: str, *, subject: str | None = None) -> str: ...


class FunctionInvoker(Protocol):
    """The Lambda hook: an asynchronous (Event) invocation of `function_arn` with `payload`."""

    def queue_event(self, function_arn: str, payload: bytes) -> None: ...


class Destinations:
    """Where notifications can go; each is None until the composition root wires the service in."""

    def __init__(self, queues: QueueSender | None = None, topics: TopicPublisher | None = None,
                 functions: FunctionInvoker | None = None) -> None:
        self.queues, self.topics, self.functions = queues, topics, functions

    def send(self, kind: str, arn: str, message: bytes) -> bool:
        """Deliver one message; False when that kind of destination is not wired in."""
        if kind == "queue" and self.queues is not None:
            self.queues.send_to_queue(arn, message.decode(), sender_id="AIDAS3NOTIFICATIONS00")
        elif kind == "topic" and self.topics is not None:
            self.topics.publish_to_topic(arn, message.decode(), subject="Amazon S3 Notification")
        elif kind == "function" and self.functions is not None:
            self.functions.queue_event(arn, message)
        else:
            return False
        return True


# -- configuration ---------------------------------------------------------------------------------
def _filter_rules(entry: dict[str, Any]) -> tuple[str, str]:
    prefix = suffix = ""
    rules = ((entry.get("Filter") or {}).get("Key") or {}).get("FilterRules") or []
    for rule in rules:
        name = str(rule.get("Name", "")).lower()
        if name == "prefix":
            prefix = str(rule.get("Value", ""))
        elif name == "suffix":
            suffix = str(rule.get("Value", ""))
        else:
            raise InvalidArgument("filter rule name must be either prefix or suffix", ArgumentName="FilterRule")
    return prefix, suffix


def _events_overlap(a: list[str], b: list[str]) -> bool:
    for x in a:
        for y in b:
            if x == y or (x.endswith(":*") and y.startswith(x[:-1])) or (y.endswith(":*") and x.startswith(y[:-1])):
                return True
    return False


def check_configuration(configuration: dict[str, Any] | None) -> dict[str, Any]:
    """Validate a NotificationConfiguration; returns it with an Id on every entry and filter names normalised."""
    out: dict[str, Any] = {}
    seen: list[tuple[list[str], str, str]] = []
    for member, (arn_member, _) in KINDS.items():
        entries = []
        for entry in (configuration or {}).get(member) or []:
            events = list(entry.get("Events") or [])
            if not entry.get(arn_member) or not events:
                raise MalformedXML()
            for event in events:
                if event not in EVENTS:
                    raise InvalidArgument("The event is not supported for notifications", ArgumentName=event,
                                          ArgumentValue=event)
            prefix, suffix = _filter_rules(entry)
            for other_events, other_prefix, other_suffix in seen:
                if (_events_overlap(events, other_events)
                        and (prefix.startswith(other_prefix) or other_prefix.startswith(prefix))
                        and (suffix.endswith(other_suffix) or other_suffix.endswith(suffix))):
                    raise InvalidArgument("Configurations overlap. Configurations on the same bucket cannot share a "
                                          "common event type.", ArgumentName="Event", ArgumentValue=events[0])
            seen.append((events, prefix, suffix))
            normalised: dict[str, Any] = {"Id": entry.get("Id") or hex_id(16), arn_member: entry[arn_member],
                                          "Events": events}
            rules = ([{"Name": "Prefix", "Value": prefix}] if prefix else []) + (
                [{"Name": "Suffix", "Value": suffix}] if suffix else [])
            if rules:
                normalised["Filter"] = {"Key": {"FilterRules": rules}}
            entries.append(normalised)
        if entries:
            out[member] = entries
    if (configuration or {}).get("EventBridgeConfiguration") is not None:
        out["EventBridgeConfiguration"] = {}
    return out


def test_event(bucket: Bucket, now: float, request_id: str, host_id: str) -> bytes:
    return orjson.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": iso8601_ms(now),
                         "Bucket": bucket.name, "RequestId": request_id, "HostId": host_id})


# -- events ----------------------------------------------------------------------------------------
def _matches(entry: dict[str, Any], event: str, key: str) -> bool:
    if not any(e == "s3:" + event or (e.endswith(":*") and ("s3:" + event).startswith(e[:-1]))
               for e in entry["Events"]):
        return False
    prefix, suffix = _filter_rules(entry)
    return key.startswith(prefix) and key.endswith(suffix)


def targets(bucket: Bucket, event: str, key: str) -> list[tuple[str, str, str]]:
    """(kind, destination ARN, configuration id) of every configuration `event` on `key` matches."""
    configuration = bucket.config.get("notification")
    if not configuration:
        return []
    found = []
    for member, (arn_member, kind) in KINDS.items():
        for entry in configuration.get(member) or ():
            if _matches(entry, event, key):
                found.append((kind, entry[arn_member], entry["Id"]))
    return found


def event_record(bucket: Bucket, event: str, key: str, obj: S3Object | None, *, configuration_id: str,
                 now: float, region: str, principal_id: str, source_ip: str, request_id: str, host_id: str,
                 version_id: str | None, sequencer: int) -> dict[str, Any]:
    """One Records[] entry, event version 2.1."""
    details: dict[str, Any] = {"key": quote_plus(key, safe="/"), "sequencer": f"{sequencer:016X}"}
    if obj is not None and not obj.delete_marker and event.startswith(("ObjectCreated", "ObjectTagging",
                                                                       "ObjectAcl")):
        details["size"] = obj.size
        details["eTag"] = obj.etag.strip('"')
    if version_id is not None and bucket.versioning is not None:
        details["versionId"] = version_id
    return {
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": region, "eventTime": iso8601_ms(now),
        "eventName": event, "userIdentity": {"principalId": principal_id},
        "requestParameters": {"sourceIPAddress": source_ip},
        "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": host_id},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": configuration_id,
               "bucket": {"name": bucket.name, "ownerIdentity": {"principalId": bucket.owner.id},
                          "arn": f"arn:aws:s3:::{bucket.name}"},
               "object": details},
    }


def deliver(destinations: Destinations, kind: str, arn: str, message: bytes) -> None:
    try:
        if not destinations.send(kind, arn, message):
            log.debug("s3 notification to %s skipped: no %s service wired in", arn, kind)
    except Exception as exc:  # a deleted queue or topic: S3 drops the event, the request still succeeds
        log.warning("s3 notification to %s failed: %s", arn, exc)
