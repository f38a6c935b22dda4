"""Event sources: the SQS event source mapping operations and the pollers they run, and the in-process entry
points other services push events through (SNS `lambda` subscriptions, S3 notifications: `queue_event`).

Mappings follow https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html: BatchSize 1–10,000 (10
for FIFO queues, and above 10 only with a batching window of at least 1 s), MaximumBatchingWindowInSeconds 0–300
(not for FIFO queues), FunctionResponseTypes=[ReportBatchItemFailures], ScalingConfig.MaximumConcurrency. The
answer to Create/Update/Delete shows the transition (Creating, Enabling, Disabling, Updating, Deleting); the
mapping is settled by the next read.
"""
from __future__ import annotations

import re
import uuid
from typing import Any, Protocol

from miniaws.core.context import RequestContext
from miniaws.core.errors import AwsError
from miniaws.functions.invocation import Throttled
from miniaws.services.base import Service, operation
from miniaws.services.lambda_ import validation as v
from miniaws.services.lambda_.api_common import _FUNCTION_REF
from miniaws.services.lambda_.api_invoke import InvokeOperations
from miniaws.services.lambda_.destinations import QueueSender, TopicPublisher
from miniaws.services.lambda_.errors import (InvalidParameterValueException, ResourceConflictException,
                                            ResourceNotFoundException, TooManyRequestsException)
from miniaws.services.lambda_.event_sources import EventSourceMapping
from miniaws.services.lambda_.sqs_poller import QueueConsumer, SqsPoller

_SQS_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$")
_RESPONSE_TYPES = ("ReportBatchItemFailures",)
DEFAULT_BATCH_SIZE = 10
#: above this BatchSize a standard queue's mapping needs a batching window (services-sqs-parameters.html)
UNWINDOWED_BATCH_LIMIT = 10
FIFO_BATCH_LIMIT = 10


class Queues(QueueConsumer, QueueSender, Protocol):
    """What Lambda needs from SQS: consume for event source mappings, send for destinations and dead letters."""


