"""KMS identifiers: key ids, key and alias ARNs, and parsing the four forms a KeyId parameter may take
(key id, key ARN, alias name, alias ARN — https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id).
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from miniaws.core.arns import partition

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: multi-Region keys have ids like mrk-1234abcd12ab34cd56ef1234567890ab
_MRK = re.compile(r"mrk-[0-9a-f]{32}")
ALIAS_PREFIX = "alias/"
#: reserved for AWS managed keys (https://docs.aws.amazon.com/kms/latest/developerguide/alias-create.html)
AWS_ALIAS_PREFIX = "alias/aws/"


def key_arn(region: str, account: str, key_id: str) -> str:
    return f"arn:{partition(region)}:kms:{region}:{account}:key/{key_id}"


def alias_arn(region: str, account: str, alias_name: str) -> str:
    return f"arn:{partition(region)}:kms:{region}:{account}:{alias_name}"


def is_key_id(text: str) -> bool:
    return bool(_UUID.fullmatch(text) or _MRK.fullmatch(text))


def new_key_id(multi_region: bool) -> str:
    return "mrk-" + uuid.uuid4().hex if multi_region else str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class KeyRef:
    """A parsed KeyId parameter. `alias` is an alias name (alias/…) when the reference names an alias."""

    text: str
    key_id: str | None
    alias: str | None
    region: str | None = None
    account: str | None = None


class BadArn(ValueError):
    """An ARN that does not name a KMS key or alias."""


def parse_key_ref(text: str) -> KeyRef:
    """Classify a KeyId parameter; ARNs keep their region and account for the caller to check."""
    if text.startswith("arn:"):
        parts = text.split(":", 5)
        if len(parts) != 6 or parts[2] != "kms":
            raise BadArn(text)
        region, account, resource = parts[3], parts[4], parts[5]
        if resource.startswith("key/"):
            return KeyRef(text, resource[4:], None, region, account)
        if resource.startswith(ALIAS_PREFIX):
            return KeyRef(text, None, resource, region, account)
        raise BadArn(text)
    if text.startswith(ALIAS_PREFIX):
        return KeyRef(text, None, text)
    return KeyRef(text, text, None)
