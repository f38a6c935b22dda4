"""KMS aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases. An alias names one key in its account and
region; every operation that takes a KeyId also takes `alias/name` and the alias ARN.
"""
from __future__ import annotations

import re
from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.kms.api_common import KmsBase, paginate
from miniaws.services.kms.errors import (AlreadyExistsException, NotAuthorizedException, NotFoundException,
                                         ValidationException)
from miniaws.services.kms.identifiers import ALIAS_PREFIX, AWS_ALIAS_PREFIX, alias_arn
from miniaws.services.kms.models import Alias, KeySpace

_ALIAS_NAME = re.compile(r"[a-zA-Z0-9:/_-]+")


def check_alias_name(name: str) -> None:
    """https://docs.aws.amazon.com/kms/latest/developerguide/alias-create.html: alias/ prefix, 1-256 characters
    of letters, digits, /, _ and -; alias/aws/ is reserved for AWS managed keys."""
    if not name.startswith(ALIAS_PREFIX):
        raise ValidationException('Alias must start with the prefix "alias/". Please see '
                                  "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html")
    if name.startswith(AWS_ALIAS_PREFIX):
        raise NotAuthorizedException(f"Cannot create alias with prefix '{AWS_ALIAS_PREFIX}'")
    if not _ALIAS_NAME.fullmatch(name) or name == ALIAS_PREFIX:
        raise ValidationException(f"1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy "
                                  "constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$")


class AliasOperations(KmsBase):
    def _existing(self, ctx: RequestContext, space: KeySpace, name: str) -> Alias:
        alias = space.aliases.get(name)
        if alias is None:
            raise NotFoundException(f"Alias '{alias_arn(ctx.region, ctx.account_id, name)}' is not found.")
        return alias

    @operation("CreateAlias")
    def create_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html"""
        name = params["AliasName"]
        check_alias_name(name)
        key = self.key(ctx, params["TargetKeyId"], aliases=False)
        self.check_not_pending_deletion(key)
        space = self.space(ctx)
        if name in space.aliases:
            raise AlreadyExistsException(f"An alias with the name {alias_arn(ctx.region, ctx.account_id, name)} "
                                         "already exists")
        now = ctx.clock.now()
        self.store.put_alias(space, Alias(name, key.key_id, now, now))
        return {}

    @operation("UpdateAlias")
    def update_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["AliasName"]
        if name.startswith(AWS_ALIAS_PREFIX):
            raise NotAuthorizedException(f"Cannot update alias with prefix '{AWS_ALIAS_PREFIX}'")
        space = self.space(ctx)
        alias = self._existing(ctx, space, name)
        key = self.key(ctx, params["TargetKeyId"], aliases=False)
        # the new target may not be pending deletion (key-state.html, note [10])
        self.check_not_pending_deletion(key)
        current = space.keys.get(alias.key_id)
        # an alias may only move between keys of the same type and usage (API_UpdateAlias.html)
        if current is not None and (current.spec != key.spec or current.usage != key.usage):
            raise ValidationException(f"Alias {name} cannot be changed from a {current.spec} {current.usage} key "
                                      f"to a {key.spec} {key.usage} key: the keys must have the same key spec "
                                      "and key usage")
        self.store.put_alias(space, Alias(name, key.key_id, alias.created, ctx.clock.now()))
        return {}

    @operation("DeleteAlias")
    def delete_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["AliasName"]
        if name.startswith(AWS_ALIAS_PREFIX):
            raise NotAuthorizedException(f"Cannot delete alias with prefix '{AWS_ALIAS_PREFIX}'")
        space = self.space(ctx)
        self._existing(ctx, space, name)
        self.store.delete_alias(space, name)
        return {}

    @operation("ListAliases")
    def list_aliases(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        space = self.space(ctx)
        aliases = sorted(space.aliases.values(), key=lambda a: a.name)
        if params.get("KeyId"):
            key = self.key(ctx, params["KeyId"], aliases=False)
            aliases = [a for a in aliases if a.key_id == key.key_id]
        page, extra = paginate(aliases, lambda a: [a.name], params, default_limit=50, max_limit=100)
        return {"Aliases": [a.wire(ctx.region, ctx.account_id) for a in page], **extra}