class EventSourceOperations(InvokeOperations):
    def connect(self, *, s3: Service | None = None, queues: Queues | None = None,
                topics: TopicPublisher | None = None) -> None:
        """Wire the services Lambda calls back into (the composition root; they are built after Lambda, because
        S3 and SNS also call Lambda)."""
        if s3 is not None:
            self.s3 = s3
        self.queues = queues
        self.destinations.queues = queues
        self.destinations.topics = topics
        self.destinations.functions = self

    # -- lifecycle ------------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        super().restore(rows)
        self.mappings.restore(rows)

    async def start(self) -> None:
        await super().start()
        for mapping in self.mappings.mappings.values():
            if mapping.enabled:
                self._start_polling(mapping)

    def reset(self) -> None:
        for poller in self.pollers.values():
            poller.stop(graceful=False)
        self.pollers.clear()
        self.mappings.reset()
        super().reset()

    async def stop(self) -> None:
        pollers = list(self.pollers.values())
        self.pollers.clear()
        for poller in pollers:
            await poller.close()
        await super().stop()

    def _start_polling(self, mapping: EventSourceMapping) -> None:
        if self.queues is None or mapping.uuid in self.pollers:
            return
        poller = SqsPoller(mapping, self.queues, self._invoke_mapping, self.config.time_scale)
        self.pollers[mapping.uuid] = poller
        poller.start()

    def _stop_polling(self, mapping: EventSourceMapping) -> None:
        poller = self.pollers.pop(mapping.uuid, None)
        if poller is not None:
            poller.stop()

    # -- in-process entry points --------------------------------------------------------------------
    def queue_event(self, function_arn: str, payload: bytes) -> None:
        """An asynchronous (Event) invocation for in-process event sources (SNS, S3, destinations): queued and
        retried like Invoke's. `function_arn` is a full ARN, optionally with a version or alias. Raises
        ResourceNotFoundException (an AwsError) when there is no such function or qualifier."""
        match = _FUNCTION_REF.match(function_arn or "")
        if match is None or not match.group("account"):
            raise ResourceNotFoundException(f"Function not found: {function_arn}")
        fn = self.store.get(match.group("account"), match.group("region"), match.group("name"))
        if fn is None:
            raise ResourceNotFoundException(f"Function not found: {function_arn}")
        qualifier = match.group("qualifier")
        self.version_of(fn, qualifier)
        self._queue_event(fn.account, fn.region, fn.name, qualifier, payload)

    async def _invoke_mapping(self, mapping: EventSourceMapping, payload: bytes) -> tuple[bytes, bool]:
        """A poller's synchronous invocation of the mapping's function (sqs_poller.BatchInvoker)."""
        fn = self.store.get(mapping.account, mapping.region, mapping.function_name)
        if fn is None:
            raise ResourceNotFoundException(f"Function not found: {mapping.function_arn}")
        config, used = self.version_of(fn, mapping.qualifier, route=True)
        invoked_arn = fn.arn if mapping.qualifier is None else f"{fn.arn}:{used}"
        try:
            result = await self.runtime.invoke(self.function_spec(fn, config), payload, invoked_arn)
        except Throttled as exc:
            raise TooManyRequestsException(Reason=exc.reason) from None
        return result.outcome.payload, result.outcome.failed

    # -- operations -----------------------------------------------------------------------------
    @operation("CreateEventSourceMapping")
    def create_event_source_mapping(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html"""
        source = params.get("EventSourceArn")
        if not source:
            raise InvalidParameterValueException("Unrecognized event source, must be kafka or MQ type event source.")
        source = str(source)
        if not _SQS_ARN.match(source):
            raise InvalidParameterValueException(f"Unsupported event source {source}: miniaws maps Amazon SQS "
                                                 "queues only")
        _unsupported(params)
        fn, qualifier = self.function(ctx, params["FunctionName"])
        config, _ = self.version_of(fn, qualifier)
        attributes = self._queue_attributes(source)
        fifo = attributes.get("FifoQueue") == "true"
        batch, window, types, concurrency = _settings(params, fifo, None)
        # "Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds" (AWS's answer): a
        # message must not come back while the function still works on it
        visibility = int(attributes.get("VisibilityTimeout", "30"))
        if visibility < config.timeout:
            raise InvalidParameterValueException(f"Queue visibility timeout: {visibility} seconds is less than "
                                                 f"Function timeout: {config.timeout} seconds")
        mapping = EventSourceMapping(str(uuid.uuid4()), ctx.account_id, ctx.region, source, fn.name, qualifier,
                                     batch, window, _enabled(params.get("Enabled", True)), self.clock.now(), types,
                                     concurrency)
        self._check_unique(ctx, source, fn.name, qualifier)
        self.mappings.save(mapping)
        if mapping.enabled:
            self._start_polling(mapping)
        return mapping.wire("Creating")

    @operation("GetEventSourceMapping")
    def get_event_source_mapping(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._mapping(ctx, params.get("UUID")).wire()

    @operation("ListEventSourceMappings")
    def list_event_source_mappings(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        limit = v.check_range(params.get("MaxItems", 100), "maxItems", 1, 10000)
        source = params.get("EventSourceArn")
        name = qualifier = None
        if params.get("FunctionName"):
            name, qualifier = self.parse_function_name(ctx, str(params["FunctionName"]))
        found = [m for m in self.mappings.of(ctx.account_id, ctx.region)
                 if (not source or m.source_arn == source) and (name is None or m.function_name == name)
                 and (qualifier is None or m.qualifier == qualifier)]
        marker = params.get("Marker")
        if marker:
            found = [m for m in found if m.uuid > str(marker)]
        page = found[:limit]
        out: dict[str, Any] = {"EventSourceMappings": [m.wire() for m in page]}
        if len(found) > limit:
            out["NextMarker"] = page[-1].uuid
        return out

    @operation("UpdateEventSourceMapping")
    def update_event_source_mapping(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/lambda/latest/api/API_UpdateEventSourceMapping.html"""
        mapping = self._mapping(ctx, params.get("UUID"))
        _unsupported(params)
        name, qualifier = mapping.function_name, mapping.qualifier
        if params.get("FunctionName"):
            fn, qualifier = self.function(ctx, params["FunctionName"])
            self.version_of(fn, qualifier)
            name = fn.name
        # SQS names FIFO queues with the suffix, so the ARN says which rules apply even if the queue is gone
        batch, window, types, concurrency = _settings(params, mapping.source_arn.endswith(".fifo"), mapping)
        enabled = _enabled(params["Enabled"]) if params.get("Enabled") is not None else mapping.enabled
        state = "Updating" if enabled == mapping.enabled else ("Enabling" if enabled else "Disabling")
        if (name, qualifier) != (mapping.function_name, mapping.qualifier):
            self._check_unique(ctx, mapping.source_arn, name, qualifier)
        mapping.function_name, mapping.qualifier = name, qualifier
        mapping.batch_size, mapping.window, mapping.response_types = batch, window, types
        mapping.max_concurrency, mapping.enabled = concurrency, enabled
        mapping.last_modified = self.clock.now()
        self.mappings.save(mapping)
        if enabled:
            self._start_polling(mapping)
        else:
            self._stop_polling(mapping)
        return mapping.wire(state)

    @operation("DeleteEventSourceMapping")
    def delete_event_source_mapping(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        mapping = self._mapping(ctx, params.get("UUID"))
        self._stop_polling(mapping)
        self.mappings.delete(mapping)
        return mapping.wire("Deleting")

    # -- helpers --------------------------------------------------------------------------------
    def _mapping(self, ctx: RequestContext, mapping_id: Any) -> EventSourceMapping:
        mapping = self.mappings.get(str(mapping_id or ""))
        if mapping is None or mapping.account != ctx.account_id or mapping.region != ctx.region:
            raise ResourceNotFoundException("The resource you requested does not exist.")
        return mapping

    def _check_unique(self, ctx: RequestContext, source: str, name: str, qualifier: str | None) -> None:
        """One mapping per queue and function (version or alias)."""
        for other in self.mappings.of(ctx.account_id, ctx.region):
            if other.source_arn == source and (other.function_name, other.qualifier) == (name, qualifier):
                raise ResourceConflictException(
                    f'An event source mapping with SQS arn (" {source} ") and function (" {name} ") already exists. '
                    f"Please update or delete the existing mapping with UUID {other.uuid}")

    def _queue_attributes(self, source: str) -> dict[str, str]:
        if self.queues is None:
            raise InvalidParameterValueException("Amazon SQS is not available to event source mappings")
        try:
            return self.queues.queue_attributes(source)
        except AwsError:
            raise InvalidParameterValueException(
                "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS "
                "Error Message: The specified queue does not exist for this wsdl version.") from None


def _enabled(value: Any) -> bool:
    if not isinstance(value, bool):
        raise v.constraint(value, "enabled", "Member must be a boolean")
    return value


def _unsupported(params: dict[str, Any]) -> None:
    """Settings miniaws does not honour are refused rather than stored and ignored."""
    for name in ("FilterCriteria", "ProvisionedPollerConfig", "MetricsConfig", "KMSKeyArn"):
        if params.get(name):
            raise InvalidParameterValueException(f"{name} is not supported by miniaws event source mappings")
    for name in ("StartingPosition", "StartingPositionTimestamp", "ParallelizationFactor", "DestinationConfig",
                 "BisectBatchOnFunctionError", "MaximumRecordAgeInSeconds", "MaximumRetryAttempts",
                 "TumblingWindowInSeconds", "Topics", "Queues", "SourceAccessConfigurations"):
        if params.get(name) is not None:
            raise InvalidParameterValueException(f"Unsupported MQ/Kafka/stream parameter for an Amazon SQS event "
                                                 f"source: {name}")


def _settings(params: dict[str, Any], fifo: bool,
              current: EventSourceMapping | None) -> tuple[int, int, list[str], int | None]:
    """(BatchSize, MaximumBatchingWindowInSeconds, FunctionResponseTypes, MaximumConcurrency), validated like AWS;
    what `params` leaves out stays as in `current` (or takes the default)."""
    batch = current.batch_size if current else DEFAULT_BATCH_SIZE
    if params.get("BatchSize") is not None:
        batch = v.check_range(params["BatchSize"], "batchSize", 1, 10000)
    window = current.window if current else 0
    if params.get("MaximumBatchingWindowInSeconds") is not None:
        window = v.check_range(params["MaximumBatchingWindowInSeconds"], "maximumBatchingWindowInSeconds", 0, 300)
    if fifo:
        if batch > FIFO_BATCH_LIMIT:
            raise InvalidParameterValueException(f"BatchSize must be between 1 and {FIFO_BATCH_LIMIT} for FIFO "
                                                 "queues.")
        if window:
            raise InvalidParameterValueException("Batching window is not supported for FIFO queues.")
    elif batch > UNWINDOWED_BATCH_LIMIT and window < 1:
        raise InvalidParameterValueException("Maximum batch window in seconds must be greater than 0 if maximum "
                                             "batch size is greater than 10")
    types = list(current.response_types) if current else []
    if params.get("FunctionResponseTypes") is not None:
        given = params["FunctionResponseTypes"]
        if not isinstance(given, list) or any(t not in _RESPONSE_TYPES for t in given):
            raise v.constraint(given, "functionResponseTypes", "Member must satisfy constraint: [Member must "
                                                               "satisfy enum value set: [ReportBatchItemFailures]]")
        types = sorted(set(given))
    concurrency = current.max_concurrency if current else None
    if params.get("ScalingConfig") is not None:
        value = (params["ScalingConfig"] or {}).get("MaximumConcurrency")
        concurrency = None if value is None else v.check_range(value, "scalingConfig.maximumConcurrency", 2, 1000)
    return batch, window, types, concurrency
