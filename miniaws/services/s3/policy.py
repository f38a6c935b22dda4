"""Bucket policies: validation the way PutBucketPolicy does it (MalformedPolicy), evaluation, and "is it public".

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html (elements),
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html (operators),
https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
("The meaning of public": what makes a policy public).
"""
from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

from miniaws.services.s3.errors import MalformedPolicy
from miniaws.core.timestamps import iso8601_ms
from miniaws.services.s3.actions import BUCKET_ACTIONS, OBJECT_ACTIONS


class Effect(enum.Enum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(slots=True)
class Caller:
    """The request as a policy sees it."""

    anonymous: bool
    canonical_id: str
    account_id: str
    arn: str
    action: str
    resource: str
    #: condition key (lower-case) -> its values in this request, None when absent
    context: Callable[[str], list[str] | None]


# -- matching --------------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """IAM wildcards: `*` any run of characters, `?` any one character; nothing else is special."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- conditions ------------------------------------------------------------------------------------
def _ip_in(candidate: str, network: str) -> bool:
    try:
        return ipaddress.ip_address(candidate) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str) -> float | None:
    from miniaws.protocols.shapes import parse_timestamp  # ISO 8601 or epoch seconds, as IAM accepts

    try:
        return parse_timestamp(text)
    except ValueError:
        return None


def _compare(kind: Callable[[str], float | None], test: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def compare(actual: str, expected: str) -> bool:
        a, b = kind(actual), kind(expected)
        return a is not None and b is not None and test(a, b)
    return compare


#: positive operator -> (match one request value against one policy value)
_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda a, e: a == e,
    "StringEqualsIgnoreCase": lambda a, e: a.lower() == e.lower(),
    "StringLike": lambda a, e: glob_match(e, a),
    "NumericEquals": _compare(_number, lambda a, b: a == b),
    "NumericLessThan": _compare(_number, lambda a, b: a < b),
    "NumericLessThanEquals": _compare(_number, lambda a, b: a <= b),
    "NumericGreaterThan": _compare(_number, lambda a, b: a > b),
    "NumericGreaterThanEquals": _compare(_number, lambda a, b: a >= b),
    "DateEquals": _compare(_date, lambda a, b: a == b),
    "DateLessThan": _compare(_date, lambda a, b: a < b),
    "DateLessThanEquals": _compare(_date, lambda a, b: a <= b),
    "DateGreaterThan": _compare(_date, lambda a, b: a > b),
    "DateGreaterThanEquals": _compare(_date, lambda a, b: a >= b),
    "Bool": lambda a, e: a.lower() == e.lower(),
    "BinaryEquals": lambda a, e: a == e,
    "IpAddress": _ip_in,
    "ArnEquals": lambda a, e: a == e,
    "ArnLike": lambda a, e: glob_match(e, a),
}
#: negated operator -> the positive one it inverts
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
            "StringNotLike": "StringLike", "NumericNotEquals": "NumericEquals", "DateNotEquals": "DateEquals",
            "NotIpAddress": "IpAddress", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike"}


@dataclass(slots=True)
class Condition:
    operator: str  # positive operator name, or "Null"
    negated: bool
    if_exists: bool
    quantifier: str | None  # None, "ForAnyValue", "ForAllValues"
    key: str  # lower-case
    values: list[str]

    def holds(self, context: Callable[[str], list[str] | None]) -> bool:
        actual = context(self.key)
        if self.operator == "Null":
            # Null: "true" means the key must be absent, "false" that it must be present
            return any((actual is None) == (v.lower() == "true") for v in self.values)
        if actual is None or (not actual and self.quantifier is None):
            if self.if_exists or (self.negated and self.quantifier != "ForAnyValue"):
                return True
            return self.quantifier == "ForAllValues"  # vacuously true over no values
        compare = _OPERATORS[self.operator]

        def one(value: str) -> bool:
            matched = any(compare(value, expected) for expected in self.values)
            return not matched if self.negated else matched

        if self.quantifier == "ForAllValues":
            return all(one(v) for v in actual)
        return any(one(v) for v in actual)


