"""Invoke (RequestResponse, Event, DryRun), reserved concurrency and event-invoke settings.

A function error is not an API error: Invoke answers 200 with `X-Amz-Function-Error: Unhandled` and the error
document as the payload (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html). Event invocations are
queued in memory and retried twice with backoff on failure, as Lambda does for asynchronous invocation
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html); how each one ended goes to
its destinations and dead-letter queue (destinations.py).

The function sees the Invoke request's own id (x-amzn-RequestId) as its aws_request_id and in its START/END/REPORT
lines, as on AWS; an Event invocation keeps that id through its retries.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson

from miniaws.core.context import RequestContext
from miniaws.core.ids import request_id
from miniaws.functions.invocation import Throttled
from miniaws.functions.logs import tail
from miniaws.services.base import operation
from miniaws.services.lambda_ import validation as v
from miniaws.services.lambda_.api_common import _FUNCTION_REF, LambdaBase
from miniaws.services.lambda_.destinations import AsyncOutcome
from miniaws.services.lambda_.errors import (InvalidParameterValueException, InvalidRequestContentException,
                                            RequestTooLargeException, ResourceNotFoundException,
                                            TooManyRequestsException)
from miniaws.services.lambda_.models import LATEST

log = logging.getLogger("miniaws.lambda")

MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_EVENT_PAYLOAD = 256 * 1024
#: AWS keeps at least this much of the account's concurrency unreserved (scaled down for small limits)
MIN_UNRESERVED = 100


def unreserved_floor(account_limit: int) -> int:
    return min(MIN_UNRESERVED, account_limit // 10)


class InvokeOperations(LambdaBase):
    @operation("Invoke")
    async def invoke(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, qualifier = self.function(ctx, params["FunctionName"], params.get("Qualifier"))
        kind = params.get("InvocationType") or "RequestResponse"
        if kind not in ("RequestResponse", "Event", "DryRun"):
            raise v.constraint(kind, "invocationType", "Member must satisfy enum value set: "
                                                       "[Event, RequestResponse, DryRun]")
        payload = bytes(params.get("Payload") or b"") or b"{}"
        limit = MAX_EVENT_PAYLOAD if kind == "Event" else MAX_SYNC_PAYLOAD
        if len(payload) > limit:
            raise RequestTooLargeException(f"Request must be smaller than {limit} bytes for the InvokeFunction "
                                           "operation")
        try:
            orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise InvalidRequestContentException(f"Could not parse request body into json: {exc}") from None
        client_context = v.check_client_context(params.get("ClientContext"))
        config, used = self.version_of(fn, qualifier, route=True)
        if kind == "DryRun":
            return {"StatusCode": 204}
        if kind == "Event":
            self._queue_event(fn.account, fn.region, fn.name, qualifier, payload, ctx.request_id)
            return {"StatusCode": 202}
        invoked_arn = fn.arn if used == LATEST and qualifier is None else f"{fn.arn}:{used}"
        try:
            result = await self.runtime.invoke(self.function_spec(fn, config), payload, invoked_arn,
                                               client_context, request_id=ctx.request_id)
        except Throttled as exc:
            raise TooManyRequestsException(Reason=exc.reason) from None
        out: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": config.version,
                               "Payload": result.outcome.payload}
        if result.outcome.failed:
            out["FunctionError"] = "Unhandled"
        if params.get("LogType") == "Tail":
            out["LogResult"] = tail(result.log)
        return out

    async def invoke_for_target(self, function_arn: str, payload: bytes) -> tuple[bytes, bool]:
        """A synchronous invocation for an in-process caller (a load balancer's lambda target, DESIGN §1):
        (result payload, True when the function failed). The ARN may carry a version or alias qualifier.
        Raises ResourceNotFoundException for an unknown function, TooManyRequestsException when throttled."""
        match = _FUNCTION_REF.match(function_arn)
        if match is None or not match.group("account"):
            raise ResourceNotFoundException(f"Function not found: {function_arn}")
        fn = self.store.get(match.group("account"), match.group("region"), match.group("name"))
        if fn is None:
            raise ResourceNotFoundException(f"Function not found: {function_arn}")
        qualifier = match.group("qualifier")
        config, used = self.version_of(fn, qualifier, route=True)
        invoked_arn = fn.arn if qualifier is None else f"{fn.arn}:{used}"
        try:
            result = await self.runtime.invoke(self.function_spec(fn, config), payload, invoked_arn)
        except Throttled as exc:
            raise TooManyRequestsException(Reason=exc.reason) from None
        return result.outcome.payload, result.outcome.failed

    # -- asynchronous invocation -------------------------------------------------------------------
    def _queue_event(self, account: str, region: str, name: str, qualifier: str | None, payload: bytes,
                     rid: str | None = None) -> None:
        """Queue an Event invocation under `rid` (Invoke's request id; a new one for in-process sources)."""
        task = asyncio.get_running_loop().create_task(self._run_event(account, region, name, qualifier, payload,
                                                                      rid or request_id()))
        self.event_tasks.add(task)
        task.add_done_callback(self.event_tasks.discard)

    async def _run_event(self, account: str, region: str, name: str, qualifier: str | None, payload: bytes,
                         rid: str) -> None:
        """One Event invocation and its retries, all under the request id Invoke answered with (AWS retries an
        asynchronous invocation with the same request id)."""
        received = self.clock.monotonic()
        delay = self.config.lambda_retry_delay_seconds
        attempt = 0
        while True:
            fn = self.store.get(account, region, name)
            if fn is None:
                return  # deleted meanwhile: the event is dropped, as AWS does
            settings = fn.event_invoke_config or {}
            retries = int(settings.get("MaximumRetryAttempts", 2))
            max_age = float(settings.get("MaximumEventAgeInSeconds", 21600))
            config, status, executed = fn.latest, 200, None
            try:
                config, used = self.version_of(fn, qualifier, route=True)
                invoked_arn = fn.arn if qualifier is None else f"{fn.arn}:{used}"
                executed = config.version
                result = await self.runtime.invoke(self.function_spec(fn, config), payload, invoked_arn,
                                                   request_id=rid)
                failed, detail = result.outcome.failed, result.outcome.payload
            except Throttled as exc:
                failed, detail, status = True, exc.reason.encode(), 429
            except ResourceNotFoundException:
                return
            except Exception:  # a bug must not kill the queue silently
                log.exception("event invocation %s of %s failed", rid, name)
                failed, detail, status = True, b"internal error", 500
            outcome = AsyncOutcome(rid, f"{fn.arn}:{qualifier or LATEST}", "Success", attempt + 1, payload, detail,
                                   self.clock.now(), status, executed,
                                   "Unhandled" if failed and status == 200 else None)
            if not failed:
                self.destinations.finished(outcome, settings.get("DestinationConfig"), config.dead_letter_arn)
                return
            age = self.clock.monotonic() - received
            if attempt >= retries or age >= max_age:
                log.info("event %s for %s failed after %d attempts: %s", rid, name, attempt + 1,
                         detail[:200].decode("utf-8", "replace"))
                self.runtime.logs.append(f"/aws/lambda/{name}", "async-failures",
                                         f"Event {rid} failed after {attempt + 1} attempts: "
                                         f"{detail[:1000].decode('utf-8', 'replace')}")
                outcome.condition = "RetriesExhausted" if attempt >= retries else "EventAgeExceeded"
                self.destinations.finished(outcome, settings.get("DestinationConfig"), config.dead_letter_arn)
                return
            # AWS waits 1 minute before the first retry and 2 before the second
            await asyncio.sleep(delay * (2 ** attempt) / self.config.time_scale)
            attempt += 1

    async def stop(self) -> None:
        tasks = list(self.event_tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await super().stop()

    # -- concurrency -------------------------------------------------------------------------------
    @operation("PutFunctionConcurrency")
    def put_function_concurrency(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, qualifier = self.function(ctx, params["FunctionName"])
        if qualifier is not None:
            raise InvalidParameterValueException("Reserved concurrency is set on the function, not a qualifier")
        value = v.check_range(params.get("ReservedConcurrentExecutions"), "reservedConcurrentExecutions", 0, 1 << 30)
        pool = self.runtime.pool
        provisioned = sum(c.requested for c in fn.provisioned.values())
        if value < provisioned:
            # provisioned concurrency is carved out of the reservation
            raise InvalidParameterValueException(f"ReservedConcurrentExecutions  {value} should not be lower than "
                                                 f"function's total provisioned concurrency [{provisioned}].")
        others = sum(n for arn, n in pool.reserved.items() if arn != fn.arn)
        # provisioned concurrency of unreserved functions is taken from the unreserved share too
        others += sum(n for arn, n in pool.provisioner.carved.items() if arn != fn.arn and arn not in pool.reserved)
        floor = unreserved_floor(pool.account_limit)
        if pool.account_limit - others - value < floor:
            raise InvalidParameterValueException(
                "Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{floor}].")
        fn.reserved_concurrency = value
        self.store.save(fn)
        pool.set_reserved(fn.arn, value)
        return {"ReservedConcurrentExecutions": value}

    @operation("GetFunctionConcurrency")
    def get_function_concurrency(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _ = self.function(ctx, params["FunctionName"])
        if fn.reserved_concurrency is None:
            return {}
        return {"ReservedConcurrentExecutions": fn.reserved_concurrency}

    @operation("DeleteFunctionConcurrency")
    def delete_function_concurrency(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _ = self.function(ctx, params["FunctionName"])
        fn.reserved_concurrency = None
        self.store.save(fn)
        self.runtime.pool.set_reserved(fn.arn, None)
        return {}

    # -- event invoke config -----------------------------------------------------------------------
    @operation("PutFunctionEventInvokeConfig")
    def put_function_event_invoke_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, qualifier = self.function(ctx, params["FunctionName"], params.get("Qualifier"))
        settings: dict[str, Any] = {}
        if params.get("MaximumRetryAttempts") is not None:
            settings["MaximumRetryAttempts"] = v.check_range(params["MaximumRetryAttempts"], "maximumRetryAttempts",
                                                             0, 2)
        if params.get("MaximumEventAgeInSeconds") is not None:
            settings["MaximumEventAgeInSeconds"] = v.check_range(params["MaximumEventAgeInSeconds"],
                                                                 "maximumEventAgeInSeconds", 60, 21600)
        if params.get("DestinationConfig"):
            settings["DestinationConfig"] = params["DestinationConfig"]
        settings["LastModified"] = self.clock.now()
        fn.event_invoke_config = settings
        self.store.save(fn)
        return self._event_config_wire(fn.arn, qualifier, settings)

    @operation("GetFunctionEventInvokeConfig")
    def get_function_event_invoke_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, qualifier = self.function(ctx, params["FunctionName"], params.get("Qualifier"))
        if fn.event_invoke_config is None:
            raise ResourceNotFoundException(f"The function {fn.arn} doesn't have an EventInvokeConfig")
        return self._event_config_wire(fn.arn, qualifier, fn.event_invoke_config)

    @operation("DeleteFunctionEventInvokeConfig")
    def delete_function_event_invoke_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _ = self.function(ctx, params["FunctionName"], params.get("Qualifier"))
        if fn.event_invoke_config is None:
            raise ResourceNotFoundException(f"The function {fn.arn} doesn't have an EventInvokeConfig")
        fn.event_invoke_config = None
        self.store.save(fn)
        return {}

    @staticmethod
    def _event_config_wire(arn: str, qualifier: str | None, settings: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {k: settings[k] for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig",
                                        "LastModified") if k in settings}
        out["FunctionArn"] = f"{arn}:{qualifier or LATEST}"
        return out
