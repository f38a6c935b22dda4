"""Tag sets for objects and buckets: parsing x-amz-tagging and TagSet bodies, and S3's limits.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html: at most 10 tags per object (50 per
bucket), unique keys of up to 128 characters, values of up to 256, none of them under the reserved `aws:` prefix.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from miniaws.services.s3.errors import BadRequest, InvalidArgument, InvalidTag

MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50
_ALLOWED = re.compile(r"^[\w\s+\-=.:/@]*$", re.UNICODE)


def check_tags(pairs: list[tuple[str, str]], limit: int) -> dict[str, str]:
    """Validate (key, value) pairs in order; the tag set as an ordered dict."""
    if len(pairs) > limit:
        if limit == MAX_OBJECT_TAGS:
            raise BadRequest("Object tags cannot be greater than 10")
        raise InvalidTag(f"Bucket tag count cannot be greater than {limit}")
    tags: dict[str, str] = {}
    for key, value in pairs:
        if key in tags:
            raise InvalidTag("Cannot provide multiple Tags with the same key", TagKey=key)
        if not key or len(key) > 128:
            raise InvalidTag("The TagKey you have provided is too long, max 128" if key else
                             "The TagKey you have provided is invalid", TagKey=key)
        if len(value) > 256:
            raise InvalidTag("The TagValue you have provided is too long, max 256", TagKey=key, TagValue=value)
        if not _ALLOWED.match(key):
            raise InvalidTag("The TagKey you have provided is invalid", TagKey=key)
        if not _ALLOWED.match(value):
            raise InvalidTag("The TagValue you have provided is invalid", TagKey=key, TagValue=value)
        if key.lower().startswith("aws:"):
            raise InvalidTag("Your TagKey cannot be prefixed with aws:", TagKey=key)
        tags[key] = value
    return tags


def header_tags(text: str) -> dict[str, str]:
    """x-amz-tagging: URL query encoded `key1=value1&key2=value2`."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        raise InvalidArgument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query "
                              "parameters without tag name duplicates.", ArgumentName="x-amz-tagging",
                              ArgumentValue=text) from None
    return check_tags(pairs, MAX_OBJECT_TAGS)


def body_tags(tagging: dict[str, Any] | None, limit: int) -> dict[str, str]:
    """A Tagging body's TagSet."""
    tag_set = (tagging or {}).get("TagSet") or []
    return check_tags([(str(t.get("Key", "")), str(t.get("Value", ""))) for t in tag_set], limit)


def tag_set(tags: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
