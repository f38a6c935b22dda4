"""CloudWatch Logs input checking driven by the generated spec: JSON types, required members, enums, lengths,
ranges and patterns, answered the way Logs does — InvalidParameterException with "1 validation error detected:
Value 'x' at 'logGroupName' failed to satisfy constraint: …". Logs' patterns must match the whole value.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from miniaws.services.logs._spec import SPEC
from miniaws.services.logs.errors import InvalidParameterException, SerializationException

_SHAPES: dict[str, Any] = SPEC["shapes"]
# Smithy patterns are Java regexes; Python's `re` has no \p{…} classes. Inside a character class these stand in:
# letters and numbers (\w also admits `_`, which every such pattern allows anyway) and the Unicode space separators.
_JAVA_CLASSES = {r"\p{L}": r"\w", r"\p{N}": r"\w",
                 r"\p{Z}": " \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"}


@lru_cache(maxsize=None)
def _pattern(text: str) -> re.Pattern[str]:
    for java, python in _JAVA_CLASSES.items():
        text = text.replace(java, python)
    return re.compile(text)


#: an echoed value is cut here: a 10,001-event batch must not come back as a megabyte of error message
_SHOWN_MAX = 256


def _shown(value: Any) -> str:
    text = _text(value)
    return text if len(text) <= _SHOWN_MAX else text[:_SHOWN_MAX] + "..."


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value[:20]) + (", ..." if len(value) > 20 else "") + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def _type_error(path: str, expected: str) -> SerializationException:
    return SerializationException(f"Value at '{path}' could not be read as {expected}")


class _Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, value: Any, path: str, constraint: str) -> None:
        self.errors.append(f"Value '{_shown(value)}' at '{path}' failed to satisfy constraint: {constraint}")

    def walk(self, shape_name: str, value: Any, path: str) -> None:
        shape = _SHAPES[shape_name]
        kind = shape["type"]
        if kind == "structure":
            if not isinstance(value, dict):
                raise _type_error(path, "an object")
            for member in shape.get("required", ()):
                if value.get(member) is None:
                    where = f"{path}.{member}" if path else member
                    self.errors.append(f"Value null at '{where}' failed to satisfy constraint: Member must not be null")
            for name, item in value.items():
                ref = shape["members"].get(name)
                if ref is not None and item is not None:  # unknown members are ignored, as AWS's JSON services do
                    self.walk(ref["shape"], item, f"{path}.{name}" if path else name)
        elif kind == "list":
            if not isinstance(value, list):
                raise _type_error(path, "a list")
            self._length(shape, value, len(value), path)
            member = shape["member"]["shape"]
            for index, item in enumerate(value, 1):
                self.walk(member, item, f"{path}.{index}.member")
        elif kind == "map":
            if not isinstance(value, dict):
                raise _type_error(path, "a map")
            self._length(shape, value, len(value), path)
            for key, item in value.items():
                self.walk(shape["key"]["shape"], key, f"{path}.key")
                self.walk(shape["value"]["shape"], item, f"{path}.value")
        elif kind == "string":
            if not isinstance(value, str):
                raise _type_error(path, "a string")
            enum = shape.get("enum")
            if enum is not None:
                if value not in enum:
                    self.fail(value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]")
                return
            self._length(shape, value, len(value), path)
            pattern = shape.get("pattern")
            if pattern is not None and not _pattern(pattern).fullmatch(value):
                self.fail(value, path, f"Member must satisfy regular expression pattern: {pattern}")
        elif kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise _type_error(path, "an integer")
            if "min" in shape and value < shape["min"]:
                self.fail(value, path, f"Member must have value greater than or equal to {shape['min']}")
            elif "max" in shape and value > shape["max"]:
                self.fail(value, path, f"Member must have value less than or equal to {shape['max']}")
        elif kind == "boolean":
            if not isinstance(value, bool):
                raise _type_error(path, "a boolean")

    def _length(self, shape: dict[str, Any], value: Any, length: int, path: str) -> None:
        if "min" in shape and length < shape["min"]:
            self.fail(value, path, f"Member must have length greater than or equal to {shape['min']}")
        elif "max" in shape and length > shape["max"]:
            self.fail(value, path, f"Member must have length less than or equal to {shape['max']}")


def check_input(operation: str, params: dict[str, Any]) -> None:
    """Raise InvalidParameterException listing every constraint the operation's input violates."""
    op = SPEC["operations"].get(operation)
    if op is None or "input" not in op:
        return
    checker = _Checker()
    checker.walk(op["input"]["shape"], params, "")
    if checker.errors:
        count = len(checker.errors)
        raise InvalidParameterException(f"{count} validation error{'s' if count > 1 else ''} detected: "
                                        + "; ".join(checker.errors))


def invalid_value(value: Any, field: str, constraint: str) -> InvalidParameterException:
    """One AWS-worded constraint failure raised by an operation's own checks."""
    return InvalidParameterException(f"1 validation error detected: Value '{_shown(value)}' at '{field}' failed to "
                                     f"satisfy constraint: {constraint}")
