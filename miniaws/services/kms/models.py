"""KMS state: keys (with every version of their material and their grants) and aliases, per account and region,
and their journal records. Synchronous; material is wrapped under the root key before it is journaled.

Time-driven changes happen lazily when a region's keys are next touched (`tick`): a key whose deletion date has
passed is deleted, and a key whose automatic rotation is due rotates, dated when it was due.
"""
from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from miniaws.services.kms import algorithms
from miniaws.services.kms.identifiers import alias_arn, key_arn
from miniaws.services.kms.rootkey import RootKey
from miniaws.state.journal import Journal

NS_KEY = "kms.key"
NS_ALIAS = "kms.alias"
DAY = 86400.0

ENABLED = "Enabled"
DISABLED = "Disabled"
PENDING_DELETION = "PendingDeletion"


@dataclass(slots=True)
class KeyVersion:
    """One generation of a key's material; ciphertexts name the version they were made with."""

    number: int
    created: float
    #: None for the key's original material, else AUTOMATIC or ON_DEMAND
    rotation_type: str | None
    material_id: str
    material: bytes = field(repr=False)
    wrapped: bytes = field(repr=False)
    _loaded: Any = field(default=None, repr=False)

    def cipher(self) -> AESGCM:
        if self._loaded is None:
            self._loaded = AESGCM(self.material)
        cipher: AESGCM = self._loaded
        return cipher

    def private_key(self) -> algorithms.PrivateKey:
        if self._loaded is None:
            self._loaded = algorithms.load_private_key(self.material)
        key: algorithms.PrivateKey = self._loaded
        return key

    def record(self) -> list[Any]:
        return [self.number, self.created, self.rotation_type, self.material_id,
                base64.b64encode(self.wrapped).decode("ascii")]


@dataclass(slots=True)
class Grant:
    grant_id: str
    name: str | None
    grantee: str | None
    retiring: str | None
    operations: list[str]
    constraints: dict[str, Any] | None
    created: float
    issuing_account: str

    def record(self) -> dict[str, Any]:
        return {"i": self.grant_id, "n": self.name, "ge": self.grantee, "rp": self.retiring,
                "op": self.operations, "c": self.constraints, "t": self.created, "ia": self.issuing_account}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "Grant":
        return cls(r["i"], r["n"], r["ge"], r["rp"], r["op"], r["c"], r["t"], r["ia"])


@dataclass(slots=True)
class Key:
    key_id: str
    account: str
    region: str
    created: float
    spec: str
    usage: str
    policy: str
    description: str = ""
    origin: str = "AWS_KMS"
    manager: str = "CUSTOMER"
    multi_region: bool = False
    state: str = ENABLED
    deletion_date: float | None = None
    pending_window: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    versions: list[KeyVersion] = field(default_factory=list, repr=False)
    rotation_enabled: bool = False
    rotation_period: int | None = None
    next_rotation: float | None = None
    grants: dict[str, Grant] = field(default_factory=dict)
    arn: str = ""

    def __post_init__(self) -> None:
        self.arn = key_arn(self.region, self.account, self.key_id)

    @property
    def storage_key(self) -> str:
        return f"{self.account}/{self.region}/{self.key_id}"

    @property
    def current(self) -> KeyVersion:
        return self.versions[-1]

    def version(self, number: int) -> KeyVersion | None:
        return self.versions[number] if 0 <= number < len(self.versions) else None

    def on_demand_rotations(self) -> int:
        return sum(1 for v in self.versions if v.rotation_type == "ON_DEMAND")

    def record(self) -> dict[str, Any]:
        return {
            "id": self.key_id, "a": self.account, "r": self.region, "t": self.created, "s": self.spec,
            "u": self.usage, "p": self.policy, "d": self.description, "o": self.origin, "m": self.manager,
            "mr": self.multi_region, "st": self.state, "dd": self.deletion_date, "pw": self.pending_window,
            "tg": list(self.tags.items()), "v": [v.record() for v in self.versions],
            "re": self.rotation_enabled, "rp": self.rotation_period, "nr": self.next_rotation,
            "g": [g.record() for g in self.grants.values()],
        }

    @classmethod
    def from_record(cls, r: dict[str, Any], versions: list[KeyVersion]) -> "Key":
        return cls(key_id=r["id"], account=r["a"], region=r["r"], created=r["t"], spec=r["s"], usage=r["u"],
                   policy=r["p"], description=r["d"], origin=r["o"], manager=r["m"], multi_region=r["mr"],
                   state=r["st"], deletion_date=r["dd"], pending_window=r["pw"], tags=dict(r["tg"]),
                   versions=versions, rotation_enabled=r["re"], rotation_period=r["rp"], next_rotation=r["nr"],
                   grants={g["i"]: Grant.from_record(g) for g in r["g"]})


@dataclass(slots=True)
class Alias:
    name: str
    key_id: str
    created: float
    updated: float

    def record(self) -> dict[str, Any]:
        return {"n": self.name, "k": self.key_id, "t": self.created, "u": self.updated}

    def wire(self, region: str, account: str) -> dict[str, Any]:
        return {"AliasName": self.name, "AliasArn": alias_arn(region, account, self.name),
                "TargetKeyId": self.key_id, "CreationDate": self.created, "LastUpdatedDate": self.updated}


