"""What the filter-pattern compilers share: the predicate type, the error AWS's refusals become, and %regex%."""
from __future__ import annotations

import re
from collections.abc import Callable

Matcher = Callable[[str], bool]

#: what AWS accepts inside %regex% besides letters and digits (its documented symbols and operators)
_REGEX_CHARS = frozenset("_#=@/;,-:^$?[]{}|\\*+.")


class PatternError(ValueError):
    """A filter pattern AWS would refuse; the message is the one InvalidParameterException carries."""


def compile_regex(body: str) -> re.Pattern[str]:
    """A %regex% body, checked against AWS's allowed characters (https://docs.aws.amazon.com/AmazonCloudWatch/
    latest/logs/FilterAndPatternSyntax.html#regex-expressions)."""
    bad = sorted({ch for ch in body if not (ch.isascii() and ch.isalnum()) and ch not in _REGEX_CHARS})
    if bad:
        raise PatternError(f"Invalid character(s) in regex: {''.join(bad)}")
    try:
        return re.compile(body)
    except re.error as exc:
        raise PatternError(f"Invalid regex %{body}%: {exc}") from None
