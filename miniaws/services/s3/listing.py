"""Listing: ListObjects (v1, v2), ListObjectVersions, ListMultipartUploads and ListParts pages, in S3's order and
paging rules.

Keys are kept sorted in UTF-8 binary order; a page starts with a bisect, so listing is O(page), not O(bucket).
"""
from __future__ import annotations

import base64
import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

from miniaws.services.s3.errors import InvalidArgument
from miniaws.services.s3.models import Bucket, Part, S3Object, Upload, sort_key


@dataclass(slots=True)
class Page:
    objects: list[S3Object] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    #: the last key or common prefix returned (next marker / continuation point)
    last: str | None = None


def list_page(bucket: Bucket, prefix: str, delimiter: str, after: str | None, max_keys: int) -> Page:
    """Objects and CommonPrefixes after `after` (exclusive), rolled up at `delimiter`, at most max_keys entries."""
    page = Page()
    if max_keys == 0:
        page.truncated = _any_after(bucket, prefix, after)
        return page
    keys = bucket.keys
    start = prefix
    if after is not None and sort_key(after) >= sort_key(prefix):
        index = bisect.bisect_right(keys, sort_key(after), key=sort_key)
    else:
        index = bisect.bisect_left(keys, sort_key(start), key=sort_key)
    if not delimiter:
        # no roll-up: the page is one slice of the sorted keys
        end = _prefix_end(keys, prefix) if prefix else len(keys)
        stop = min(index + max_keys, end) if index < end else index
        objects = bucket.objects
        page.objects = [objects[key] for key in keys[index:stop]]
        page.truncated = stop < end
        page.last = keys[stop - 1] if stop > index else None
        return page
    count = 0
    total = len(keys)
    plen = len(prefix)
    while index < total:
        key = keys[index]
        if not key.startswith(prefix):
            break
        if delimiter:
            cut = key.find(delimiter, plen)
            if cut >= 0:
                common = key[: cut + len(delimiter)]
                if after is not None and sort_key(common) <= sort_key(after):
                    # continuing after a common prefix: skip everything under it
                    index = _skip_prefix(keys, common, index)
                    continue
                if count == max_keys:
                    page.truncated = True
                    return page
                page.prefixes.append(common)
                page.last = common
                count += 1
                index = _skip_prefix(keys, common, index)
                continue
        if count == max_keys:
            page.truncated = True
            return page
        page.objects.append(bucket.objects[key])
        page.last = key
        count += 1
        index += 1
    return page


@dataclass(slots=True)
class VersionsPage:
    versions: list[S3Object] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    next_key: str | None = None
    next_version: str | None = None


def versions_page(bucket: Bucket, prefix: str, delimiter: str, key_marker: str | None,
                  version_marker: str | None, max_keys: int) -> VersionsPage:
    """Every version and delete marker, by key and then newest first, after (key-marker, version-id-marker).

    https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html: without a version-id-marker the
    page starts after every version of key-marker; with one, after that version of key-marker.
    """
    page = VersionsPage()
    keys = bucket.version_keys
    if key_marker and sort_key(key_marker) >= sort_key(prefix):
        finder = bisect.bisect_left if version_marker else bisect.bisect_right
        index = finder(keys, sort_key(key_marker), key=sort_key)
    else:
        index = bisect.bisect_left(keys, sort_key(prefix), key=sort_key)
    count = 0
    plen = len(prefix)
    while index < len(keys):
        key = keys[index]
        if not key.startswith(prefix):
            break
        if delimiter:
            cut = key.find(delimiter, plen)
            if cut >= 0:
                common = key[: cut + len(delimiter)]
                index = _skip_prefix(keys, common, index)
                if key_marker is not None and sort_key(common) <= sort_key(key_marker):
                    continue
                if count == max_keys:
                    page.truncated = True
                    return page
                page.prefixes.append(common)
                page.next_key, page.next_version = common, None
                count += 1
                continue
        stack = bucket.versions[key]
        start = 0
        if key == key_marker and version_marker:
            start = next((i + 1 for i, v in enumerate(stack) if v.version_id == version_marker), 0)
        for version in stack[start:]:
            if count == max_keys:
                page.truncated = True
                return page
            page.versions.append(version)
            page.next_key, page.next_version = key, version.version_id
            count += 1
        index += 1
    return page


def _prefix_end(keys: list[str], prefix: str) -> int:
    """Index just past the last key that starts with `prefix` (UTF-8 never contains the byte 0xff)."""
    return bisect.bisect_right(keys, prefix.encode("utf-8", "surrogatepass") + b"\xff", key=sort_key)


def _skip_prefix(keys: list[str], common: str, index: int) -> int:
    """Index of the first key after every key that starts with `common`."""
    return max(_prefix_end(keys, common), index + 1)


def _any_after(bucket: Bucket, prefix: str, after: str | None) -> bool:
    keys = bucket.keys
    index = bisect.bisect_left(keys, sort_key(prefix), key=sort_key)
    if after is not None:
        index = max(index, bisect.bisect_right(keys, sort_key(after), key=sort_key))
    return index < len(keys) and keys[index].startswith(prefix)


def encode_token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("utf-8", "surrogatepass")).decode()


def decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode("utf-8", "surrogatepass")
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument("The continuation token provided is incorrect",
                              ArgumentName="continuation-token") from None


def url_encode(value: str) -> str:
    """encoding-type=url: S3 percent-encodes keys so XML-unsafe characters survive; SDKs decode them back."""
    return quote(value, safe="/")


def iter_uploads(bucket: Bucket, prefix: str, key_marker: str | None,
                 upload_id_marker: str | None) -> Iterator[Upload]:
    """In-progress uploads ordered by key, then by initiation time, after the markers."""
    ordered = sorted(bucket.uploads.values(), key=lambda u: (sort_key(u.key), u.initiated, u.upload_id))
    for upload in ordered:
        if not upload.key.startswith(prefix):
            continue
        if key_marker is not None:
            if sort_key(upload.key) < sort_key(key_marker):
                continue
            if upload.key == key_marker:
                if not upload_id_marker:
                    continue
                if (upload.initiated, upload.upload_id) <= _marker_position(bucket, upload_id_marker):
                    continue
        yield upload


def _marker_position(bucket: Bucket, upload_id: str) -> tuple[float, str]:
    marker = bucket.uploads.get(upload_id)
    return (marker.initiated, marker.upload_id) if marker else (float("-inf"), upload_id)


def parts_page(upload: Upload, marker: int, max_parts: int) -> tuple[list[Part], bool]:
    numbers = sorted(n for n in upload.parts if n > marker)
    chosen = numbers[:max_parts]
    return [upload.parts[n] for n in chosen], len(numbers) > len(chosen)