def _condition_block(block: Any) -> list[Condition]:
    if not isinstance(block, dict):
        raise MalformedPolicy("Invalid Condition")
    out: list[Condition] = []
    for raw_operator, clauses in block.items():
        operator, quantifier = str(raw_operator), None
        if ":" in operator:
            quantifier, _, operator = operator.partition(":")
            if quantifier not in ("ForAnyValue", "ForAllValues"):
                raise MalformedPolicy(f"Invalid Condition type : {raw_operator}")
        if_exists = operator.endswith("IfExists") and operator != "IfExists"
        base = operator[: -len("IfExists")] if if_exists else operator
        negated = base in _NEGATED
        positive = _NEGATED.get(base, base)
        if positive not in _OPERATORS and positive != "Null":
            raise MalformedPolicy(f"Invalid Condition type : {raw_operator}")
        if not isinstance(clauses, dict):
            raise MalformedPolicy("Invalid Condition")
        for key, values in clauses.items():
            key = str(key)
            if not key.lower().startswith(("aws:", "s3:")):
                raise MalformedPolicy("Policy has an invalid condition key")
            if not all(isinstance(v, (str, int, float, bool)) for v in _as_list(values)):
                raise MalformedPolicy("Invalid Condition")
            out.append(Condition(positive, negated, if_exists, quantifier, key.lower(),
                                 [_text(v) for v in _as_list(values)]))
    return out


# -- principals ------------------------------------------------------------------------------------
_ACCOUNT = re.compile(r"^\d{12}$")
_IAM_ARN = re.compile(r"^arn:aws:(iam|sts)::(\d{12}):(.+)$")
_CANONICAL = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(slots=True)
class Principals:
    everyone: bool = False
    accounts: set[str] = field(default_factory=set)
    arns: set[str] = field(default_factory=set)
    canonical_ids: set[str] = field(default_factory=set)

    def matches(self, caller: Caller) -> bool:
        if self.everyone:
            return True
        if caller.anonymous:
            return False
        return (caller.account_id in self.accounts or caller.arn in self.arns
                or caller.canonical_id in self.canonical_ids)


def _principals(element: Any) -> Principals:
    if element == "*":
        return Principals(everyone=True)
    if not isinstance(element, dict) or not element:
        raise MalformedPolicy("Invalid principal in policy")
    found = Principals()
    for kind, values in element.items():
        for value in _as_list(values):
            if not isinstance(value, str):
                raise MalformedPolicy("Invalid principal in policy")
            if kind == "AWS":
                if value == "*":
                    found.everyone = True
                elif _ACCOUNT.match(value):
                    found.accounts.add(value)
                elif (arn := _IAM_ARN.match(value)) is not None:
                    if arn.group(3) == "root":
                        found.accounts.add(arn.group(2))
                    else:
                        found.arns.add(value)
                else:
                    raise MalformedPolicy("Invalid principal in policy")
            elif kind == "CanonicalUser":
                if not _CANONICAL.match(value):
                    raise MalformedPolicy("Invalid principal in policy")
                found.canonical_ids.add(value.lower())
            elif kind in ("Service", "Federated"):
                pass  # valid, but no miniaws request comes from an AWS service or a federated identity
            else:
                raise MalformedPolicy("Invalid principal in policy")
    return found


# -- statements ------------------------------------------------------------------------------------
#: condition keys whose fixed values limit a statement to known callers (policy-status rules)
_LIMITING_KEYS = frozenset({"aws:sourceip", "aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceaccount",
                            "aws:sourceowner", "aws:principalaccount", "aws:principalarn", "aws:principalorgid",
                            "aws:principalorgpaths", "aws:sourceorgid", "aws:sourceorgpaths", "aws:userid",
                            "s3:dataaccesspointaccount", "s3:dataaccesspointarn"})


@dataclass(slots=True)
class Statement:
    effect: Effect
    principals: Principals
    not_principal: bool
    actions: list[str]
    not_action: bool
    resources: list[str]
    not_resource: bool
    conditions: list[Condition]

    def applies(self, caller: Caller) -> bool:
        if self.principals.matches(caller) == self.not_principal:
            return False
        if any(glob_match(a, caller.action, ignore_case=True) for a in self.actions) == self.not_action:
            return False
        if any(glob_match(r, caller.resource) for r in self.resources) == self.not_resource:
            return False
        return all(c.holds(caller.context) for c in self.conditions)

    @property
    def public(self) -> bool:
        """An Allow for everyone that no condition limits to known callers or networks."""
        if self.effect is not Effect.ALLOW or self.not_principal or not self.principals.everyone:
            return False
        for condition in self.conditions:
            if condition.key not in _LIMITING_KEYS or condition.negated or condition.if_exists:
                continue
            if condition.operator == "IpAddress":
                if all(not v.endswith("/0") for v in condition.values):
                    return False
            elif condition.operator != "Null" and all("*" not in v for v in condition.values):
                return False
        return True


