"""Lambda's state: functions, their published versions, aliases and provisioned concurrency configurations,
journaled on every change. Synchronous, no I/O.

A function's code zip lives in the BlobStore; every version configuration that points at a zip holds one
reference on it ($LATEST and each published version), so a zip shared by versions is stored once.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import orjson

from miniaws.state.blobs import BlobStore
from miniaws.state.journal import Journal

NS_FUNCTION = "lambda.function"
NS_VERSION = "lambda.version"
NS_ALIAS = "lambda.alias"
NS_LAYER = "lambda.layer"
NS_LAYER_SEQ = "lambda.layer-seq"
NS_PROVISIONED = "lambda.provisioned"
LATEST = "$LATEST"


def lambda_timestamp(epoch: float) -> str:
    """Lambda's LastModified: `2024-05-06T07:08:09.123+0000`."""
    millis = int(epoch * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{millis:03d}+0000"


@dataclass(slots=True)
class VersionConfig:
    """One version's configuration ($LATEST is mutable; published versions are frozen copies)."""

    version: str
    runtime: str
    role: str
    handler: str
    code_blob: str
    code_size: int
    code_sha256: str
    last_modified: str
    revision_id: str
    #: bumps on every code or configuration change: environments of an older revision are retired
    revision: int = 1
    description: str = ""
    timeout: int = 3
    memory_size: int = 128
    environment: dict[str, str] = field(default_factory=dict)
    architectures: list[str] = field(default_factory=lambda: ["x86_64"])
    layers: list[str] = field(default_factory=list)
    #: the layer versions' zips, in the function's order (kept even if a layer version is deleted, as AWS does)
    layer_blobs: list[str] = field(default_factory=list)
    ephemeral_storage: int = 512
    tracing_mode: str = "PassThrough"
    #: DeadLetterConfig.TargetArn: where failed asynchronous events go after their retries
    dead_letter_arn: str | None = None
    state: str = "Active"
    last_update_status: str = "Successful"

    def record(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "VersionConfig":
        return cls(**record)

    def copy(self, **changes: Any) -> "VersionConfig":
        return dataclasses.replace(self, environment=dict(self.environment), architectures=list(self.architectures),
                                   layers=list(self.layers), layer_blobs=list(self.layer_blobs), **changes)

    @property
    def blobs(self) -> list[str]:
        return [self.code_blob, *self.layer_blobs]


@dataclass(slots=True)
class Alias:
    name: str
    function_version: str
    description: str
    revision_id: str
    #: additional version -> weight (0..1), for weighted routing
    weights: dict[str, float] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "Alias":
        return cls(**record)


@dataclass(slots=True)
class ProvisionedConfig:
    """PutProvisionedConcurrencyConfig's settings for one qualifier (a published version or an alias); how far
    the environments have got (Status, Allocated) is run-time state, read from the function runtime."""

    qualifier: str
    requested: int
    last_modified: str

    def record(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "ProvisionedConfig":
        return cls(**record)


@dataclass(slots=True)
class LayerVersion:
    account: str
    region: str
    name: str
    version: int
    blob: str
    size: int
    sha256: str
    created: str
    description: str = ""
    runtimes: list[str] = field(default_factory=list)
    architectures: list[str] = field(default_factory=list)
    license: str | None = None

    @property
    def layer_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:layer:{self.name}"

    @property
    def arn(self) -> str:
        return f"{self.layer_arn}:{self.version}"

    def record(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class Function:
    account: str
    region: str
    name: str
    latest: VersionConfig
    created: float
    tags: dict[str, str] = field(default_factory=dict)
    next_version: int = 1
    reserved_concurrency: int | None = None
    #: PutFunctionEventInvokeConfig's settings (MaximumRetryAttempts, MaximumEventAgeInSeconds, destinations)
    event_invoke_config: dict[str, Any] | None = None
    versions: dict[str, VersionConfig] = field(default_factory=dict)
    aliases: dict[str, Alias] = field(default_factory=dict)
    #: qualifier -> provisioned concurrency configuration
    provisioned: dict[str, ProvisionedConfig] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.name}"

    @property
    def key(self) -> str:
        return f"{self.account}/{self.region}/{self.name}"

    def record(self) -> dict[str, Any]:
        return {"account": self.account, "region": self.region, "name": self.name, "latest": self.latest.record(),
                "created": self.created, "tags": self.tags, "next_version": self.next_version,
                "reserved": self.reserved_concurrency, "event_invoke": self.event_invoke_config}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "Function":
        return cls(r["account"], r["region"], r["name"], VersionConfig.from_record(r["latest"]), r["created"],
                   r["tags"], r["next_version"], r["reserved"], r["event_invoke"])


class LambdaStore:
    """Functions per account and region; every mutation is journaled before the response goes out."""

    def __init__(self, journal: Journal, blobs: BlobStore) -> None:
        self.journal = journal
        self.blobs = blobs
        self.functions: dict[tuple[str, str], dict[str, Function]] = {}
        #: (account, region) -> layer name -> version -> LayerVersion
        self.layers: dict[tuple[str, str], dict[str, dict[int, LayerVersion]]] = {}
        #: next version number per "account/region/name" (never reused, even after deletes)
        self.layer_seq: dict[str, int] = {}

    def scope(self, account: str, region: str) -> dict[str, Function]:
        return self.functions.setdefault((account, region), {})

    def get(self, account: str, region: str, name: str) -> Function | None:
        return self.functions.get((account, region), {}).get(name)

    # -- mutations ------------------------------------------------------------------------------
    def add(self, fn: Function) -> None:
        self.scope(fn.account, fn.region)[fn.name] = fn
        self._hold(fn.latest.blobs)
        self.save(fn)

    def save(self, fn: Function) -> None:
        """Journal the function's own record (its $LATEST configuration, tags, limits)."""
        self.journal.put(NS_FUNCTION, fn.key, orjson.dumps(fn.record()))

    def replace_code(self, fn: Function, blob_id: str) -> None:
        old = fn.latest.code_blob
        self.blobs.incref(blob_id)
        fn.latest.code_blob = blob_id
        self.save(fn)
        self.blobs.decref(old)

    def replace_layers(self, fn: Function, arns: list[str], blobs: list[str]) -> None:
        old = fn.latest.layer_blobs
        self._hold(blobs)
        fn.latest.layers, fn.latest.layer_blobs = list(arns), list(blobs)
        self.save(fn)
        self._release(old)

    def _hold(self, blob_ids: list[str]) -> None:
        for blob_id in blob_ids:
            self.blobs.incref(blob_id)

    def _release(self, blob_ids: list[str]) -> None:
        for blob_id in blob_ids:
            self.blobs.decref(blob_id)

    def add_version(self, fn: Function, config: VersionConfig) -> None:
        fn.versions[config.version] = config
        self._hold(config.blobs)
        self.journal.put(NS_VERSION, f"{fn.key}/{config.version}", orjson.dumps(config.record()))
        self.save(fn)

    def delete_version(self, fn: Function, version: str) -> None:
        config = fn.versions.pop(version)
        self.journal.delete(NS_VERSION, f"{fn.key}/{version}")
        self.delete_provisioned(fn, version)
        self._release(config.blobs)

    def put_alias(self, fn: Function, alias: Alias) -> None:
        fn.aliases[alias.name] = alias
        self.journal.put(NS_ALIAS, f"{fn.key}/{alias.name}", orjson.dumps(alias.record()))

    def delete_alias(self, fn: Function, name: str) -> None:
        fn.aliases.pop(name, None)
        self.journal.delete(NS_ALIAS, f"{fn.key}/{name}")
        self.delete_provisioned(fn, name)

    def put_provisioned(self, fn: Function, config: ProvisionedConfig) -> None:
        fn.provisioned[config.qualifier] = config
        self.journal.put(NS_PROVISIONED, f"{fn.key}/{config.qualifier}", orjson.dumps(config.record()))

    def delete_provisioned(self, fn: Function, qualifier: str) -> None:
        if fn.provisioned.pop(qualifier, None) is not None:
            self.journal.delete(NS_PROVISIONED, f"{fn.key}/{qualifier}")

    def delete(self, fn: Function) -> None:
        for version in list(fn.versions):
            self.delete_version(fn, version)
        for name in list(fn.aliases):
            self.delete_alias(fn, name)
        self.scope(fn.account, fn.region).pop(fn.name, None)
        self.journal.delete(NS_FUNCTION, fn.key)
        self._release(fn.latest.blobs)

    # -- layers ---------------------------------------------------------------------------------
    def layer_versions(self, account: str, region: str, name: str) -> dict[int, LayerVersion]:
        return self.layers.get((account, region), {}).get(name, {})

    def next_layer_version(self, account: str, region: str, name: str) -> int:
        key = f"{account}/{region}/{name}"
        number = self.layer_seq.get(key, 1)
        self.layer_seq[key] = number + 1
        self.journal.put(NS_LAYER_SEQ, key, str(number + 1).encode())
        return number

    def add_layer(self, layer: LayerVersion) -> None:
        self.layers.setdefault((layer.account, layer.region), {}).setdefault(layer.name, {})[layer.version] = layer
        self.blobs.incref(layer.blob)
        self.journal.put(NS_LAYER, f"{layer.account}/{layer.region}/{layer.name}/{layer.version}",
                         orjson.dumps(layer.record()))

    def delete_layer(self, layer: LayerVersion) -> None:
        scope = self.layers.get((layer.account, layer.region), {})
        versions = scope.get(layer.name, {})
        versions.pop(layer.version, None)
        if not versions:
            scope.pop(layer.name, None)
        self.journal.delete(NS_LAYER, f"{layer.account}/{layer.region}/{layer.name}/{layer.version}")
        self.blobs.decref(layer.blob)

    # -- persistence ----------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        by_key: dict[str, Function] = {}
        for key, value in rows.get(NS_FUNCTION, ()):
            fn = Function.from_record(orjson.loads(value))
            self.scope(fn.account, fn.region)[fn.name] = fn
            by_key[key] = fn
        for key, value in rows.get(NS_VERSION, ()):
            owner = by_key.get(key.rsplit("/", 1)[0])
            if owner is not None:
                config = VersionConfig.from_record(orjson.loads(value))
                owner.versions[config.version] = config
        for key, value in rows.get(NS_ALIAS, ()):
            owner = by_key.get(key.rsplit("/", 1)[0])
            if owner is not None:
                alias = Alias.from_record(orjson.loads(value))
                owner.aliases[alias.name] = alias
        for key, value in rows.get(NS_PROVISIONED, ()):
            owner = by_key.get(key.rsplit("/", 1)[0])
            if owner is not None:
                provisioned = ProvisionedConfig.from_record(orjson.loads(value))
                owner.provisioned[provisioned.qualifier] = provisioned
        for _, value in rows.get(NS_LAYER, ()):
            layer = LayerVersion(**orjson.loads(value))
            self.layers.setdefault((layer.account, layer.region), {}).setdefault(layer.name, {})[layer.version] = layer
        for key, value in rows.get(NS_LAYER_SEQ, ()):
            self.layer_seq[key] = int(value)
        for blob_id in self.code_blobs():
            self.blobs.incref(blob_id)

    def code_blobs(self) -> Iterator[str]:
        for scope in self.functions.values():
            for fn in scope.values():
                yield from fn.latest.blobs
                for config in fn.versions.values():
                    yield from config.blobs
        for layer_scope in self.layers.values():
            for versions in layer_scope.values():
                for layer in versions.values():
                    yield layer.blob

    def all(self) -> Iterator[Function]:
        for scope in self.functions.values():
            yield from scope.values()

    def reset(self) -> None:
        self.functions.clear()
        self.layers.clear()
        self.layer_seq.clear()
