"""Conditional requests and byte ranges for S3 reads, copies and writes.

Precedence follows RFC 9110 §13.2.2 as S3 documents it (https://docs.aws.amazon.com/AmazonS3/latest/API/
API_GetObject.html): If-Match beats If-Unmodified-Since; If-None-Match beats If-Modified-Since.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from miniaws.core.timestamps import parse_http_date
from miniaws.services.s3.errors import HeaderNotImplemented, InvalidRange, NoSuchKey, NotModified, PreconditionFailed
from miniaws.services.s3.models import S3Object

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def _etag_matches(header: str, etag: str) -> bool:
    candidates = [c.strip() for c in header.split(",")]
    bare = etag.strip('"')
    return any(c == "*" or c.strip('"') == bare for c in candidates)


def _as_epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return parse_http_date(str(value))


def check_read(obj: S3Object, if_match: str | None, if_none_match: str | None, if_modified_since: Any,
               if_unmodified_since: Any, *, copy_source: bool = False) -> None:
    """GET/HEAD (and copy-source) preconditions; raises PreconditionFailed or NotModified."""
    modified = int(obj.last_modified)
    headers = {"ETag": obj.etag, "Last-Modified": obj.last_modified_http}
    match_ok: bool | None = None
    if if_match is not None:
        match_ok = _etag_matches(if_match, obj.etag)
        if not match_ok:
            raise PreconditionFailed(Condition="If-Match" if not copy_source else "x-amz-copy-source-If-Match")
    since = _as_epoch(if_unmodified_since)
    if since is not None and match_ok is None and modified > since:
        raise PreconditionFailed(Condition="If-Unmodified-Since" if not copy_source
                                 else "x-amz-copy-source-If-Unmodified-Since")
    none_match_failed: bool | None = None
    if if_none_match is not None:
        none_match_failed = _etag_matches(if_none_match, obj.etag)
        if none_match_failed:
            if copy_source:
                raise PreconditionFailed(Condition="x-amz-copy-source-If-None-Match")
            raise NotModified(headers=headers)
    since = _as_epoch(if_modified_since)
    if since is not None and none_match_failed is None and modified <= since:
        if copy_source:
            raise PreconditionFailed(Condition="x-amz-copy-source-If-Modified-Since")
        raise NotModified(headers=headers)


def check_write(existing: S3Object | None, if_match: str | None, if_none_match: str | None, key: str) -> None:
    """Conditional writes: If-None-Match: * refuses to overwrite; If-Match requires the current ETag."""
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            raise HeaderNotImplemented(Header="If-None-Match")
        if existing is not None:
            raise PreconditionFailed(Condition="If-None-Match")
    if if_match is not None:
        if existing is None:
            raise NoSuchKey(Key=key)
        if not _etag_matches(if_match, existing.etag):
            raise PreconditionFailed(Condition="If-Match")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, length) for a satisfiable single range, None to send the whole object.

    S3 ignores a Range it cannot parse (and multi-range requests) and answers 200 with the whole object;
    a syntactically valid but unsatisfiable range is 416 InvalidRange.
    """
    if not header:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        suffix = int(last)
        if suffix == 0:
            raise InvalidRange(RangeRequested=header, ActualObjectSize=str(size))
        start = max(size - suffix, 0)
        return (start, size - start) if size else None
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise InvalidRange(RangeRequested=header, ActualObjectSize=str(size))
    end = min(end, size - 1)
    return start, end - start + 1


def copy_source_conditions(params: Mapping[str, Any]) -> tuple[Any, Any, Any, Any]:
    return (params.get("CopySourceIfMatch"), params.get("CopySourceIfNoneMatch"),
            params.get("CopySourceIfModifiedSince"), params.get("CopySourceIfUnmodifiedSince"))
