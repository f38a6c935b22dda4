"""Function operations: Create, Get, GetConfiguration, List, UpdateCode, UpdateConfiguration, Delete, tags and
account settings (https://docs.aws.amazon.com/lambda/latest/api/API_Operations.html)."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from typing import Any

from miniaws.core.context import RequestContext
from miniaws.functions.code import BadZip, check_zip
from miniaws.services.base import operation
from miniaws.services.lambda_ import validation as v
from miniaws.services.lambda_.api_common import LambdaBase
from miniaws.services.lambda_.errors import (InvalidParameterValueException, PreconditionFailedException,
                                            RequestTooLargeException, ResourceConflictException,
                                            ResourceNotFoundException)
from miniaws.services.lambda_.models import LATEST, Function, VersionConfig, lambda_timestamp
from miniaws.services.s3.body import read_body

CODE_STORAGE_LIMIT = 80 * 1024 ** 3  # AWS's default 75 GB code storage quota per region


def _creating(config: dict[str, Any]) -> dict[str, Any]:
    # the response describes the function as AWS does at that moment; it is Active as soon as it is stored
    config.update(State="Pending", StateReason="The function is being created.", StateReasonCode="Creating")
    config.pop("LastUpdateStatus", None)
    return config


def _updating(config: dict[str, Any]) -> dict[str, Any]:
    config.update(LastUpdateStatus="InProgress", LastUpdateStatusReason="The function is being created.",
                  LastUpdateStatusReasonCode="Creating")
    return config


class FunctionOperations(LambdaBase):
    # -- code ------------------------------------------------------------------------------------
    async def _code_bytes(self, ctx: RequestContext, params: dict[str, Any]) -> bytes:
        """The zip from ZipFile, or read in-process from our S3 (S3Bucket/S3Key/S3ObjectVersion)."""
        data = params.get("ZipFile")
        if data is not None:
            return bytes(data)
        bucket, key = params.get("S3Bucket"), params.get("S3Key")
        if bucket and key:
            return await self._read_s3(str(bucket), str(key), params.get("S3ObjectVersion"))
        if params.get("ImageUri"):
            raise InvalidParameterValueException("Container images are not supported by miniaws; use a zip")
        raise InvalidParameterValueException("Please provide a source for function code.")

    async def _read_s3(self, bucket_name: str, key: str, version: str | None) -> bytes:
        store = getattr(self.s3, "store", None)
        bucket = store.buckets.get(bucket_name) if store is not None else None
        if bucket is None:
            raise InvalidParameterValueException(f"Error occurred while GetObject. S3 Error Code: NoSuchBucket. "
                                                 f"S3 Error Message: The specified bucket does not exist")
        if version and hasattr(bucket, "find_version"):
            obj = bucket.find_version(key, version)
        elif hasattr(bucket, "current"):
            obj = bucket.current(key)
        else:
            obj = bucket.objects.get(key)
        if obj is None or getattr(obj, "delete_marker", False):
            raise InvalidParameterValueException("Error occurred while GetObject. S3 Error Code: NoSuchKey. "
                                                 "S3 Error Message: The specified key does not exist.")
        # S3 bodies are encrypted at rest: read them through S3's decrypting reader
        return await read_body(self.blobs, obj.segments, obj.size)

    async def _store_code(self, data: bytes) -> tuple[str, int, str]:
        """(blob id, size, CodeSha256) of a validated zip, written to the blob store (not yet referenced)."""
        if len(data) > v.MAX_ZIPPED:
            raise RequestTooLargeException("Request must be smaller than 70167211 bytes for the CreateFunction "
                                           "operation")
        try:
            unzipped = await asyncio.to_thread(check_zip, data) if len(data) > 1 << 20 else check_zip(data)
        except BadZip:
            raise InvalidParameterValueException("Could not unzip uploaded file. Please check your file, then try "
                                                 "to upload again.") from None
        if unzipped > v.MAX_UNZIPPED:
            raise InvalidParameterValueException(f"Unzipped size must be smaller than {v.MAX_UNZIPPED} bytes")
        sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
        if len(data) <= self.blobs.inline_limit:
            return self.blobs.put_inline(data), len(data), sha
        writer = self.blobs.open_writer()
        try:
            await asyncio.to_thread(writer.write_sync, data)
            blob_id = await asyncio.to_thread(writer.finish_sync)
        except BaseException:
            await asyncio.to_thread(writer.abort_sync)
            raise
        return blob_id, len(data), sha

    def _drop_unused(self, blob_id: str) -> None:
        self.blobs.incref(blob_id)
        self.blobs.decref(blob_id)

    @staticmethod
    def _check_revision(params: dict[str, Any], current: str) -> None:
        wanted = params.get("RevisionId")
        if wanted is not None and wanted != current:
            raise PreconditionFailedException("The Revision Id provided does not match the latest Revision Id. "
                                              "Call the GetFunction/GetAlias API to retrieve the latest Revision Id")

    # -- create / read ---------------------------------------------------------------------------
    @operation("CreateFunction")
    async def create_function(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = v.check_name(params.get("FunctionName"))
        if params.get("PackageType", "Zip") != "Zip":
            raise InvalidParameterValueException("Container images are not supported by miniaws; use a zip")
        runtime = v.check_runtime(params.get("Runtime"))
        role = v.check_role(params.get("Role"))
        handler = v.check_handler(params.get("Handler"), runtime)
        timeout = v.check_timeout(params.get("Timeout", 3))
        memory = v.check_memory(params.get("MemorySize", 128))
        environment = v.check_environment(params.get("Environment"))
        architectures = v.check_architectures(params.get("Architectures"))
        description = v.check_description(params.get("Description"))
        storage = v.check_ephemeral(params.get("EphemeralStorage"))
        dead_letter = v.check_dead_letter(params.get("DeadLetterConfig"))
        if self.store.get(ctx.account_id, ctx.region, name) is not None:
            raise ResourceConflictException(f"Function already exist: {name}")
        layer_arns, layer_blobs = self.resolve_layers(ctx, params.get("Layers"))
        blob_id, size, sha = await self._store_code(await self._code_bytes(ctx, params.get("Code") or {}))
        if self.store.get(ctx.account_id, ctx.region, name) is not None:  # created while we were storing code
            self._drop_unused(blob_id)
            raise ResourceConflictException(f"Function already exist: {name}")
        now = self.clock.now()
        config = VersionConfig(
            version=LATEST, runtime=runtime, role=role, handler=handler, code_blob=blob_id, code_size=size,
            code_sha256=sha, last_modified=lambda_timestamp(now), revision_id=str(uuid.uuid4()),
            description=description, timeout=timeout, memory_size=memory, environment=environment,
            architectures=architectures, layers=layer_arns, layer_blobs=layer_blobs, ephemeral_storage=storage,
            tracing_mode=(params.get("TracingConfig") or {}).get("Mode", "PassThrough"), dead_letter_arn=dead_letter)
        fn = Function(ctx.account_id, ctx.region, name, config, now, tags=dict(params.get("Tags") or {}))
        self.store.add(fn)
        out = _creating(self.configuration(fn, config))
        if params.get("Publish"):
            published = self.publish(fn, "")
            out = _creating(self.configuration(fn, published))
        return out

    @operation("GetFunction")
    def get_function(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, qualifier = self.function(ctx, params["FunctionName"], params.get("Qualifier"))
        config, _ = self.version_of(fn, qualifier)
        host = ctx.request.host if ctx.request is not None else f"127.0.0.1:{self.config.port}"
        out: dict[str, Any] = {
            "Configuration": self.configuration(fn, config),
            # a URL on this endpoint that really serves the zip, as AWS's presigned S3 URL does
            "Code": {"RepositoryType": "S3", "Location": f"http://{host}/_miniaws/lambda/code/{config.code_blob}"},
        }
        if fn.tags:
            out["Tags"] = dict(fn.tags)
        if fn.reserved_concurrency is not None:
            out["Concurrency"] = {"ReservedConcurrentExecutions": fn.reserved_concurrency}
        return out

    @operation("GetFunctionConfiguration")
    def get_function_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, qualifier = self.function(ctx, params["FunctionName"], params.get("Qualifier"))
        config, _ = self.version_of(fn, qualifier)
        return self.configuration(fn, config)

    @operation("ListFunctions")
    def list_functions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        limit = v.check_range(params.get("MaxItems", 50), "maxItems", 1, 10000)
        every_version = params.get("FunctionVersion") == "ALL"
        entries: list[tuple[str, int, Function, VersionConfig]] = []
        for fn in self.store.scope(ctx.account_id, ctx.region).values():
            entries.append((fn.name, 0, fn, fn.latest))
            if every_version:
                entries.extend((fn.name, int(num), fn, cfg) for num, cfg in fn.versions.items())
        entries.sort(key=lambda e: (e[0], e[1]))
        start = 0
        marker = params.get("Marker")
        if marker:
            try:
                name, _, number = base64.urlsafe_b64decode(marker.encode()).decode().partition("\0")
                position = (name, int(number))
            except (ValueError, UnicodeDecodeError):
                raise InvalidParameterValueException("Invalid marker") from None
            start = next((i for i, e in enumerate(entries) if (e[0], e[1]) > position), len(entries))
        page = entries[start:start + limit]
        out: dict[str, Any] = {"Functions": [self.configuration(fn, cfg) for _, _, fn, cfg in page]}
        if start + limit < len(entries):
            last = page[-1]
            out["NextMarker"] = base64.urlsafe_b64encode(f"{last[0]}\0{last[1]}".encode()).decode()
        return out

    # -- update / delete -------------------------------------------------------------------------
    @operation("UpdateFunctionCode")
    async def update_function_code(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _ = self.function(ctx, params["FunctionName"])
        self._check_revision(params, fn.latest.revision_id)
        if params.get("Architectures") is not None:
            v.check_architectures(params["Architectures"])
        blob_id, size, sha = await self._store_code(await self._code_bytes(ctx, params))
        if params.get("DryRun"):
            self._drop_unused(blob_id)
            return self.configuration(fn, fn.latest)
        if self.store.get(fn.account, fn.region, fn.name) is not fn:
            self._drop_unused(blob_id)
            raise ResourceNotFoundException(f"Function not found: {fn.arn}")
        latest = fn.latest
        latest.code_size, latest.code_sha256 = size, sha
        if params.get("Architectures"):
            latest.architectures = list(params["Architectures"])
        self._touch(latest)
        self.store.replace_code(fn, blob_id)
        self.runtime.retire(fn.arn, LATEST)
        if params.get("Publish"):
            return _updating(self.configuration(fn, self.publish(fn, "")))
        return _updating(self.configuration(fn, latest))

    @operation("UpdateFunctionConfiguration")
    def update_function_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _ = self.function(ctx, params["FunctionName"])
        self._check_revision(params, fn.latest.revision_id)
        latest = fn.latest
        changes: dict[str, Any] = {}
        if "Runtime" in params:
            changes["runtime"] = v.check_runtime(params["Runtime"])
        if "Role" in params:
            changes["role"] = v.check_role(params["Role"])
        if "Handler" in params:
            changes["handler"] = v.check_handler(params["Handler"], changes.get("runtime", latest.runtime))
        if "Timeout" in params:
            changes["timeout"] = v.check_timeout(params["Timeout"])
        if "MemorySize" in params:
            changes["memory_size"] = v.check_memory(params["MemorySize"])
        if "Environment" in params:
            changes["environment"] = v.check_environment(params["Environment"])
        if "Description" in params:
            changes["description"] = v.check_description(params["Description"])
        if "EphemeralStorage" in params:
            changes["ephemeral_storage"] = v.check_ephemeral(params["EphemeralStorage"])
        if "DeadLetterConfig" in params:
            changes["dead_letter_arn"] = v.check_dead_letter(params["DeadLetterConfig"])
        layers = self.resolve_layers(ctx, params["Layers"]) if "Layers" in params else None
        if "TracingConfig" in params:
            changes["tracing_mode"] = (params["TracingConfig"] or {}).get("Mode", "PassThrough")
        for attr, value in changes.items():
            setattr(latest, attr, value)
        self._touch(latest)
        if layers is not None:
            self.store.replace_layers(fn, *layers)
        else:
            self.store.save(fn)
        self.runtime.retire(fn.arn, LATEST)
        return _updating(self.configuration(fn, latest))

    def _touch(self, config: VersionConfig) -> None:
        config.last_modified = lambda_timestamp(self.clock.now())
        config.revision_id = str(uuid.uuid4())
        config.revision += 1

    @operation("DeleteFunction")
    def delete_function(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, qualifier = self.function(ctx, params["FunctionName"], params.get("Qualifier"))
        if qualifier is None:
            self.retire_provisioned(fn)
            self.store.delete(fn)
            self.runtime.retire(fn.arn)
            self.runtime.pool.set_reserved(fn.arn, None)
            return {"StatusCode": 204}
        if qualifier == LATEST:
            raise InvalidParameterValueException("$LATEST version cannot be deleted without deleting the function.")
        if qualifier not in fn.versions:
            if qualifier in fn.aliases:
                raise InvalidParameterValueException("Deletion of aliases is not currently supported.")
            raise ResourceNotFoundException(f"Function not found: {fn.arn}:{qualifier}")
        users = [a.name for a in fn.aliases.values() if a.function_version == qualifier or qualifier in a.weights]
        if users:
            raise ResourceConflictException(f"Unable to delete version because the following aliases reference "
                                            f"it: {users}")
        self.retire_provisioned(fn, [qualifier])
        self.store.delete_version(fn, qualifier)
        self.runtime.retire(fn.arn, qualifier)
        return {"StatusCode": 204}

    # -- versions (used by Create/Update with Publish, and PublishVersion) -------------------------
    def publish(self, fn: Function, description: str) -> VersionConfig:
        """Publish $LATEST unless the newest version already has its code and configuration (AWS returns it)."""
        latest = fn.latest
        newest = max(fn.versions.values(), key=lambda c: int(c.version), default=None)
        if newest is not None and newest.revision == latest.revision and newest.code_sha256 == latest.code_sha256:
            return newest
        config = latest.copy(version=str(fn.next_version), description=description or latest.description,
                             revision_id=str(uuid.uuid4()), last_modified=lambda_timestamp(self.clock.now()))
        fn.next_version += 1
        self.store.add_version(fn, config)
        return config

    # -- tags and account ------------------------------------------------------------------------
    def _tagged(self, ctx: RequestContext, arn: str) -> Function:
        name, qualifier = self.parse_function_name(ctx, arn)
        if qualifier is not None:
            raise InvalidParameterValueException("Tags are not supported on function versions or aliases")
        fn = self.store.get(ctx.account_id, ctx.region, name)
        if fn is None:
            raise ResourceNotFoundException(f"Function not found: {arn}")
        return fn

    @operation("TagResource")
    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn = self._tagged(ctx, params["Resource"])
        fn.tags.update(params.get("Tags") or {})
        self.store.save(fn)
        return {}

    @operation("UntagResource")
    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn = self._tagged(ctx, params["Resource"])
        for key in params.get("TagKeys") or ():
            fn.tags.pop(key, None)
        self.store.save(fn)
        return {}

    @operation("ListTags")
    def list_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Tags": dict(self._tagged(ctx, params["Resource"]).tags)}

    @operation("GetAccountSettings")
    def get_account_settings(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        functions = list(self.store.scope(ctx.account_id, ctx.region).values())
        total = sum(fn.latest.code_size + sum(c.code_size for c in fn.versions.values()) for fn in functions)
        pool = self.runtime.pool
        return {
            "AccountLimit": {"TotalCodeSize": CODE_STORAGE_LIMIT, "CodeSizeUnzipped": v.MAX_UNZIPPED,
                             "CodeSizeZipped": v.MAX_ZIPPED, "ConcurrentExecutions": pool.account_limit,
                             "UnreservedConcurrentExecutions": pool.unreserved_limit},
            "AccountUsage": {"TotalCodeSize": total, "FunctionCount": len(functions)},
        }
