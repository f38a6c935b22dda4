"""Provisioned concurrency: Put/Get/Delete/ListProvisionedConcurrencyConfigs
(https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html).

A configuration names a published version or an alias; the function runtime keeps that many environments of the
version (an alias's primary version: with routing weights, invocations routed to the additional version run
on-demand) initialised and warm. Status and Allocated come from the runtime: IN_PROGRESS while environments start,
READY when all have finished init, FAILED when one's init failed.
"""
from __future__ import annotations

import base64
from typing import Any

from miniaws.core.context import RequestContext
from miniaws.functions.provisioned import IN_PROGRESS
from miniaws.services.base import operation
from miniaws.services.lambda_ import validation as v
from miniaws.services.lambda_.api_invoke import InvokeOperations, unreserved_floor
from miniaws.services.lambda_.errors import (InvalidParameterValueException,
                                            ProvisionedConcurrencyConfigNotFoundException,
                                            ResourceConflictException, ResourceNotFoundException)
from miniaws.services.lambda_.models import LATEST, Function, ProvisionedConfig, lambda_timestamp

UNPUBLISHED = "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
MAX_PROVISIONED = 1 << 30


class ProvisionedOperations(InvokeOperations):
    def _target(self, ctx: RequestContext, params: dict[str, Any], *, putting: bool) -> tuple[Function, str, str]:
        """(function, qualifier, the published version whose environments serve it)."""
        fn, qualifier = self.function(ctx, params["FunctionName"], params.get("Qualifier"))
        if not qualifier or qualifier == LATEST:
            raise InvalidParameterValueException(
                UNPUBLISHED if putting else "The function resource provided must be an alias or a published version.")
        if qualifier.isdigit():
            if qualifier not in fn.versions:
                raise ResourceNotFoundException(f"Function not found: {fn.arn}:{qualifier}")
            return fn, qualifier, qualifier
        alias = fn.aliases.get(qualifier)
        if alias is None:
            raise ResourceNotFoundException(f"Cannot find alias arn: {fn.arn}:{qualifier}")
        return fn, qualifier, alias.function_version

    def _wire(self, fn: Function, config: ProvisionedConfig, *, with_arn: bool = False) -> dict[str, Any]:
        alloc = self.runtime.allocation(self.allocation_id(fn, config.qualifier))
        allocated = alloc.allocated if alloc is not None else 0
        out: dict[str, Any] = {}
        if with_arn:
            out["FunctionArn"] = f"{fn.arn}:{config.qualifier}"
        out.update({
            "RequestedProvisionedConcurrentExecutions": config.requested,
            # AWS reports the provisioned environments that are initialised as both available and allocated
            "AvailableProvisionedConcurrentExecutions": allocated,
            "AllocatedProvisionedConcurrentExecutions": allocated,
            "Status": alloc.status if alloc is not None else IN_PROGRESS,
            "LastModified": config.last_modified,
        })
        if alloc is not None and alloc.failure is not None:
            out["StatusReason"] = alloc.failure
        return out

    @operation("PutProvisionedConcurrencyConfig")
    def put_provisioned_concurrency_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, qualifier, version = self._target(ctx, params, putting=True)
        count = v.check_range(params.get("ProvisionedConcurrentExecutions"), "provisionedConcurrentExecutions", 1,
                              MAX_PROVISIONED)
        if version == LATEST:  # an alias pointing at $LATEST
            raise InvalidParameterValueException(UNPUBLISHED)
        # a version is provisioned either directly or through aliases, not both (AWS answers 409 either way)
        if qualifier in fn.aliases and version in fn.provisioned:
            raise ResourceConflictException("Alias can't be used for Provisioned Concurrency configuration on an "
                                            "already Provisioned version")
        if qualifier.isdigit() and any(a.function_version == qualifier and a.name in fn.provisioned
                                       for a in fn.aliases.values()):
            raise ResourceConflictException("Version is pointed by a Provisioned Concurrency alias")
        self._check_capacity(fn, qualifier, count)
        config = ProvisionedConfig(qualifier, count, lambda_timestamp(self.clock.now()))
        self.store.put_provisioned(fn, config)
        self.apply_provisioned(fn, qualifier)
        return self._wire(fn, config)

    def _check_capacity(self, fn: Function, qualifier: str, count: int) -> None:
        """Provisioned concurrency is carved out of the function's reserved concurrency when it has one, else out
        of the account's unreserved concurrency, which must keep its minimum
        (https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html)."""
        total = count + sum(c.requested for q, c in fn.provisioned.items() if q != qualifier)
        if fn.reserved_concurrency is not None:
            if total > fn.reserved_concurrency:
                raise InvalidParameterValueException("Requested Provisioned Concurrency should not be greater than "
                                                     "the reservedConcurrentExecution for function")
            return
        pool = self.runtime.pool
        elsewhere = sum(n for arn, n in pool.provisioner.carved.items() if arn != fn.arn and arn not in pool.reserved)
        floor = unreserved_floor(pool.account_limit)
        if pool.unreserved_limit - elsewhere - total < floor:
            raise InvalidParameterValueException(
                "Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution "
                f"below its minimum value of [{floor}].")

    @operation("GetProvisionedConcurrencyConfig")
    def get_provisioned_concurrency_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, qualifier, _ = self._target(ctx, params, putting=False)
        config = fn.provisioned.get(qualifier)
        if config is None:
            raise ProvisionedConcurrencyConfigNotFoundException("No Provisioned Concurrency Config found for this "
                                                                "function")
        return self._wire(fn, config)

    @operation("DeleteProvisionedConcurrencyConfig")
    def delete_provisioned_concurrency_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        # deleting a configuration that does not exist succeeds, as it does on AWS
        fn, qualifier, _ = self._target(ctx, params, putting=False)
        self.store.delete_provisioned(fn, qualifier)
        self.runtime.deprovision(self.allocation_id(fn, qualifier))
        return {}

    @operation("ListProvisionedConcurrencyConfigs")
    def list_provisioned_concurrency_configs(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _ = self.function(ctx, params["FunctionName"])
        limit = v.check_range(params.get("MaxItems", 50), "maxItems", 1, 50)
        # versions in number order, then aliases by name
        qualifiers = sorted(fn.provisioned, key=lambda q: (0, int(q), "") if q.isdigit() else (1, 0, q))
        start = 0
        if params.get("Marker"):
            try:
                start = int(base64.urlsafe_b64decode(str(params["Marker"]).encode()).decode())
            except (ValueError, UnicodeDecodeError):
                raise InvalidParameterValueException("Invalid marker") from None
        page = qualifiers[start:start + limit]
        out: dict[str, Any] = {
            "ProvisionedConcurrencyConfigs": [self._wire(fn, fn.provisioned[q], with_arn=True) for q in page]}
        if start + limit < len(qualifiers):
            out["NextMarker"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
        return out