@dataclass(slots=True)
class KeySpace:
    """The keys and aliases of one account in one region (KMS resources are regional)."""

    account: str
    region: str
    keys: dict[str, Key] = field(default_factory=dict)
    aliases: dict[str, Alias] = field(default_factory=dict)
    #: the earliest pending deletion or automatic rotation; `tick` does nothing before it
    next_due: float = math.inf


def _version_label(key: Key, number: int) -> str:
    return f"{key.storage_key}/{number}"


class KmsStore:
    """Every key space; each mutation is journaled (the key record carries its versions and grants)."""

    def __init__(self, journal: Journal, root: RootKey) -> None:
        self.journal = journal
        self.root = root
        self.spaces: dict[tuple[str, str], KeySpace] = {}

    def space(self, account: str, region: str) -> KeySpace:
        found = self.spaces.get((account, region))
        if found is None:
            found = self.spaces[(account, region)] = KeySpace(account, region)
        return found

    # -- keys -----------------------------------------------------------------------------------
    def add_version(self, key: Key, material: bytes, created: float, rotation_type: str | None) -> KeyVersion:
        number = len(key.versions)
        version = KeyVersion(number, created, rotation_type, algorithms.material_id(key.key_id, number, material),
                             material, self.root.wrap(material, _version_label(key, number)))
        key.versions.append(version)
        return version

    def add_key(self, key: Key, persist: bool = True) -> None:
        """Store a new key; seeded keys are not journaled until they change (the seed recreates them)."""
        space = self.space(key.account, key.region)
        space.keys[key.key_id] = key
        if persist:
            self.save(key)
        self.refresh_due(space)

    def save(self, key: Key) -> None:
        self.journal.put(NS_KEY, key.storage_key, orjson.dumps(key.record()))

    def delete_key(self, space: KeySpace, key: Key) -> None:
        """Delete a key for good: its aliases go with it, and its ciphertexts can never be decrypted again."""
        del space.keys[key.key_id]
        self.journal.delete(NS_KEY, key.storage_key)
        for alias in [a for a in space.aliases.values() if a.key_id == key.key_id]:
            self.delete_alias(space, alias.name)

    # -- aliases --------------------------------------------------------------------------------
    def put_alias(self, space: KeySpace, alias: Alias) -> None:
        space.aliases[alias.name] = alias
        self.journal.put(NS_ALIAS, f"{space.account}/{space.region}/{alias.name}", orjson.dumps(alias.record()))

    def delete_alias(self, space: KeySpace, name: str) -> None:
        if space.aliases.pop(name, None) is not None:
            self.journal.delete(NS_ALIAS, f"{space.account}/{space.region}/{name}")

    # -- time -----------------------------------------------------------------------------------
    def rotate(self, key: Key, when: float, rotation_type: str) -> KeyVersion:
        version = self.add_version(key, algorithms.generate_material(key.spec), when, rotation_type)
        self.save(key)
        return version

    def refresh_due(self, space: KeySpace) -> None:
        due = math.inf
        for key in space.keys.values():
            if key.state == PENDING_DELETION and key.deletion_date is not None:
                due = min(due, key.deletion_date)
            elif key.state == ENABLED and key.rotation_enabled and key.next_rotation is not None:
                due = min(due, key.next_rotation)
        space.next_due = due

    def tick(self, space: KeySpace, now: float) -> None:
        """Apply every deletion and automatic rotation that fell due before `now`."""
        if now < space.next_due:
            return
        for key in list(space.keys.values()):
            if key.state == PENDING_DELETION and key.deletion_date is not None and key.deletion_date <= now:
                self.delete_key(space, key)
                continue
            # AWS does not rotate a disabled key; once re-enabled, an overdue rotation happens at once
            while (key.state == ENABLED and key.rotation_enabled and key.next_rotation is not None
                   and key.rotation_period and key.next_rotation <= now):
                when = key.next_rotation
                key.next_rotation = when + key.rotation_period * DAY
                self.rotate(key, when, "AUTOMATIC")
        self.refresh_due(space)

    # -- persistence ----------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        for _, value in rows.get(NS_KEY, ()):
            record = orjson.loads(value)
            key = Key.from_record(record, [])
            for number, created, rotation_type, material_id, wrapped_text in record["v"]:
                wrapped = base64.b64decode(wrapped_text)
                material = self.root.unwrap(wrapped, _version_label(key, number))
                key.versions.append(KeyVersion(number, created, rotation_type, material_id, material, wrapped))
            self.space(key.account, key.region).keys[key.key_id] = key
        for storage_key, value in rows.get(NS_ALIAS, ()):
            account, region, _ = storage_key.split("/", 2)
            record = orjson.loads(value)
            self.space(account, region).aliases[record["n"]] = Alias(record["n"], record["k"], record["t"],
                                                                     record["u"])
        for space in self.spaces.values():
            self.refresh_due(space)

    def reset(self) -> None:
        self.spaces.clear()
