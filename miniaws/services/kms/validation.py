"""KMS input checking driven by the generated spec: JSON types, required members, enums, lengths and ranges.

Errors use AWS's wording ("1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy
constraint: …"); sensitive and blob values are never echoed. Blob members arrive base64 and leave as bytes.
"""
from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache
from typing import Any

from miniaws.services.kms._spec import SPEC
from miniaws.services.kms.errors import SerializationException, ValidationException

_SHAPES: dict[str, Any] = SPEC["shapes"]


@lru_cache(maxsize=None)
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def _field(name: str) -> str:
    # AWS names members in validation messages in lowerCamelCase: KeyId -> keyId, AWSAccountId -> aWSAccountId
    return name[:1].lower() + name[1:]


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _type_error(path: str, expected: str) -> SerializationException:
    return SerializationException(f"Value at '{path}' could not be read as {expected}")


class _Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, value: Any, path: str, constraint: str, hide: bool) -> None:
        shown = "" if hide else f" '{_shown(value)}'"
        self.errors.append(f"Value{shown} at '{path}' failed to satisfy constraint: {constraint}")

    def walk(self, shape_name: str, value: Any, path: str) -> Any:
        shape = _SHAPES[shape_name]
        kind = shape["type"]
        hide = bool(shape.get("sensitive")) or kind == "blob"
        if kind == "structure":
            if not isinstance(value, dict):
                raise _type_error(path, "an object")
            out: dict[str, Any] = {}
            for member in shape.get("required", ()):
                if value.get(member) is None:
                    prefix = f"{path}." if path else ""
                    self.errors.append(f"Value null at '{prefix}{_field(member)}' failed to satisfy constraint: "
                                       "Member must not be null")
            for name, item in value.items():
                ref = shape["members"].get(name)
                if ref is None or item is None:
                    continue  # unknown members are ignored, as AWS's JSON services do
                child = f"{path}.{_field(name)}" if path else _field(name)
                out[name] = self.walk(ref["shape"], item, child)
            return out
        if kind == "list":
            if not isinstance(value, list):
                raise _type_error(path, "a list")
            self._length(shape, value, len(value), path, hide)
            member = shape["member"]["shape"]
            return [self.walk(member, item, f"{path}.{i}.member") for i, item in enumerate(value, 1)]
        if kind == "map":
            if not isinstance(value, dict):
                raise _type_error(path, "a map")
            self._length(shape, value, len(value), path, hide)
            return {self.walk(shape["key"]["shape"], k, f"{path}.key"): self.walk(shape["value"]["shape"], v,
                                                                                  f"{path}.value")
                    for k, v in value.items()}
        if kind == "string":
            if not isinstance(value, str):
                raise _type_error(path, "a string")
            enum = shape.get("enum")
            if enum is not None and value not in enum:
                self.fail(value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]", hide)
                return value
            self._length(shape, value, len(value), path, hide)
            pattern = shape.get("pattern")
            # Smithy patterns are not implicitly anchored; the anchored ones say so with ^…$
            if pattern is not None and not _pattern(pattern).search(value):
                self.fail(value, path, f"Member must satisfy regular expression pattern: {pattern}", hide)
            return value
        if kind == "blob":
            if not isinstance(value, str):
                raise _type_error(path, "a base64 string")
            try:
                data = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise SerializationException(f"Value at '{path}' is not valid base64") from None
            self._length(shape, data, len(data), path, hide)
            return data
        if kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise _type_error(path, "an integer")
            if "min" in shape and value < shape["min"]:
                self.fail(value, path, f"Member must have value greater than or equal to {shape['min']}", hide)
            elif "max" in shape and value > shape["max"]:
                self.fail(value, path, f"Member must have value less than or equal to {shape['max']}", hide)
            return value
        if kind == "boolean":
            if not isinstance(value, bool):
                raise _type_error(path, "a boolean")
            return value
        return value

    def _length(self, shape: dict[str, Any], value: Any, length: int, path: str, hide: bool) -> None:
        if "min" in shape and length < shape["min"]:
            self.fail(value, path, f"Member must have length greater than or equal to {shape['min']}", hide)
        elif "max" in shape and length > shape["max"]:
            self.fail(value, path, f"Member must have length less than or equal to {shape['max']}", hide)


def parse_input(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """The operation's input with blobs decoded; raises ValidationException listing every violated constraint."""
    op = SPEC["operations"].get(operation)
    if op is None or "input" not in op:
        return params
    checker = _Checker()
    out: dict[str, Any] = checker.walk(op["input"]["shape"], params, "")
    if checker.errors:
        count = len(checker.errors)
        raise ValidationException(f"{count} validation error{'s' if count > 1 else ''} detected: "
                                  + "; ".join(checker.errors))
    return out


def encode_output(value: Any) -> Any:
    """Blobs go on the JSON wire as base64 text; everything else is already JSON-ready."""
    if isinstance(value, dict):
        return {k: encode_output(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [encode_output(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    return value


def validation_error(value: Any, field: str, constraint: str) -> ValidationException:
    """One AWS-worded constraint failure raised by an operation's own checks."""
    return ValidationException(f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
                               f"constraint: {constraint}")