class Policy:
    def __init__(self, statements: list[Statement]) -> None:
        self.statements = statements
        self.public = any(s.public for s in statements)

    def evaluate(self, caller: Caller, *, skip_public: bool = False) -> Effect | None:
        """Deny if any statement denies; else Allow if one allows (`skip_public` ignores public Allows, for
        RestrictPublicBuckets); else None."""
        allowed = False
        for statement in self.statements:
            if not statement.applies(caller):
                continue
            if statement.effect is Effect.DENY:
                return Effect.DENY
            if not (skip_public and statement.public):
                allowed = True
        return Effect.ALLOW if allowed else None


def _field(statement: dict[str, Any], name: str) -> tuple[list[Any], bool]:
    if name in statement and "Not" + name in statement:
        raise MalformedPolicy(f"Statement cannot contain both {name} and Not{name}")
    if name in statement:
        return _as_list(statement[name]), False
    if "Not" + name in statement:
        return _as_list(statement["Not" + name]), True
    raise MalformedPolicy(f"Missing required field {name}")


def _check_action(action: Any) -> str:
    if not isinstance(action, str):
        raise MalformedPolicy("Policy has invalid action")
    if action == "*":
        return action
    service, sep, name = action.partition(":")
    if not sep or service.lower() != "s3" or not name:
        raise MalformedPolicy("Policy has invalid action")
    if "*" not in name and "?" not in name and name.lower() not in _KNOWN_ACTIONS:
        raise MalformedPolicy("Policy has invalid action")
    return action


def _check_resource(resource: Any, bucket: str) -> str:
    if not isinstance(resource, str):
        raise MalformedPolicy("Policy has invalid resource")
    if resource == "*":
        return resource
    if not resource.startswith("arn:aws:s3:::"):
        raise MalformedPolicy("Policy has invalid resource")
    named = resource[len("arn:aws:s3:::"):].split("/", 1)[0]
    if not glob_match(named, bucket):
        raise MalformedPolicy("Policy has invalid resource")
    return resource


_KNOWN_ACTIONS = frozenset(a.lower() for a in BUCKET_ACTIONS | OBJECT_ACTIONS)
_OBJECT_ACTIONS = frozenset(a.lower() for a in OBJECT_ACTIONS)


def _check_applicable(actions: list[str], resources: list[str]) -> None:
    """S3 refuses a statement whose action can never match one of its resources (e.g. s3:GetObject on the bucket
    ARN): "Action does not apply to any resource(s) in statement"."""
    object_ok = any(r == "*" or "/" in r or r.endswith("*") for r in resources)
    bucket_ok = any(r == "*" or "/" not in r for r in resources)
    for action in actions:
        name = action.partition(":")[2].lower()
        if action == "*" or "*" in name or "?" in name:
            continue
        if (name in _OBJECT_ACTIONS and not object_ok) or (name not in _OBJECT_ACTIONS and not bucket_ok):
            raise MalformedPolicy("Action does not apply to any resource(s) in statement")


def parse_policy(text: str | bytes, bucket: str) -> Policy:
    """Validate a bucket policy as PutBucketPolicy does and compile it; MalformedPolicy when it is not valid."""
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise MalformedPolicy("This policy contains invalid Json") from None
    if not isinstance(document, dict):
        raise MalformedPolicy("Policies must be valid JSON and the first byte must be '{'")
    version = document.get("Version")
    if version is not None and version not in ("2012-10-17", "2008-10-17"):
        raise MalformedPolicy("Invalid policy version")
    if "Statement" not in document:
        raise MalformedPolicy("Missing required field Statement")
    raw = _as_list(document["Statement"])
    if not raw:
        raise MalformedPolicy("Could not parse the policy: Statement is empty!")
    statements: list[Statement] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise MalformedPolicy("Invalid Statement")
        effect = entry.get("Effect")
        if effect is None:
            raise MalformedPolicy("Missing required field Effect")
        if effect not in ("Allow", "Deny"):
            raise MalformedPolicy(f"Invalid effect: {effect}")
        principal, not_principal = _field(entry, "Principal")
        actions, not_action = _field(entry, "Action")
        resources, not_resource = _field(entry, "Resource")
        actions = [_check_action(a) for a in actions]
        resources = [_check_resource(r, bucket) for r in resources]
        if not not_action and not not_resource:
            _check_applicable(actions, resources)
        principals = _principals(principal[0] if len(principal) == 1 else principal)
        statements.append(Statement(Effect(effect), principals, not_principal, actions, not_action, resources,
                                    not_resource, _condition_block(entry.get("Condition", {}))))
    return Policy(statements)


def current_time_values(now: float) -> dict[str, list[str]]:
    """aws:CurrentTime and aws:EpochTime for the condition context."""
    return {"aws:currenttime": [iso8601_ms(now)], "aws:epochtime": [str(int(now))]}
