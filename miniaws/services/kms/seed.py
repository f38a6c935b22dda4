"""Deterministic KMS keys for tests: keys with a chosen KeyId and key material, declared in a TOML seed file
(config `kms_seed_file`, example in conf/kms-seed.toml) or requested on CreateKey with tags (see TAG_KEY_ID).

Because ciphertexts name only the key id and material version, a ciphertext made under a seeded key decrypts
on any server seeded with the same file — across restarts, --ephemeral servers and machines.
"""
from __future__ import annotations

import base64
import binascii
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from miniaws.services.kms import algorithms
from miniaws.services.kms.identifiers import ALIAS_PREFIX, AWS_ALIAS_PREFIX, is_key_id

#: CreateKey tag asking for this KeyId (a UUID, or mrk-<32 hex> with MultiRegion); never stored as a tag
TAG_KEY_ID = "miniaws:key-id"
#: CreateKey tag carrying the key material, base64: 32 bytes (SYMMETRIC_DEFAULT), the HMAC key length, or a
#: PKCS#8 DER private key (ECC; RSA keys do not fit a 256-character tag value: use the seed file). Never stored.
TAG_KEY_MATERIAL = "miniaws:key-material"


class SeedError(ValueError):
    """A seed file or seed tag that cannot be used; the message names the problem (never the material)."""


@dataclass(frozen=True, slots=True)
class SeedKey:
    key_id: str
    account: str
    region: str
    spec: str
    usage: str
    material: bytes = field(repr=False)
    description: str = ""
    aliases: tuple[str, ...] = ()


def decode_material(spec: str, text: str, where: str) -> bytes:
    """Key material from base64 text, or PEM text for private keys, checked against `spec`."""
    raw: bytes
    if text.lstrip().startswith("-----BEGIN"):
        raw = text.strip().encode("ascii")
    else:
        try:
            raw = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise SeedError(f"{where}: key material is neither base64 nor PEM") from None
    try:
        return algorithms.check_material(spec, raw)
    except ValueError as exc:
        raise SeedError(f"{where}: {exc}") from None


def default_usage(spec: str) -> str:
    usages = algorithms.KEY_USAGES.get(spec)
    if usages is None:
        raise SeedError(f"unsupported key_spec {spec!r}")
    return usages[0]


def _seed(entry: dict[str, Any], index: int, path: str, account: str, region: str) -> SeedKey:
    where = f"{path} [[key]] #{index}"
    key_id = str(entry.get("id", ""))
    if not is_key_id(key_id):
        raise SeedError(f"{where}: id must be a UUID or mrk-<32 hex digits>, got {key_id!r}")
    spec = str(entry.get("key_spec", algorithms.SYMMETRIC_DEFAULT))
    try:
        usage = str(entry.get("key_usage") or default_usage(spec))
    except SeedError as exc:
        raise SeedError(f"{where}: {exc}") from None
    if usage not in algorithms.KEY_USAGES[spec]:
        raise SeedError(f"{where}: key_usage {usage} is not compatible with key_spec {spec}")
    text = entry.get("material")
    if not isinstance(text, str):
        raise SeedError(f"{where}: material (base64, or PEM for a private key) is required")
    aliases = tuple(str(a) for a in entry.get("aliases", ()))
    for alias in aliases:
        if not alias.startswith(ALIAS_PREFIX) or alias.startswith(AWS_ALIAS_PREFIX):
            raise SeedError(f"{where}: alias {alias!r} must start with alias/ and not alias/aws/")
    return SeedKey(key_id, str(entry.get("account", account)), str(entry.get("region", region)), spec, usage,
                   decode_material(spec, text, where), str(entry.get("description", "")), aliases)


def load_seed_file(path: str, account: str, region: str) -> list[SeedKey]:
    """Parse the seed file; `account` and `region` are the defaults for entries that do not name theirs."""
    try:
        with Path(path).open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise SeedError(f"cannot read KMS seed file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SeedError(f"{path}: {exc}") from None
    entries = data.get("key", [])
    if not isinstance(entries, list):
        raise SeedError(f"{path}: keys are declared as [[key]] tables")
    seeds = [_seed(entry, i, path, account, region) for i, entry in enumerate(entries, 1)]
    seen: set[tuple[str, str, str]] = set()
    for seed in seeds:
        ident = (seed.account, seed.region, seed.key_id)
        if ident in seen:
            raise SeedError(f"{path}: key {seed.key_id} is declared twice")
        seen.add(ident)
    return seeds
