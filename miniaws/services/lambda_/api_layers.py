"""Layers: PublishLayerVersion, GetLayerVersion, ListLayers, ListLayerVersions, DeleteLayerVersion, and resolving
a function's Layers to their zips (https://docs.aws.amazon.com/lambda/latest/dg/chapter-layers.html).

A function keeps the zips of the layer versions it was configured with, so deleting a layer version does not
break functions that use it, as in AWS. At run time the layers are unpacked in order into one directory that
stands for /opt (see functions/code.py)."""
from __future__ import annotations

import base64
import re
from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.lambda_ import validation as v
from miniaws.services.lambda_.api_functions import FunctionOperations
from miniaws.services.lambda_.errors import InvalidParameterValueException, ResourceNotFoundException
from miniaws.services.lambda_.models import LayerVersion, lambda_timestamp

_LAYER_NAME = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")


class LayerOperations(FunctionOperations):
    def layer_wire(self, ctx: RequestContext, layer: LayerVersion, with_content: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"LayerVersionArn": layer.arn, "Version": layer.version, "Description": layer.description,
                               "CreatedDate": layer.created, "CompatibleRuntimes": list(layer.runtimes),
                               "CompatibleArchitectures": list(layer.architectures)}
        if layer.license is not None:
            out["LicenseInfo"] = layer.license
        if with_content:
            host = ctx.request.host if ctx.request is not None else f"127.0.0.1:{self.config.port}"
            out["LayerArn"] = layer.layer_arn
            out["Content"] = {"Location": f"http://{host}/_miniaws/lambda/code/{layer.blob}",
                              "CodeSha256": layer.sha256, "CodeSize": layer.size}
        return out

    def _layer(self, ctx: RequestContext, name: str, version: int) -> LayerVersion:
        # LayerName may also be the layer's ARN
        short = name.rsplit(":", 1)[-1] if name.startswith("arn:") else name
        layer = self.store.layer_versions(ctx.account_id, ctx.region, short).get(version)
        if layer is None:
            raise ResourceNotFoundException("The resource you requested does not exist.")
        return layer

    @operation("PublishLayerVersion")
    async def publish_layer_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params.get("LayerName", ""))
        if not _LAYER_NAME.match(name):
            raise v.constraint(name, "layerName", "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+")
        description = v.check_description(params.get("Description"))
        blob_id, size, sha = await self._store_code(await self._code_bytes(ctx, params.get("Content") or {}))
        layer = LayerVersion(ctx.account_id, ctx.region, name,
                             self.store.next_layer_version(ctx.account_id, ctx.region, name), blob_id, size, sha,
                             lambda_timestamp(self.clock.now()), description,
                             list(params.get("CompatibleRuntimes") or []),
                             list(params.get("CompatibleArchitectures") or []), params.get("LicenseInfo"))
        self.store.add_layer(layer)
        return self.layer_wire(ctx, layer, with_content=True)

    @operation("GetLayerVersion")
    def get_layer_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.layer_wire(ctx, self._layer(ctx, params["LayerName"], int(params["VersionNumber"])), True)

    @operation("DeleteLayerVersion")
    def delete_layer_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        try:
            layer = self._layer(ctx, params["LayerName"], int(params["VersionNumber"]))
        except ResourceNotFoundException:
            return {}  # idempotent in AWS
        self.store.delete_layer(layer)
        return {}

    @staticmethod
    def _matches(layer: LayerVersion, params: dict[str, Any]) -> bool:
        runtime, arch = params.get("CompatibleRuntime"), params.get("CompatibleArchitecture")
        return (runtime is None or runtime in layer.runtimes) and (arch is None or arch in layer.architectures)

    @operation("ListLayerVersions")
    def list_layer_versions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        versions = self.store.layer_versions(ctx.account_id, ctx.region, str(params["LayerName"]))
        items = [self.layer_wire(ctx, versions[n], False) for n in sorted(versions, reverse=True)
                 if self._matches(versions[n], params)]
        return _page(items, params, "LayerVersions")

    @operation("ListLayers")
    def list_layers(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        items = []
        for name, versions in sorted(self.store.layers.get((ctx.account_id, ctx.region), {}).items()):
            matching = [versions[n] for n in sorted(versions, reverse=True) if self._matches(versions[n], params)]
            if matching:
                items.append({"LayerName": name, "LayerArn": matching[0].layer_arn,
                              "LatestMatchingVersion": self.layer_wire(ctx, matching[0], False)})
        return _page(items, params, "Layers")


def _page(items: list[dict[str, Any]], params: dict[str, Any], key: str) -> dict[str, Any]:
    limit = v.check_range(params.get("MaxItems", 50), "maxItems", 1, 50)
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
