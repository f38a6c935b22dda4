"""KMS input checking: the shared spec-driven checker (miniaws.protocols.constraints) with KMS's wording.

Errors read as AWS's ("1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy
constraint: …"), members named in lowerCamelCase; sensitive and blob values are never echoed. Blob members
arrive base64 and leave as bytes.
"""
from __future__ import annotations

import base64
from typing import Any

from miniaws.protocols.constraints import InputChecker, lower_camel
from miniaws.services.kms._spec import SPEC
from miniaws.services.kms.errors import SerializationException, ValidationException

_CHECKER = InputChecker(SPEC, ValidationException, SerializationException, field_name=lower_camel)


def parse_input(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """The operation's input with blobs decoded; raises ValidationException listing every violated constraint."""
    return _CHECKER.parse(operation, params)


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
