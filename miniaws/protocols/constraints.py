"""Input constraints of a JSON-protocol operation, checked from the generated spec the way AWS's JSON services do.

JSON types, required members, enums, lengths, ranges and patterns; every violated constraint is collected and
reported in one message in AWS's words ("2 validation errors detected: Value 'x' at 'keyId' failed to satisfy
constraint: …; …"). A value of the wrong JSON type is a SerializationException instead, as AWS answers it.
Sensitive and blob values are never echoed; long values are cut. Blob members arrive base64 and leave as bytes.
Each service picks how it names members in messages and whether its patterns must match the whole value.
"""
from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

#: an echoed value is cut here: a 10,000-item batch must not come back as a megabyte of error message
SHOWN_MAX = 256
# Smithy patterns are Java regexes; Python's `re` has no \p{…} classes. Inside a character class these stand in:
# letters and numbers (\w also admits `_`, which every such pattern allows anyway) and the Unicode space separators.
_JAVA_CLASSES = {r"\p{L}": r"\w", r"\p{N}": r"\w",
                 r"\p{Z}": " \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"}


@lru_cache(maxsize=None)
def _pattern(text: str) -> re.Pattern[str]:
    for java, python in _JAVA_CLASSES.items():
        text = text.replace(java, python)
    return re.compile(text)


def shown(value: Any) -> str:
    """A value as AWS echoes it in a validation message, cut to SHOWN_MAX characters."""
    text = _text(value)
    return text if len(text) <= SHOWN_MAX else text[:SHOWN_MAX] + "..."


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value[:20]) + (", ..." if len(value) > 20 else "") + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def same_name(name: str) -> str:
    return name


def lower_camel(name: str) -> str:
    """KMS names members in validation messages in lowerCamelCase: KeyId -> keyId, AWSAccountId -> aWSAccountId."""
    return name[:1].lower() + name[1:]


class InputChecker:
    """Checks one service's operation inputs against its spec; `validation` and `serialization` build its errors."""

    def __init__(self, spec: Mapping[str, Any], validation: Callable[[str], Exception],
                 serialization: Callable[[str], Exception], field_name: Callable[[str], str] = same_name,
                 whole_match: bool = False) -> None:
        self._spec = spec
        self._shapes: Mapping[str, Any] = spec["shapes"]
        self._validation = validation
        self._serialization = serialization
        self._field_name = field_name
        # Smithy patterns are not implicitly anchored (KMS anchors its own with ^…$); Logs matches whole values
        self._whole_match = whole_match

    def parse(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """The operation's input with blobs decoded; raises the validation error listing every violated constraint."""
        op = self._spec["operations"].get(operation)
        if op is None or "input" not in op:
            return params
        walk = _Walk(self)
        out: dict[str, Any] = walk.value(op["input"]["shape"], params, "")
        if walk.errors:
            count = len(walk.errors)
            raise self._validation(f"{count} validation error{'s' if count > 1 else ''} detected: "
                                   + "; ".join(walk.errors))
        return out


class _Walk:
    def __init__(self, checker: InputChecker) -> None:
        self.checker = checker
        self.errors: list[str] = []

    def fail(self, value: Any, path: str, constraint: str, hide: bool) -> None:
        echoed = "" if hide else f" '{shown(value)}'"
        self.errors.append(f"Value{echoed} at '{path}' failed to satisfy constraint: {constraint}")

    def type_error(self, path: str, expected: str) -> Exception:
        return self.checker._serialization(f"Value at '{path}' could not be read as {expected}")

    def value(self, shape_name: str, value: Any, path: str) -> Any:
        shape = self.checker._shapes[shape_name]
        kind = shape["type"]
        hide = bool(shape.get("sensitive")) or kind == "blob"
        if kind == "structure":
            return self.structure(shape, value, path)
        if kind == "list":
            if not isinstance(value, list):
                raise self.type_error(path, "a list")
            self.length(shape, value, len(value), path, hide)
            member = shape["member"]["shape"]
            return [self.value(member, item, f"{path}.{i}.member") for i, item in enumerate(value, 1)]
        if kind == "map":
            if not isinstance(value, dict):
                raise self.type_error(path, "a map")
            self.length(shape, value, len(value), path, hide)
            key_shape, value_shape = shape["key"]["shape"], shape["value"]["shape"]
            return {self.value(key_shape, k, f"{path}.key"): self.value(value_shape, v, f"{path}.value")
                    for k, v in value.items()}
        if kind == "string":
            if not isinstance(value, str):
                raise self.type_error(path, "a string")
            self.string(shape, value, path, hide)
            return value
        if kind == "blob":
            if not isinstance(value, str):
                raise self.type_error(path, "a base64 string")
            try:
                data = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise self.checker._serialization(f"Value at '{path}' is not valid base64") from None
            self.length(shape, data, len(data), path, hide)
            return data
        if kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.type_error(path, "an integer")
            if "min" in shape and value < shape["min"]:
                self.fail(value, path, f"Member must have value greater than or equal to {shape['min']}", hide)
            elif "max" in shape and value > shape["max"]:
                self.fail(value, path, f"Member must have value less than or equal to {shape['max']}", hide)
            return value
        if kind == "boolean" and not isinstance(value, bool):
            raise self.type_error(path, "a boolean")
        return value

    def structure(self, shape: Mapping[str, Any], value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.type_error(path, "an object")
        name_of = self.checker._field_name
        prefix = f"{path}." if path else ""
        for member in shape.get("required", ()):
            if value.get(member) is None:
                self.errors.append(f"Value null at '{prefix}{name_of(member)}' failed to satisfy constraint: "
                                   "Member must not be null")
        out: dict[str, Any] = {}
        for name, item in value.items():
            ref = shape["members"].get(name)
            if ref is None or item is None:
                continue  # unknown members are ignored, as AWS's JSON services do
            out[name] = self.value(ref["shape"], item, prefix + name_of(name))
        return out

    def string(self, shape: Mapping[str, Any], value: str, path: str, hide: bool) -> None:
        enum = shape.get("enum")
        if enum is not None:
            if value not in enum:
                self.fail(value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]", hide)
            return
        self.length(shape, value, len(value), path, hide)
        pattern = shape.get("pattern")
        if pattern is None:
            return
        compiled = _pattern(pattern)
        matched = compiled.fullmatch(value) if self.checker._whole_match else compiled.search(value)
        if not matched:
            self.fail(value, path, f"Member must satisfy regular expression pattern: {pattern}", hide)

    def length(self, shape: Mapping[str, Any], value: Any, length: int, path: str, hide: bool) -> None:
        if "min" in shape and length < shape["min"]:
            self.fail(value, path, f"Member must have length greater than or equal to {shape['min']}", hide)
        elif "max" in shape and length > shape["max"]:
            self.fail(value, path, f"Member must have length less than or equal to {shape['max']}", hide)
