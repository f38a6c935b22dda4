"""Configuration: one frozen dataclass, loaded from defaults < conf TOML < MINIAWS_* env < CLI flags.

Every field is documented in conf/miniaws.toml, which a test loads.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

AUTH_MODES = ("off", "enforce")
#: "fsync": an acknowledged write is on disk (survives a power loss or an OS crash); "process": it is handed to the OS
#: before the answer but not flushed (survives the miniaws process dying, kill -9 included, not the machine)
DURABILITY_MODES = ("fsync", "process")
LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the setting and its source."""


@dataclass(frozen=True, slots=True)
class Credential:
    access_key: str
    secret_key: str


@dataclass(frozen=True, slots=True)
class Config:
    #: interface every listener binds; 127.0.0.1 unless told otherwise (secure by default)
    host: str = "127.0.0.1"
    #: the AWS API endpoint; 0 picks a free port and prints it
    port: int = 4566
    #: where durable state lives; None → ./.miniaws in the working directory
    data_dir: str | None = None
    #: keep everything in memory (large object bodies spill to a temp dir that is removed at exit)
    ephemeral: bool = False
    #: with persistence: "fsync" (every acknowledged write flushed to disk) or "process" (written, not flushed)
    durability: str = "fsync"
    log_level: str = "info"
    #: account used for requests whose access key is not 12 digits (LocalStack's default)
    account_id: str = "000000000000"
    region: str = "us-east-1"
    #: "off" accepts any request (like every local emulator); "enforce" verifies SigV4 with `credentials`
    auth: str = "off"
    credentials: tuple[Credential, ...] = ()
    #: multiply the speed of the injected clock (workshop labs); 1.0 is real time
    time_scale: float = 1.0
    #: bodies up to this size are kept in memory and committed inside the journal transaction
    inline_body_limit: int = 64 * 1024
    #: TOML file declaring KMS keys with chosen ids and material (deterministic test fixtures); None: no seeds
    kms_seed_file: str | None = None
    #: Lambda: concurrent executions the account may run (AWS's default quota is 1,000)
    lambda_concurrency_limit: int = 1000
    #: Lambda: seconds an idle execution environment stays warm before it is reaped; 0 = every invoke is cold
    lambda_keep_warm_seconds: float = 600.0
    #: Lambda: simulated provisioning delay added to each cold start (labs that want AWS-like cold starts)
    lambda_cold_start_delay_ms: int = 0
    #: Lambda: delay before the first retry of a failed Event invocation; the second waits twice as long
    lambda_retry_delay_seconds: float = 60.0
    #: Lambda: interpreters for python runtimes, "python3.12=/usr/bin/python3.12,..."; unset: miniaws's own
    lambda_interpreters: str | None = None
    #: DNS server port, UDP and TCP (Route 53 hosted zones answer there); 0 picks a free port and prints it
    dns_port: int = 1053
    #: TOML table of client subnets → region/location for latency and geolocation routing; None: defaults only
    dns_locations_file: str | None = None
    #: seed for weighted and multivalue DNS answers (reproducible tests and labs); None: seeded from the OS
    dns_random_seed: int | None = None
    #: upstream resolver ("127.0.0.1:5353") for names outside the hosted zones; None: those are REFUSED
    dns_forwarder: str | None = None
    #: multiply every health check's interval and timeout by this (0.01: a 10 s check probes every 0.1 s)
    health_check_interval_scale: float = 1.0
    #: CloudFront edge port (every distribution answers there, chosen by Host); 0 picks a free port and prints it
    edge_port: int = 8080
    #: bytes of responses the edge cache may hold before it evicts the least recently used
    edge_cache_bytes: int = 256 * 1024 * 1024
    #: responses larger than this are streamed to the viewer and not cached
    edge_max_object_bytes: int = 32 * 1024 * 1024
    #: a load balancer listener whose port cannot be bound (busy, or < 1024 without root) binds port + this
    #: (80 → 10080), else a free port; 0: straight to a free port
    lb_port_offset: int = 10000

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir) if self.data_dir else Path.cwd() / ".miniaws"

    def replace(self, **changes: Any) -> "Config":
        return dataclasses.replace(self, **changes)


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}
_INT_FIELDS = {"port", "dns_port", "inline_body_limit", "lambda_concurrency_limit", "lambda_cold_start_delay_ms",
               "edge_port", "edge_cache_bytes", "edge_max_object_bytes", "lb_port_offset"}
