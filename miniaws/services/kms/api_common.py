"""What every KMS operation shares: the wiring, input decoding, key lookup by any of the four KeyId forms with
AWS's errors, key-state and key-usage checks, KeyMetadata, key creation (also for seeds) and pagination.
"""
from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson

from miniaws.config import Config
from miniaws.core.clock import Clock
from miniaws.core.context import RequestContext
from miniaws.services.base import Service
from miniaws.services.kms import algorithms
from miniaws.services.kms._spec import SPEC
from miniaws.services.kms.errors import (DisabledException, DryRunOperationException, InvalidKeyUsageException,
                                         InvalidMarkerException, KMSInvalidStateException, NotFoundException)
from miniaws.services.kms.identifiers import BadArn, alias_arn, is_key_id, key_arn, parse_key_ref, partition
from miniaws.services.kms.models import DISABLED, PENDING_DELETION, Alias, Key, KeySpace, KmsStore
from miniaws.services.kms.rootkey import ROOT_KEY_FILE, RootKey
from miniaws.services.kms.seed import SeedKey, load_seed_file
from miniaws.services.kms.validation import encode_output, parse_input
from miniaws.state.journal import Journal

T = TypeVar("T")


def default_policy(account: str, region: str) -> str:
    """The key policy AWS gives a key created without one (https://docs.aws.amazon.com/kms/latest/developerguide/
    key-policy-default.html): the account's IAM policies decide who may use the key."""
    root = f"arn:{partition(region)}:iam::{account}:root"
    return json.dumps({"Version": "2012-10-17", "Id": "key-default-1", "Statement": [{
        "Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": root},
        "Action": "kms:*", "Resource": "*"}]}, indent=2)


