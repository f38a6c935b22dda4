"""CloudWatch Logs filter patterns (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/
FilterAndPatternSyntax.html) compiled once into a predicate on an event's message.

`compile_pattern("")` matches everything; `{ … }` is a JSON pattern (jsonpattern.py); anything else is terms
(terms.py). Space-delimited patterns (`[ip, user, …]`) are not implemented: they are refused by name
(PatternError → InvalidParameterException) rather than matched wrongly.
"""
from __future__ import annotations

from miniaws.services.logs.filters.common import Matcher, PatternError
from miniaws.services.logs.filters.jsonpattern import compile_json
from miniaws.services.logs.filters.terms import compile_terms


def _everything(message: str) -> bool:
    return True


def compile_pattern(text: str | None) -> Matcher:
    """The predicate for a filterPattern; raises PatternError for a pattern AWS refuses or miniaws lacks."""
    pattern = (text or "").strip()
    if not pattern:
        return _everything
    if pattern.startswith("{"):
        if not pattern.endswith("}"):
            raise PatternError("If a filter pattern starts with '{' it must end with '}'")
        return compile_json(pattern[1:-1])
    if pattern.startswith("["):
        raise PatternError("Space-delimited filter patterns ([w1, w2, ...]) are not supported by miniaws; use terms, "
                           "\"quoted phrases\", ?alternatives, -exclusions, %regex% or a { $.json } pattern")
    return compile_terms(pattern)


__all__ = ["Matcher", "PatternError", "compile_pattern"]
