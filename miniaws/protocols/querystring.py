"""Splitting a URL query string (or a form body) into decoded (name, value) pairs, sans-IO.

Exactly `urllib.parse.parse_qsl(text, keep_blank_values=True)`: fields split on "&" only, empty fields dropped,
a field without "=" is a name with an empty value, "+" is a space, %XX escapes are UTF-8 (invalid bytes become
U+FFFD). Every AWS request goes through it (a presigned URL carries six X-Amz-* fields, one of them escaped), and
parse_qsl cost ~9 µs there: replace() and unquote() calls on fields with nothing to decode, and unquote's
regex split and bytes round trip for escapes of ASCII characters ("%2F"). Both are skipped here.
"""
from __future__ import annotations

from urllib.parse import unquote

_HEX_DIGITS = "0123456789ABCDEFabcdef"
#: every %XX escape of an ASCII character (both letter cases, as unquote accepts) → that character
_ASCII_ESCAPES: dict[str, str] = {a + b: chr(int(a + b, 16)) for a in _HEX_DIGITS for b in _HEX_DIGITS
                                  if int(a + b, 16) < 0x80}


def percent_decode(text: str) -> str:
    """`urllib.parse.unquote(text)`. Escapes of ASCII characters decode on their own, one character each, so they
    are replaced directly; anything else (a UTF-8 sequence, an invalid escape) is left to unquote."""
    if "%" not in text:
        return text
    parts = text.split("%")
    out = [parts[0]]
    for part in parts[1:]:
        char = _ASCII_ESCAPES.get(part[:2])
        if char is None:
            return unquote(text)
        out.append(char)
        out.append(part[2:])
    return "".join(out)


def split_query(text: str) -> list[tuple[str, str]]:
    """`urllib.parse.parse_qsl(text, keep_blank_values=True)`, faster."""
    pairs: list[tuple[str, str]] = []
    if not text:
        return pairs
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "+" in field:
            name, value = name.replace("+", " "), value.replace("+", " ")
        if "%" in field:
            name, value = percent_decode(name), percent_decode(value)
        pairs.append((name, value))
    return pairs


__all__ = ["percent_decode", "split_query"]
