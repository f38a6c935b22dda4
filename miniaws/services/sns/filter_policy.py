"""Subscription filter policies: validated and compiled once when a subscription's FilterPolicy is set, then
matched against every published message's attributes (FilterPolicyScope=MessageAttributes, the default) or its
JSON body (MessageBody). Sans-IO.

Semantics follow https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html: keys are ANDed, the
values of one key are ORed, `$or` ORs whole sub-policies; a key whose message value is an array matches when any
element does. Strings, numbers, booleans and null only ever equal a value of their own JSON type.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

import orjson

SCOPE_ATTRIBUTES = "MessageAttributes"
SCOPE_BODY = "MessageBody"

#: "A filter policy can have a maximum of five keys" / "The total combination of values ... must not exceed 150"
#: (https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html)
MAX_KEYS = 5
MAX_COMBINATIONS = 150

_NUMERIC_OPERATORS = ("<", "<=", "=", ">", ">=")

#: the values a message has at a key path; empty when the key is absent
Values = list[Any]
Lookup = Callable[[tuple[str, ...]], Values]
Test = Callable[[Lookup], bool]
Predicate = Callable[[Any], bool]


class FilterPolicyError(ValueError):
    """An invalid policy. The text is AWS's reason (e.g. "FilterPolicy: Empty arrays are not allowed"); the API
    layer puts "Invalid parameter: " (and "Attributes Reason: " on Subscribe) in front of it."""


class Policy:
    """A compiled filter policy."""

    __slots__ = ("scope", "_test")

    def __init__(self, scope: str, test: Test) -> None:
        self.scope = scope
        self._test = test

    def matches(self, message: "FilterInput", body: str) -> bool:
        """Whether a message (its attributes, and `body`: the text this subscription would receive) passes."""
        if self.scope == SCOPE_BODY:
            document = message.body_document(body)
            if document is None:
                return False
            return self._test(lambda path: _leaves(document, path))
        values = message.attribute_values()
        return self._test(lambda path: values.get(path[0], []))


class FilterInput:
    """What filtering reads from one published message, converted once however many subscriptions look."""

    __slots__ = ("_attributes", "_values", "_documents")

    def __init__(self, attributes: Mapping[str, Mapping[str, Any]]) -> None:
        self._attributes = attributes
        self._values: dict[str, Values] | None = None
        self._documents: dict[str, Any] = {}

    def attribute_values(self) -> dict[str, Values]:
        if self._values is None:
            self._values = {name: _attribute_values(value) for name, value in self._attributes.items()}
        return self._values

    def body_document(self, body: str) -> Any:
        """The body parsed as a JSON object (None when it is not one: such a message never passes)."""
        if body not in self._documents:
            try:
                document = orjson.loads(body)
            except orjson.JSONDecodeError:
                document = None
            self._documents[body] = document if isinstance(document, dict) else None
        return self._documents[body]


def _attribute_values(attribute: Mapping[str, Any]) -> Values:
    """An attribute as JSON values: String → string, Number → number, String.Array → its elements. Binary
    attributes take no part in filtering (Developer Guide, "Filter policy constraints")."""
    data_type = str(attribute.get("DataType", ""))
    text = attribute.get("StringValue")
    if text is None or data_type.startswith("Binary"):
        return []
    if data_type.startswith("String.Array"):
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            return [text]
        return _flatten(parsed) if isinstance(parsed, list) else [parsed]
    if data_type.startswith("Number"):
        try:
            return [float(text)]
        except ValueError:
            return []
    return [text]


def _flatten(items: list[Any]) -> Values:
    out: Values = []
    for item in items:
        if isinstance(item, list):
            out.extend(_flatten(item))
        elif not isinstance(item, dict):
            out.append(item)
    return out


def _leaves(document: Any, path: tuple[str, ...]) -> Values:
    """The scalar values at `path` in a JSON document, looking through arrays at every level."""
    nodes = [document]
    for key in path:
        found: list[Any] = []
        for node in nodes:
            if isinstance(node, dict) and key in node:
                value = node[key]
                if isinstance(value, list):
                    found.extend(_flatten_nodes(value))
                else:
                    found.append(value)
        if not found:
            return []
        nodes = found
    return [node for node in nodes if not isinstance(node, dict)]


def _flatten_nodes(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, list):
            out.extend(_flatten_nodes(item))
        else:
            out.append(item)
    return out


# -- parsing and validation ---------------------------------------------------------------------------
def parse(text: str | None, scope: str = SCOPE_ATTRIBUTES) -> Policy | None:
    """Validate and compile a FilterPolicy attribute value; None when it filters nothing (empty or `{}`)."""
    if text is None or not text.strip():
        return None
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise FilterPolicyError("FilterPolicy: failed to parse JSON.") from None
    if not isinstance(document, dict):
        raise FilterPolicyError("FilterPolicy: failed to parse JSON.")
    if not document:
        return None
    if len(document) > MAX_KEYS:
        raise FilterPolicyError(f"FilterPolicy: Filter policy can not have more than {MAX_KEYS} keys")
    test, combinations = _conjunction(document, (), 1, scope)
    if combinations > MAX_COMBINATIONS:
        raise FilterPolicyError("FilterPolicy: Filter policy is too complex")
    return Policy(scope, test)


def _conjunction(document: Mapping[str, Any], prefix: tuple[str, ...], depth: int,
                 scope: str) -> tuple[Test, int]:
    """A test that passes when every key of `document` matches, and its number of value combinations (the
    product of each array's length times its nesting depth; `$or` branches add up), as AWS counts them."""
    tests: list[Test] = []
    combinations = 1
    for key, value in document.items():
        if key == "$or":
            test, count = _alternatives(value, prefix, depth, scope)
            tests.append(test)
            combinations *= count
        elif isinstance(value, dict):
            if scope != SCOPE_BODY:
                raise FilterPolicyError("Filter policy scope MessageAttributes does not support nested filter "
                                        "policy")
            test, count = _conjunction(value, prefix + (key,), depth + 1, scope)
            tests.append(test)
            combinations *= count
        elif isinstance(value, list):
            if not value:
                raise FilterPolicyError("FilterPolicy: Empty arrays are not allowed")
            tests.append(_field(prefix + (key,), value))
            combinations *= len(value) * depth
        else:
            raise FilterPolicyError(f'FilterPolicy: "{key}" must be an object or an array')
    if len(tests) == 1:
        return tests[0], combinations
    return (lambda lookup: all(test(lookup) for test in tests)), combinations


def _alternatives(value: Any, prefix: tuple[str, ...], depth: int, scope: str) -> tuple[Test, int]:
    # "$or": [{…}, {…}] — each branch is a sub-policy (Developer Guide, "OR logic")
    if not isinstance(value, list) or len(value) < 2 or not all(isinstance(v, dict) and v for v in value):
        raise FilterPolicyError('FilterPolicy: "$or" must be an array of at least two non-empty objects')
    branches = [_conjunction(branch, prefix, depth, scope) for branch in value]
    tests = [test for test, _ in branches]
    return (lambda lookup: any(test(lookup) for test in tests)), sum(count for _, count in branches)


def _field(path: tuple[str, ...], rules: list[Any]) -> Test:
    predicates: list[Predicate] = []
    when_absent = False
    when_present = False
    for rule in rules:
        if isinstance(rule, dict) and len(rule) == 1 and "exists" in rule:
            if not isinstance(rule["exists"], bool):
                raise FilterPolicyError("FilterPolicy: exists match pattern must be either true or false.")
            if rule["exists"]:
                when_present = True
            else:
                when_absent = True
        else:
            predicates.append(_rule(rule))

    def test(lookup: Lookup) -> bool:
        values = lookup(path)
        if not values:
            return when_absent
        if when_present:
            return True
        return any(predicate(value) for value in values for predicate in predicates)

    return test


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _rule(rule: Any) -> Predicate:
    """One element of a key's array: a literal or a one-operator object."""
    if isinstance(rule, str):
        return lambda v: isinstance(v, str) and v == rule
    if isinstance(rule, bool) or rule is None:
        return lambda v: v is rule
    if _is_number(rule):
        return lambda v: _is_number(v) and v == rule
    if not isinstance(rule, dict):
        raise FilterPolicyError("FilterPolicy: Match value must be String, number, true, false, or null")
    if len(rule) != 1:
        raise FilterPolicyError("FilterPolicy: Only one key allowed in match expression")
    operator, operand = next(iter(rule.items()))
    if operator in ("prefix", "suffix"):
        return _affix(operator, operand)
    if operator == "equals-ignore-case":
        text = _string(operator, operand).lower()
        return lambda v: isinstance(v, str) and v.lower() == text
    if operator == "anything-but":
        return _anything_but(operand)
    if operator == "numeric":
        return _numeric(operand)
    if operator == "cidr":
        return _cidr(operand)
    raise FilterPolicyError(f"FilterPolicy: Unrecognized match type {operator}")


def _string(operator: str, operand: Any) -> str:
    if not isinstance(operand, str):
        raise FilterPolicyError(f"FilterPolicy: {operator} match pattern must be a string")
    return operand


def _affix(operator: str, operand: Any) -> Predicate:
    """`prefix` / `suffix`, optionally case-insensitive: {"prefix": {"equals-ignore-case": "abc"}}."""
    ignore_case = isinstance(operand, dict) and set(operand) == {"equals-ignore-case"}
    text = _string(operator, operand["equals-ignore-case"] if ignore_case else operand)
    if ignore_case:
        text = text.lower()
        if operator == "prefix":
            return lambda v: isinstance(v, str) and v.lower().startswith(text)
        return lambda v: isinstance(v, str) and v.lower().endswith(text)
    if operator == "prefix":
        return lambda v: isinstance(v, str) and v.startswith(text)
    return lambda v: isinstance(v, str) and v.endswith(text)


def _anything_but(operand: Any) -> Predicate:
    """Matches any present value other than the ones named (also prefix / suffix / equals-ignore-case forms)."""
    if isinstance(operand, dict):
        if len(operand) != 1:
            raise FilterPolicyError("FilterPolicy: Only one key allowed in match expression")
        inner, value = next(iter(operand.items()))
        if inner in ("prefix", "suffix"):
            text = _string(inner, value)
            if inner == "prefix":
                return lambda v: isinstance(v, str) and not v.startswith(text)
            return lambda v: isinstance(v, str) and not v.endswith(text)
        if inner == "equals-ignore-case":
            names = value if isinstance(value, list) else [value]
            if not names or not all(isinstance(n, str) for n in names):
                raise FilterPolicyError("FilterPolicy: equals-ignore-case match pattern must be a string")
            lowered = {n.lower() for n in names}
            return lambda v: not (isinstance(v, str) and v.lower() in lowered)
        raise FilterPolicyError(f"FilterPolicy: Unsupported anything-but pattern: {inner}")
    excluded = operand if isinstance(operand, list) else [operand]
    if not isinstance(operand, list) and not (isinstance(operand, str) or _is_number(operand)):
        raise FilterPolicyError("FilterPolicy: Value of anything-but must be an array or single string/number "
                                "value.")
    for item in excluded:
        if not (isinstance(item, str) or _is_number(item)):
            raise FilterPolicyError("FilterPolicy: Inside anything but list, start|null|boolean is not supported.")
    strings = {item for item in excluded if isinstance(item, str)}
    numbers = {float(item) for item in excluded if _is_number(item)}

    def predicate(v: Any) -> bool:
        if isinstance(v, str):
            return v not in strings
        if _is_number(v):
            return float(v) not in numbers
        return True

    return predicate


def _numeric(operand: Any) -> Predicate:
    """["=", 5], ["<", 5], [">=", 0, "<", 10] ... (Developer Guide, "Numeric value matching")."""
    if not isinstance(operand, list):
        raise FilterPolicyError("FilterPolicy: Value of numeric must be an array.")
    if not operand:
        raise FilterPolicyError("FilterPolicy: Invalid member in numeric match: ]")
    terms = list(operand)
    operator = terms[0]
    if not isinstance(operator, str):
        raise FilterPolicyError(f"FilterPolicy: Invalid member in numeric match: {_show(operator)}")
    if operator not in _NUMERIC_OPERATORS:
        raise FilterPolicyError(f"FilterPolicy: Unrecognized numeric range operator: {operator}")
    bound = terms[1] if len(terms) > 1 else None
    if not _is_number(bound):
        raise FilterPolicyError(f"FilterPolicy: Value of {'equals' if operator == '=' else operator} must be "
                                "numeric")
    assert bound is not None
    first = _comparison(operator, float(bound))
    if len(terms) == 2:
        return lambda v: _is_number(v) and first(float(v))
    if operator not in (">", ">="):
        raise FilterPolicyError("FilterPolicy: Too many elements in numeric expression")
    upper_operator = terms[2]
    if not isinstance(upper_operator, str):
        raise FilterPolicyError(f"FilterPolicy: Bad value in numeric range: {_show(upper_operator)}")
    if upper_operator not in ("<", "<="):
        raise FilterPolicyError(f"FilterPolicy: Bad numeric range operator: {upper_operator}")
    top = terms[3] if len(terms) > 3 else None
    if not _is_number(top):
        raise FilterPolicyError(f"FilterPolicy: Value of {upper_operator} must be numeric")
    assert top is not None
    if float(top) <= float(bound):
        raise FilterPolicyError("FilterPolicy: Bottom must be less than top")
    if len(terms) > 4:
        raise FilterPolicyError("FilterPolicy: Too many terms in numeric range expression")
    second = _comparison(upper_operator, float(top))
    return lambda v: _is_number(v) and first(float(v)) and second(float(v))


def _comparison(operator: str, bound: float) -> Callable[[float], bool]:
    if operator == "<":
        return lambda x: x < bound
    if operator == "<=":
        return lambda x: x <= bound
    if operator == "=":
        return lambda x: x == bound
    if operator == ">":
        return lambda x: x > bound
    return lambda x: x >= bound


def _cidr(operand: Any) -> Predicate:
    """An IPv4 or IPv6 block; matches string values that are addresses inside it."""
    if not isinstance(operand, str):
        # AWS reports a non-string cidr with the prefix wording (observed behaviour)
        raise FilterPolicyError("FilterPolicy: prefix match pattern must be a string")
    address, slash, mask = operand.partition("/")
    if not slash or "/" in mask:
        raise FilterPolicyError("FilterPolicy: Malformed CIDR, one '/' required")
    if not mask.isdigit():
        raise FilterPolicyError("FilterPolicy: Malformed CIDR, mask bits must be an integer")
    try:
        network = ipaddress.ip_network(operand, strict=False)
    except ValueError:
        raise FilterPolicyError(f"FilterPolicy: Nonstandard IP address: {address}") from None

    def predicate(v: Any) -> bool:
        if not isinstance(v, str):
            return False
        try:
            return ipaddress.ip_address(v) in network
        except ValueError:
            return False

    return predicate


def _show(value: Any) -> str:
    return orjson.dumps(value).decode() if not isinstance(value, str) else value
