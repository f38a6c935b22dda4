"""Versions and aliases: PublishVersion, ListVersionsByFunction, Create/Get/Update/Delete/ListAliases
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-versions.html, configuration-aliases.html)."""
from __future__ import annotations

import base64
import uuid
from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.lambda_ import validation as v
from miniaws.services.lambda_.api_common import _FUNCTION_REF
from miniaws.services.lambda_.api_functions import FunctionOperations
from miniaws.services.lambda_.errors import (InvalidParameterValueException, PreconditionFailedException,
                                            ResourceConflictException, ResourceNotFoundException)
from miniaws.services.lambda_.models import LATEST, Alias, Function


def _page(items: list[dict[str, Any]], params: dict[str, Any], key: str) -> dict[str, Any]:
    limit = v.check_range(params.get("MaxItems", 50), "maxItems", 1, 10000)
    start = 0
    if params.get("Marker"):
        try:
            start = int(base64.urlsafe_b64decode(str(params["Marker"]).encode()).decode())
        except ValueError:
            raise InvalidParameterValueException("Invalid marker") from None
    out: dict[str, Any] = {key: items[start:start + limit]}
    if start + limit < len(items):
        out["NextMarker"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
    return out


class VersionOperations(FunctionOperations):
    @operation("PublishVersion")
    def publish_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _ = self.function(ctx, params["FunctionName"])
        self._check_revision(params, fn.latest.revision_id)
        sha = params.get("CodeSha256")
        if sha is not None and sha != fn.latest.code_sha256:
            raise InvalidParameterValueException(f"CodeSHA256 ({sha}) is different from current CodeSHA256 in "
                                                 f"$LATEST ({fn.latest.code_sha256}). Please try again with the "
                                                 "CodeSHA256 in $LATEST.")
        return self.configuration(fn, self.publish(fn, v.check_description(params.get("Description"))))

    @operation("ListVersionsByFunction")
    def list_versions_by_function(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _ = self.function(ctx, params["FunctionName"])
        configs = [fn.latest] + [fn.versions[k] for k in sorted(fn.versions, key=int)]
        return _page([self.configuration(fn, c) for c in configs], params, "Versions")

    def published_version(self, function_arn: str) -> dict[str, Any] | None:
        """The FunctionConfiguration of the published version a qualified ARN names (`…:function:name:7`), or None
        when there is no such function or version, or the qualifier is not a version number ($LATEST, an alias,
        none). For in-process callers that may only use published versions (CloudFront's Lambda@Edge)."""
        match = _FUNCTION_REF.match(function_arn)
        if match is None or not match.group("account") or not (match.group("qualifier") or "").isdigit():
            return None
        fn = self.store.get(match.group("account"), match.group("region"), match.group("name"))
        config = fn.versions.get(match.group("qualifier")) if fn is not None else None
        return self.configuration(fn, config) if fn is not None and config is not None else None

    # -- aliases ---------------------------------------------------------------------------------
    def _alias_target(self, fn: Function, params: dict[str, Any], current: str | None) -> tuple[str, dict[str, float]]:
        version = params.get("FunctionVersion", current)
        if version is None:
            raise InvalidParameterValueException("FunctionVersion is required")
        if version != LATEST and version not in fn.versions:
            raise ResourceNotFoundException(f"Function not found: {fn.arn}:{version}")
        routing = params.get("RoutingConfig")
        weights: dict[str, float] = {}
        if routing is not None:
            weights = {str(k): float(w) for k, w in (routing.get("AdditionalVersionWeights") or {}).items()}
            if len(weights) > 1:
                raise InvalidParameterValueException("Number of items in AdditionalVersionWeights cannot be greater "
                                                     "than 1")
            for extra, weight in weights.items():
                if not 0.0 <= weight <= 1.0:
                    raise v.constraint(weight, "routingConfig.additionalVersionWeights", "Member must have value "
                                                                                         "between 0.0 and 1.0")
                if extra not in fn.versions:
                    raise InvalidParameterValueException(f"Version {extra} does not exist")
                if extra == version or version == LATEST:
                    raise InvalidParameterValueException("Invalid function version: routing requires two distinct "
                                                         "published versions")
        return version, weights

    @operation("CreateAlias")
    def create_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _ = self.function(ctx, params["FunctionName"])
        name = v.check_alias_name(params.get("Name"))
        if name == LATEST:
            raise InvalidParameterValueException("$LATEST is not a valid alias name")
        if name in fn.aliases:
            raise ResourceConflictException(f"Alias already exists: {fn.arn}:{name}")
        version, weights = self._alias_target(fn, params, None)
        alias = Alias(name, version, v.check_description(params.get("Description")), str(uuid.uuid4()), weights)
        self.store.put_alias(fn, alias)
        return self.alias_wire(fn, alias)

    def _alias(self, ctx: RequestContext, params: dict[str, Any]) -> tuple[Function, Alias]:
        fn, _ = self.function(ctx, params["FunctionName"])
        alias = fn.aliases.get(params.get("Name", ""))
        if alias is None:
            raise ResourceNotFoundException(f"Alias not found: {fn.arn}:{params.get('Name')}")
        return fn, alias

    @operation("GetAlias")
    def get_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, alias = self._alias(ctx, params)
        return self.alias_wire(fn, alias)

    @operation("UpdateAlias")
    def update_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, alias = self._alias(ctx, params)
        if params.get("RevisionId") is not None and params["RevisionId"] != alias.revision_id:
            raise PreconditionFailedException("The Revision Id provided does not match the latest Revision Id. "
                                              "Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
        version, weights = self._alias_target(fn, params, alias.function_version)
        if alias.name in fn.provisioned and version == LATEST:
            raise InvalidParameterValueException("Provisioned Concurrency Configs cannot be applied to unpublished "
                                                 "function versions.")
        moved = version != alias.function_version
        alias.function_version = version
        if "RoutingConfig" in params:
            alias.weights = weights
        if "Description" in params:
            alias.description = v.check_description(params["Description"])
        alias.revision_id = str(uuid.uuid4())
        self.store.put_alias(fn, alias)
        if moved and alias.name in fn.provisioned:
            # AWS moves the alias's provisioned concurrency to the new version (IN_PROGRESS until it is ready)
            self.apply_provisioned(fn, alias.name)
        return self.alias_wire(fn, alias)

    @operation("DeleteAlias")
    def delete_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, alias = self._alias(ctx, params)
        self.retire_provisioned(fn, [alias.name])
        self.store.delete_alias(fn, alias.name)
        return {}

    @operation("ListAliases")
    def list_aliases(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _ = self.function(ctx, params["FunctionName"])
        wanted = params.get("FunctionVersion")
        aliases = [self.alias_wire(fn, a) for name, a in sorted(fn.aliases.items())
                   if wanted is None or a.function_version == wanted]
        return _page(aliases, params, "Aliases")
