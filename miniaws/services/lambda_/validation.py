"""Input validation with Lambda's own error codes and wording (ValidationException for constraint violations,
InvalidParameterValueException for values Lambda understands but refuses)."""
from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import orjson

from miniaws.functions.service import RESERVED_VARIABLES
from miniaws.services.lambda_.errors import (InvalidParameterValueException, InvalidRequestContentException,
                                            ValidationException)

#: the runtimes miniaws runs: Python on the host (or a configured interpreter), provided.* via the zip's bootstrap
RUNTIMES = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "provided.al2", "provided.al2023")
_NAME = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
_ROLE = re.compile(r"^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
_ALIAS = re.compile(r"^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$")
_ENV_KEY = re.compile(r"^[a-zA-Z]([a-zA-Z0-9_])+$")
#: Lambda's limits (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html)
MAX_ZIPPED = 50 * 1024 * 1024
MAX_UNZIPPED = 250 * 1024 * 1024
MAX_ENVIRONMENT_BYTES = 4096


def constraint(value: Any, member: str, rule: str) -> ValidationException:
    return ValidationException(f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
                               f"constraint: {rule}")


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise constraint(name, "functionName", "Member must satisfy regular expression pattern: "
                                               "[a-zA-Z0-9-_]+ and have length less than or equal to 64")
    return name


def check_alias_name(name: Any) -> str:
    if not isinstance(name, str) or not _ALIAS.match(name):
        raise constraint(name, "name", "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)")
    return name


def check_range(value: Any, member: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise constraint(value, member, "Member must be an integer")
    if value < low:
        raise constraint(value, member, f"Member must have value greater than or equal to {low}")
    if value > high:
        raise constraint(value, member, f"Member must have value less than or equal to {high}")
    return value


def check_runtime(runtime: Any) -> str:
    if runtime not in RUNTIMES:
        raise InvalidParameterValueException(
            f"The runtime parameter of {runtime} is not supported by miniaws; use one of {', '.join(RUNTIMES)}")
    return str(runtime)


def check_role(role: Any) -> str:
    if not isinstance(role, str) or not _ROLE.match(role):
        raise constraint(role, "role", "Member must satisfy regular expression pattern: "
                                       "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+")
    return role


def check_handler(handler: Any, runtime: str) -> str:
    if handler is None:
        if runtime.startswith("provided"):
            return "bootstrap"  # custom runtimes read _HANDLER themselves; AWS's console default is this
        raise InvalidParameterValueException("Handler must be specified for Zip package type functions")
    if not isinstance(handler, str) or not 0 < len(handler) <= 128:
        raise constraint(handler, "handler", "Member must have length less than or equal to 128")
    return handler


def check_description(description: Any) -> str:
    text = "" if description is None else str(description)
    if len(text) > 256:
        raise constraint(text, "description", "Member must have length less than or equal to 256")
    return text


def check_environment(environment: Any) -> dict[str, str]:
    variables = (environment or {}).get("Variables") or {}
    reserved = sorted(k for k in variables if k in RESERVED_VARIABLES)
    if reserved:
        raise InvalidParameterValueException(
            "Lambda was unable to configure your environment variables because the environment variables you "
            "have provided contains reserved keys that are currently not supported for modification. Reserved "
            f"keys used in this request: {', '.join(reserved)}")
    for key in variables:
        if not _ENV_KEY.match(key):
            raise constraint("[sensitive]", "environment.variables", "Member must satisfy regular expression "
                                                                     "pattern: [a-zA-Z]([a-zA-Z0-9_])+")
    size = sum(len(k.encode()) + len(str(v).encode()) for k, v in variables.items())
    if size > MAX_ENVIRONMENT_BYTES:
        raise InvalidParameterValueException(
            f"Lambda was unable to configure your environment variables because the environment variables you "
            f"have provided exceeded the 4KB limit. String measured: {size}")
    return {str(k): str(v) for k, v in variables.items()}


def check_architectures(value: Any) -> list[str]:
    if value is None:
        return ["x86_64"]
    if not isinstance(value, list) or len(value) != 1 or value[0] not in ("x86_64", "arm64"):
        raise constraint(value, "architectures", "Member must have length less than or equal to 1 and satisfy enum "
                                                 "value set: [x86_64, arm64]")
    return list(value)


def check_memory(value: Any) -> int:
    return check_range(value, "memorySize", 128, 10240)


def check_timeout(value: Any) -> int:
    return check_range(value, "timeout", 1, 900)


def check_ephemeral(value: Any) -> int:
    if value is None:
        return 512
    return check_range(value.get("Size"), "ephemeralStorage.size", 512, 10240)


_DEAD_LETTER_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:(sqs|sns):[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$")


def check_dead_letter(config: Any) -> str | None:
    """DeadLetterConfig.TargetArn: an SQS queue or SNS topic ARN; empty removes it (UpdateFunctionConfiguration)."""
    arn = (config or {}).get("TargetArn") if isinstance(config, dict) else None
    if not arn:
        return None
    if not isinstance(arn, str) or not _DEAD_LETTER_ARN.match(arn):
        raise InvalidParameterValueException(f"The provided target arn {arn} is invalid: a dead-letter queue must be "
                                             "an Amazon SQS queue or an Amazon SNS topic.")
    return arn


def check_client_context(value: Any) -> str | None:
    """Invoke's ClientContext (X-Amz-Client-Context): base64 of a JSON object, which Lambda checks before invoking
    (the message is AWS's, as seen in the wild)."""
    if not value:
        return None
    try:
        decoded = orjson.loads(base64.b64decode(str(value), validate=True))
    except (binascii.Error, ValueError):
        decoded = None
    if not isinstance(decoded, dict):
        raise InvalidRequestContentException("Client context must be a valid Base64-encoded JSON object.")
    return str(value)