_FLOAT_FIELDS = {"time_scale", "health_check_interval_scale", "lambda_keep_warm_seconds",
                 "lambda_retry_delay_seconds"}
#: float settings for which 0 is meaningful (keep-warm 0: always cold; retry delay 0: retry at once)
_ZERO_OK = {"lambda_keep_warm_seconds", "lambda_retry_delay_seconds"}
_BOOL_FIELDS = {"ephemeral"}
#: integer settings that may be unset (None)
_OPTIONAL_INT_FIELDS = {"dns_random_seed"}


def _coerce(name: str, value: Any, source: str) -> Any:
    """Turn a TOML/env/CLI value into the field's type, naming the source on failure."""
    try:
        if name == "credentials":
            return _parse_credentials(value)
        if name in _OPTIONAL_INT_FIELDS and (value is None or str(value).strip() == ""):
            return None
        if name in _INT_FIELDS or name in _OPTIONAL_INT_FIELDS:
            if isinstance(value, bool):
                raise ValueError(value)
            result: Any = int(value)
            if name in ("port", "dns_port", "edge_port", "lb_port_offset") and not 0 <= result <= 65535:
                raise ValueError(value)
            if name in ("edge_cache_bytes", "edge_max_object_bytes") and result < 1:
                raise ValueError(value)
            if name.startswith("lambda_") and result < 0:
                raise ValueError(value)
            return result
        if name in _FLOAT_FIELDS:
            result = float(value)
            if result < 0 or (result == 0 and name not in _ZERO_OK):
                raise ValueError(value)
            return result
        if name in _BOOL_FIELDS:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(value)
        if value is None:
            return None
        text = str(value)
        if name == "auth" and text not in AUTH_MODES:
            raise ValueError(value)
        if name == "durability" and text not in DURABILITY_MODES:
            raise ValueError(value)
        if name == "log_level":
            text = text.lower()
            if text not in LOG_LEVELS:
                raise ValueError(value)
        if name == "dns_forwarder":
            from miniaws.dataplane.dns.forward import parse_upstream
            if not text.strip():
                return None
            parse_upstream(text)
            return text.strip()
        if name == "account_id" and not (len(text) == 12 and text.isdigit()):
            raise ValueError(value)
        return text
    except (TypeError, ValueError):
        raise ConfigError(f"invalid value for {name!r} from {source}: {value!r}") from None


def _parse_credentials(value: Any) -> tuple[Credential, ...]:
    """TOML: [[credentials]] tables or "AKID:SECRET" strings; env: "AKID:SECRET,AKID2:SECRET2"."""
    items: list[Any]
    if isinstance(value, str):
        items = [v for v in value.split(",") if v.strip()]
    else:
        items = list(value)
    creds = []
    for item in items:
        if isinstance(item, Credential):
            creds.append(item)
        elif isinstance(item, Mapping):
            creds.append(Credential(str(item["access_key"]), str(item["secret_key"])))
        else:
            akid, sep, secret = str(item).strip().partition(":")
            if not sep or not akid or not secret:
                raise ValueError(item)
            creds.append(Credential(akid, secret))
    return tuple(creds)


def load_config(config_file: str | os.PathLike[str] | None = None,
                env: Mapping[str, str] | None = None,
                overrides: Mapping[str, Any] | None = None) -> Config:
    """Build the Config: defaults, then the TOML file, then MINIAWS_* variables, then explicit overrides."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    path = config_file or env.get("MINIAWS_CONFIG")
    if path:
        with open(path, "rb") as fh:
            try:
                data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{path}: {exc}") from None
        section = data.get("miniaws", data)
        for key, value in section.items():
            name = key.replace("-", "_")
            if name not in _FIELDS:
                raise ConfigError(f"{path}: unknown setting {key!r}")
            values[name] = _coerce(name, value, str(path))
    for name in _FIELDS:
        var = "MINIAWS_" + name.upper()
        if var in env:
            values[name] = _coerce(name, env[var], var)
    for name, value in (overrides or {}).items():
        if name not in _FIELDS:
            raise ConfigError(f"unknown setting {name!r}")
        if value is not None:
            values[name] = _coerce(name, value, "command line")
    return Config(**values)
