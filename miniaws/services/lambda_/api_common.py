"""What every Lambda operation shares: the wiring, function-name and qualifier resolution, the configuration's
wire shape, and the FunctionSpec handed to the function runtime."""
from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from aiohttp import web

from miniaws.config import Config
from miniaws.core.clock import Clock
from miniaws.core.context import RequestContext
from miniaws.core.responses import StreamedResponse
from miniaws.functions.executor import ProcessExecutor
from miniaws.functions.invocation import FunctionSpec
from miniaws.functions.service import FunctionRuntime, RuntimeSettings
from miniaws.services.base import Service
from miniaws.services.lambda_._spec import SPEC
from miniaws.services.lambda_.destinations import Destinations
from miniaws.services.lambda_.errors import (InvalidParameterValueException, ResourceNotFoundException,
                                            ValidationException)
from miniaws.services.lambda_.event_sources import MappingStore
from miniaws.services.lambda_.models import LATEST, Alias, Function, LambdaStore, VersionConfig
from miniaws.services.lambda_.sqs_poller import QueueConsumer, SqsPoller
from miniaws.state.blobs import BlobStore
from miniaws.state.journal import Journal

# FunctionName may be a name, a partial ARN (123456789012:function:name) or a full ARN, each with an optional
# :qualifier (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#lambda-Invoke-request-FunctionName)
_FUNCTION_REF = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:"
    r"|(?P<paccount>\d{12}):function:)?(?P<name>[a-zA-Z0-9-_]{1,140})(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?$")


_LAYER_VERSION_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):layer:"
                                r"(?P<name>[a-zA-Z0-9-_]+):(?P<version>\d+)$")
MAX_LAYERS = 5


