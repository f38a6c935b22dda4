"""CloudWatch Logs input checking: the shared spec-driven checker (miniaws.protocols.constraints) with Logs'
wording — InvalidParameterException with "1 validation error detected: Value 'x' at 'logGroupName' failed to
satisfy constraint: …". Logs' patterns must match the whole value.
"""
from __future__ import annotations

from typing import Any

from miniaws.protocols.constraints import InputChecker, shown
from miniaws.services.logs._spec import SPEC
from miniaws.services.logs.errors import InvalidParameterException, SerializationException

_CHECKER = InputChecker(SPEC, InvalidParameterException, SerializationException, whole_match=True)


def check_input(operation: str, params: dict[str, Any]) -> None:
    """Raise InvalidParameterException listing every constraint the operation's input violates."""
    _CHECKER.parse(operation, params)


def invalid_value(value: Any, field: str, constraint: str) -> InvalidParameterException:
    """One AWS-worded constraint failure raised by an operation's own checks."""
    return InvalidParameterException(f"1 validation error detected: Value '{shown(value)}' at '{field}' failed to "
                                     f"satisfy constraint: {constraint}")