class KmsBase(Service):
    name = "kms"
    protocol = "json"
    spec = SPEC

    def __init__(self, config: Config, clock: Clock, journal: Journal) -> None:
        self.config = config
        self.clock = clock
        root_path = None if config.ephemeral else config.data_path.resolve() / ROOT_KEY_FILE
        self.store = KmsStore(journal, RootKey(root_path))
        # read now so a broken seed file stops the server at start, naming the problem
        self.seeds: list[SeedKey] = (load_seed_file(config.kms_seed_file, config.account_id, config.region)
                                     if config.kms_seed_file else [])

    async def call(self, operation_name: str, ctx: RequestContext, params: dict[str, Any]) -> Any:
        if operation_name in self.operations:
            params = parse_input(operation_name, params)
        return encode_output(await super().call(operation_name, ctx, params))

    # -- lifecycle ------------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        self.store.restore(rows)
        self._plant_seeds()

    def reset(self) -> None:
        self.store.reset()
        self._plant_seeds()

    def _plant_seeds(self) -> None:
        """Seeded keys exist at start; once changed they are journaled and the journal's version wins."""
        now = self.clock.now()
        for seed in self.seeds:
            space = self.store.space(seed.account, seed.region)
            if seed.key_id not in space.keys:
                self.new_key(seed.account, seed.region, seed.spec, seed.usage, seed.material, seed.key_id,
                             now, description=seed.description, persist=False)
            for name in seed.aliases:
                if name not in space.aliases:
                    space.aliases[name] = Alias(name, seed.key_id, now, now)

    # -- keys -----------------------------------------------------------------------------------
    def new_key(self, account: str, region: str, spec: str, usage: str, material: bytes, key_id: str,
                now: float, *, description: str = "", policy: str | None = None, tags: dict[str, str] | None = None,
                multi_region: bool = False, manager: str = "CUSTOMER", persist: bool = True) -> Key:
        key = Key(key_id, account, region, now, spec, usage, policy or default_policy(account, region),
                  description=description, multi_region=multi_region, manager=manager, tags=dict(tags or {}))
        self.store.add_version(key, material, now, None)
        self.store.add_key(key, persist=persist)
        return key

    def space_of(self, account: str, region: str) -> KeySpace:
        space = self.store.space(account, region)
        self.store.tick(space, self.clock.now())
        return space

    def space(self, ctx: RequestContext) -> KeySpace:
        return self.space_of(ctx.account_id, ctx.region)

    def find_key(self, account: str, region: str, text: str, *, aliases: bool = True,
                 cross_account: bool = False) -> Key:
        """The key a KeyId parameter names: key id, key ARN, alias name or alias ARN (aliases=False: ids only)."""
        try:
            ref = parse_key_ref(text)
        except BadArn:
            raise NotFoundException(f"Invalid arn {text}") from None
        if ref.region is not None and ref.region != region:
            raise NotFoundException(f"Invalid arn {ref.region}")
        owner = ref.account or account
        if owner != account and not cross_account:
            # only the crypto operations accept another account's key (by ARN); management stays in-account
            raise NotFoundException(f"Key '{text}' does not exist")
        space = self.space_of(owner, region)
        key_id = ref.key_id
        if ref.alias is not None:
            if not aliases:
                raise NotFoundException(f"Invalid keyId '{text}'")
            alias = space.aliases.get(ref.alias)
            if alias is None:
                raise NotFoundException(f"Alias '{alias_arn(region, owner, ref.alias)}' is not found.")
            key_id = alias.key_id
        assert key_id is not None
        if not is_key_id(key_id):
            raise NotFoundException(f"Invalid keyId '{key_id}'")
        key = space.keys.get(key_id)
        if key is None:
            raise NotFoundException(f"Key '{key_arn(region, owner, key_id)}' does not exist")
        return key

    def key(self, ctx: RequestContext, text: str, *, aliases: bool = True) -> Key:
        return self.find_key(ctx.account_id, ctx.region, text, aliases=aliases)

    def crypto_key(self, ctx: RequestContext, text: str, operation: str, usage: str) -> Key:
        """A key for a cryptographic operation: any account's key by ARN, enabled, with the right usage."""
        key = self.find_key(ctx.account_id, ctx.region, text, cross_account=True)
        self.check_usable(key)
        check_usage(key, operation, usage)
        return key

    @staticmethod
    def check_usable(key: Key) -> None:
        # https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html, "Table details" [1] and [3]
        if key.state == DISABLED:
            raise DisabledException(f"{key.arn} is disabled.")
        if key.state == PENDING_DELETION:
            raise KMSInvalidStateException(f"{key.arn} is pending deletion.")

    @staticmethod
    def check_not_pending_deletion(key: Key) -> None:
        if key.state == PENDING_DELETION:
            raise KMSInvalidStateException(f"{key.arn} is pending deletion.")

    @staticmethod
    def metadata(key: Key) -> dict[str, Any]:
        """KeyMetadata as DescribeKey and CreateKey return it."""
        meta: dict[str, Any] = {
            "AWSAccountId": key.account, "KeyId": key.key_id, "Arn": key.arn, "CreationDate": key.created,
            "Enabled": key.state == "Enabled", "Description": key.description, "KeyUsage": key.usage,
            "KeyState": key.state, "Origin": key.origin, "KeyManager": key.manager,
            "CustomerMasterKeySpec": key.spec, "KeySpec": key.spec, "MultiRegion": key.multi_region,
        }
        if key.state == PENDING_DELETION:
            meta["DeletionDate"] = key.deletion_date
            meta["PendingDeletionWindowInDays"] = key.pending_window
        for member, values in (("EncryptionAlgorithms", algorithms.encryption_algorithms(key.spec, key.usage)),
                               ("SigningAlgorithms", algorithms.signing_algorithms(key.spec, key.usage)),
                               ("MacAlgorithms", algorithms.mac_algorithms(key.spec)),
                               ("KeyAgreementAlgorithms", algorithms.key_agreement_algorithms(key.usage))):
            if values:
                meta[member] = values
        if algorithms.is_symmetric(key.spec):
            meta["CurrentKeyMaterialId"] = key.current.material_id
        if key.multi_region:
            meta["MultiRegionConfiguration"] = {
                "MultiRegionKeyType": "PRIMARY", "PrimaryKey": {"Arn": key.arn, "Region": key.region},
                "ReplicaKeys": []}
        return meta


def check_usage(key: Key, operation: str, usage: str) -> None:
    if key.usage != usage:
        raise InvalidKeyUsageException(f"{key.arn} key usage is {key.usage} which is not valid for {operation}.")


def incompatible(algorithm: str, key: Key) -> InvalidKeyUsageException:
    return InvalidKeyUsageException(f"Algorithm {algorithm} is incompatible with key spec {key.spec}.")


def dry_run(params: dict[str, Any]) -> None:
    """Everything checked and nothing done: DryRun answers DryRunOperationException instead of a result."""
    if params.get("DryRun"):
        raise DryRunOperationException()


def paginate(items: Sequence[T], sort_key: Callable[[T], list[Any]], params: dict[str, Any], default_limit: int,
             max_limit: int) -> tuple[list[T], dict[str, Any]]:
    """One page of `items` (already in `sort_key` order) and its Truncated/NextMarker members.

    The marker carries the sort key of the last item returned, so deleting items between pages skips nothing.
    """
    limit = min(params.get("Limit") or default_limit, max_limit)
    start = 0
    marker = params.get("Marker")
    if marker:
        try:
            after = orjson.loads(base64.urlsafe_b64decode(marker.encode("ascii")))
            start = bisect.bisect_right([sort_key(item) for item in items], after)
        except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
            raise InvalidMarkerException() from None
    page = list(items[start:start + limit])
    truncated = start + limit < len(items)
    extra: dict[str, Any] = {"Truncated": truncated}
    if truncated and page:
        extra["NextMarker"] = base64.urlsafe_b64encode(orjson.dumps(sort_key(page[-1]))).decode("ascii")
    return page, extra