class LambdaBase(Service):
    name = "lambda"
    protocol = "rest-json"
    spec = SPEC

    def __init__(self, config: Config, clock: Clock, journal: Journal, blobs: BlobStore, s3: Service | None = None,
                 endpoint: Callable[[], str] | None = None) -> None:
        self.config = config
        self.clock = clock
        self.blobs = blobs
        self.s3 = s3
        self.store = LambdaStore(journal, blobs)
        settings = RuntimeSettings(
            keep_warm_seconds=config.lambda_keep_warm_seconds, account_concurrency=config.lambda_concurrency_limit,
            cold_start_delay_ms=config.lambda_cold_start_delay_ms, time_scale=config.time_scale,
            interpreters=_interpreters(config.lambda_interpreters))
        self.runtime = FunctionRuntime(clock, ProcessExecutor(), self._read_blob, endpoint or (lambda: ""), settings)
        #: queued Event invocations (in memory: a restart drops them)
        self.event_tasks: set[asyncio.Task[None]] = set()
        #: where asynchronous invocations' outcomes go (destinations.py)
        self.destinations = Destinations()
        #: event source mappings, the pollers of the enabled ones, and the SQS they poll (api_event_sources.py)
        self.mappings = MappingStore(journal)
        self.pollers: dict[str, SqsPoller] = {}
        self.queues: QueueConsumer | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        self.store.restore(rows)
        for fn in self.store.all():
            self.runtime.pool.set_reserved(fn.arn, fn.reserved_concurrency)

    def referenced_blobs(self) -> set[str]:
        return set(self.store.code_blobs())

    def reset(self) -> None:
        for task in self.event_tasks:
            task.cancel()
        self.runtime.reset()
        self.store.reset()
        self.runtime.pool.reserved.clear()

    async def start(self) -> None:
        await self.runtime.start()
        # provisioned concurrency is configuration: after a restart its environments are started again
        for fn in self.store.all():
            for qualifier in fn.provisioned:
                self.apply_provisioned(fn, qualifier)

    async def stop(self) -> None:
        await self.runtime.stop()

    async def _read_blob(self, blob_id: str) -> bytes:
        return await self.blobs.read_all(blob_id)

    def internal(self, method: str, path: str, query: Mapping[str, str],
                 headers: Mapping[str, str]) -> tuple[int, Any]:
        """`code/<blob id>`: a function's zip (GetFunction's Code.Location); `logs/<function>`: its log events."""
        kind, _, rest = path.strip("/").partition("/")
        if kind == "code" and method in ("GET", "HEAD") and rest in self.referenced_blobs():
            headers_out = {"Content-Type": "application/zip",
                           "Content-Disposition": f'attachment; filename="{rest}.zip"'}
            inline = self.blobs.inline(rest)
            if inline is not None:
                return 200, web.Response(body=inline, headers=headers_out)
            size = self.blobs.path_of(rest).stat().st_size
            chunks = None if method == "HEAD" else _file_chunks(self.blobs, rest, size)
            return 200, StreamedResponse(200, headers_out, size, chunks)
        if kind == "logs" and method == "GET" and rest:
            start = int(query.get("startTime", "0") or 0)
            return 200, {"logGroupName": f"/aws/lambda/{rest}",
                         "events": self.runtime.logs.events(f"/aws/lambda/{rest}", start)}
        return 404, {"message": "use /_miniaws/lambda/code/<id> or /_miniaws/lambda/logs/<function name>"}

    def state(self) -> dict[str, Any]:
        """GET /_miniaws/state: live execution environments (worker pids included) and provisioned concurrency."""
        envs = [{"Id": env.id, "FunctionArn": env.spec.function_arn, "Version": env.spec.version,
                 "State": env.state.value, "Pid": env.worker.pid if env.worker is not None else None,
                 "InitializationType": "provisioned-concurrency" if env.provisioned else "on-demand"}
                for env in self.runtime.pool.environments()]
        provisioned = {alloc.id: {"Version": alloc.spec.version, "Requested": alloc.requested,
                                  "Allocated": alloc.allocated, "Status": alloc.status}
                       for alloc in self.runtime.pool.provisioner.allocations.values()}
        return {"Environments": sorted(envs, key=lambda e: str(e["Id"])), "ProvisionedConcurrency": provisioned}

    # -- provisioned concurrency ---------------------------------------------------------------------
    @staticmethod
    def allocation_id(fn: Function, qualifier: str) -> str:
        return f"{fn.arn}:{qualifier}"

    def apply_provisioned(self, fn: Function, qualifier: str) -> None:
        """Bring the runtime in line with the qualifier's provisioned concurrency configuration: environments of the
        version it names (an alias's primary version), or none when it has no configuration (or no such version)."""
        allocation_id = self.allocation_id(fn, qualifier)
        config = fn.provisioned.get(qualifier)
        alias = fn.aliases.get(qualifier)
        version = alias.function_version if alias is not None else qualifier
        target = fn.versions.get(version)
        if config is None or target is None:
            self.runtime.deprovision(allocation_id)
            return
        self.runtime.provision(allocation_id, self.function_spec(fn, target), config.requested)

    def retire_provisioned(self, fn: Function, qualifiers: list[str] | None = None) -> None:
        """Stop the provisioned environments of these qualifiers (all of the function's if None)."""
        for qualifier in (list(fn.provisioned) if qualifiers is None else qualifiers):
            self.runtime.deprovision(self.allocation_id(fn, qualifier))

    # -- lookups --------------------------------------------------------------------------------
    @staticmethod
    def parse_function_name(ctx: RequestContext, value: str) -> tuple[str, str | None]:
        """(name, qualifier or None) from a FunctionName in any of its accepted forms."""
        match = _FUNCTION_REF.match(value or "")
        if match is None:
            raise _invalid_name(value)
        account = match.group("account") or match.group("paccount")
        region = match.group("region")
        if (account and account != ctx.account_id) or (region and region != ctx.region):
            raise ResourceNotFoundException(f"Function not found: {_arn_of(ctx, match.group('name'))}")
        return match.group("name"), match.group("qualifier")

    def function(self, ctx: RequestContext, value: str, qualifier: str | None = None) -> tuple[Function, str | None]:
        """The function a request names, and the qualifier from the name or the Qualifier parameter."""
        name, from_name = self.parse_function_name(ctx, value)
        if from_name and qualifier and from_name != qualifier:
            raise InvalidParameterValueException("The derived qualifier from the function name does not match "
                                                 "the specified qualifier.")
        fn = self.store.get(ctx.account_id, ctx.region, name)
        if fn is None:
            raise ResourceNotFoundException(f"Function not found: {_arn_of(ctx, name)}")
        return fn, from_name or qualifier

    @staticmethod
    def version_of(fn: Function, qualifier: str | None, *, route: bool = False) -> tuple[VersionConfig, str]:
        """(configuration, qualifier used in the ARN) for $LATEST, a version number or an alias. With `route`,
        an alias with routing weights picks one of its versions at random, weighted, as Invoke does."""
        if qualifier is None or qualifier == LATEST:
            return fn.latest, LATEST
        if qualifier.isdigit():
            config = fn.versions.get(qualifier)
            if config is None:
                raise ResourceNotFoundException(f"Function not found: {fn.arn}:{qualifier}")
            return config, qualifier
        alias = fn.aliases.get(qualifier)
        if alias is None:
            raise ResourceNotFoundException(f"Function not found: {fn.arn}:{qualifier}")
        version = pick_version(alias) if route else alias.function_version
        config = fn.latest if version == LATEST else fn.versions.get(version)
        if config is None:
            raise ResourceNotFoundException(f"Function not found: {fn.arn}:{version}")
        return config, qualifier

    def function_spec(self, fn: Function, config: VersionConfig) -> FunctionSpec:
        return FunctionSpec(
            key=f"{fn.arn}:{config.version}:{config.revision}", function_name=fn.name, function_arn=fn.arn,
            version=config.version, runtime=config.runtime, handler=config.handler, memory_mb=config.memory_size,
            timeout_s=config.timeout, code_blob=config.code_blob, region=fn.region, account_id=fn.account,
            environment=tuple(sorted(config.environment.items())), layer_blobs=tuple(config.layer_blobs))

    # -- a function's Layers -------------------------------------------------------------------
    def resolve_layers(self, ctx: RequestContext, arns: Any) -> tuple[list[str], list[str]]:
        """(layer version ARNs, their zips' blob ids) for a function's Layers parameter."""
        arns = list(arns or [])
        if len(arns) > MAX_LAYERS:
            raise InvalidParameterValueException(f"Cannot reference more than {MAX_LAYERS} layers.")
        blobs = []
        for arn in arns:
            match = _LAYER_VERSION_ARN.match(str(arn))
            layer = None
            if match and match["account"] == ctx.account_id and match["region"] == ctx.region:
                layer = self.store.layer_versions(ctx.account_id, ctx.region, match["name"]).get(int(match["version"]))
            if layer is None:
                raise InvalidParameterValueException(f"Layer version {arn} does not exist.")
            blobs.append(layer.blob)
        return [str(a) for a in arns], blobs

    # -- wire shapes ----------------------------------------------------------------------------
    @staticmethod
    def configuration(fn: Function, config: VersionConfig) -> dict[str, Any]:
        """FunctionConfiguration (https://docs.aws.amazon.com/lambda/latest/api/API_FunctionConfiguration.html)."""
        arn = fn.arn if config.version == LATEST else f"{fn.arn}:{config.version}"
        out: dict[str, Any] = {
            "FunctionName": fn.name, "FunctionArn": arn, "Runtime": config.runtime, "Role": config.role,
            "Handler": config.handler, "CodeSize": config.code_size, "Description": config.description,
            "Timeout": config.timeout, "MemorySize": config.memory_size, "LastModified": config.last_modified,
            "CodeSha256": config.code_sha256, "Version": config.version, "TracingConfig": {"Mode": config.tracing_mode},
            "RevisionId": config.revision_id, "State": config.state, "LastUpdateStatus": config.last_update_status,
            "PackageType": "Zip", "Architectures": list(config.architectures),
            "EphemeralStorage": {"Size": config.ephemeral_storage},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            "RuntimeVersionConfig": {"RuntimeVersionArn": f"arn:aws:lambda:{fn.region}::runtime:miniaws"},
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{fn.name}"},
        }
        if config.environment:
            out["Environment"] = {"Variables": dict(config.environment)}
        if config.layers:
            out["Layers"] = [{"Arn": arn, "CodeSize": 0} for arn in config.layers]
        if config.dead_letter_arn:
            out["DeadLetterConfig"] = {"TargetArn": config.dead_letter_arn}
        return out

    @staticmethod
    def alias_wire(fn: Function, alias: Alias) -> dict[str, Any]:
        out: dict[str, Any] = {"AliasArn": f"{fn.arn}:{alias.name}", "Name": alias.name,
                               "FunctionVersion": alias.function_version, "Description": alias.description,
                               "RevisionId": alias.revision_id}
        if alias.weights:
            out["RoutingConfig"] = {"AdditionalVersionWeights": dict(alias.weights)}
        return out


def pick_version(alias: Alias) -> str:
    roll = random.random()
    for version, weight in alias.weights.items():
        if roll < weight:
            return version
        roll -= weight
    return alias.function_version


def _arn_of(ctx: RequestContext, name: str) -> str:
    return f"arn:aws:lambda:{ctx.region}:{ctx.account_id}:function:{name}"


def _invalid_name(value: str) -> ValidationException:
    return ValidationException(f"1 validation error detected: Value '{value}' at 'functionName' failed to satisfy "
                               "constraint: Member must satisfy regular expression pattern: "
                               "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?"
                               "(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?")


def _interpreters(text: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in (text or "").split(","):
        runtime, sep, path = item.strip().partition("=")
        if sep and runtime and path:
            out[runtime.strip()] = path.strip()
    return out


async def _file_chunks(blobs: BlobStore, blob_id: str, size: int) -> AsyncIterator[bytes]:
    """A code zip stored as a file, a MiB at a time, each read off the event loop."""
    offset = 0
    while offset < size:
        chunk = await blobs.read(blob_id, offset, min(1 << 20, size - offset))
        if not chunk:
            return
        offset += len(chunk)
        yield chunk
