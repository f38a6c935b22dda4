"""DNS names as Route 53 stores them: lower case, trailing dot, special characters as `\\ooo` octal escapes.

https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DomainNameFormat.html: Route 53 stores letters in
lower case and returns any character other than a-z, 0-9, `-` and `_` as a three-digit octal escape (so a
wildcard record comes back as `\\052.example.com.`). The DNS server uses the same canonical text as its keys.
"""
from __future__ import annotations

_PLAIN = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-_")
_ESCAPED = {b: (chr(b) if b in _PLAIN else "\\%03o" % b) for b in range(256)}
_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")

MAX_LABEL = 63
MAX_NAME = 255
WILDCARD_LABEL = "\\052"

#: the hosted zone id every alias to a CloudFront distribution names (AWS's AliasTarget documentation)
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"
#: distributions' domain names here (`<id>.cloudfront.localhost.`) and as AWS writes them (`.cloudfront.net.`)
CLOUDFRONT_SUFFIX = ".cloudfront.localhost."
_CLOUDFRONT_AWS_SUFFIX = ".cloudfront.net."


def alias_target_name(hosted_zone_id: str, dns_name: str) -> str:
    """The name an alias target is looked up by: `<id>.cloudfront.net.` in CloudFront's zone means the
    distribution's own `<id>.cloudfront.localhost.`; other names are themselves."""
    if hosted_zone_id == CLOUDFRONT_ZONE_ID and dns_name.endswith(_CLOUDFRONT_AWS_SUFFIX):
        return dns_name[:-len(_CLOUDFRONT_AWS_SUFFIX)] + CLOUDFRONT_SUFFIX
    return dns_name


class BadName(ValueError):
    """Text that is not a valid domain name (the message says why)."""


def parse_labels(text: str) -> list[bytes]:
    """Labels (raw bytes, case kept) of a name in presentation format; a trailing dot is optional."""
    if text in (".", ""):
        return []
    labels: list[bytes] = []
    current = bytearray()
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            digits = text[i + 1:i + 4]
            if len(digits) == 3 and digits.isdigit():
                # Route 53's escapes are octal (\052 is "*"), unlike RFC 1035's decimal \DDD
                if not all(c in "01234567" for c in digits) or int(digits, 8) > 255:
                    raise BadName(f"bad escape in {text!r}")
                current.append(int(digits, 8))
                i += 4
                continue
            if i + 1 >= n:
                raise BadName(f"dangling escape in {text!r}")
            current.extend(text[i + 1].encode("utf-8"))
            i += 2
            continue
        if ch == ".":
            if not current:
                raise BadName(f"empty label in {text!r}")
            labels.append(bytes(current))
            current = bytearray()
            i += 1
            continue
        current.extend(ch.encode("utf-8"))
        i += 1
    if current:
        labels.append(bytes(current))
    elif text and not text.endswith("."):
        raise BadName(f"empty label in {text!r}")
    for label in labels:
        if len(label) > MAX_LABEL:
            raise BadName(f"label longer than {MAX_LABEL} bytes in {text!r}")
    if sum(len(label) + 1 for label in labels) + 1 > MAX_NAME:
        raise BadName(f"name longer than {MAX_NAME} bytes: {text!r}")
    return labels


def label_text(label: bytes) -> str:
    """One label in canonical text (lower case, escaped)."""
    return "".join(_ESCAPED[b] for b in label.translate(_LOWER))


def from_labels(labels: list[bytes] | tuple[bytes, ...]) -> str:
    """Canonical text of a name given as wire labels (the DNS server's query names)."""
    if not labels:
        return "."
    return ".".join(label_text(label) for label in labels) + "."


def canonical(text: str) -> str:
    """`WWW.Example.com` → `www.example.com.`; `*.example.com` → `\\052.example.com.`. Raises BadName."""
    return from_labels(parse_labels(text))


def to_labels(name: str) -> list[bytes]:
    """Wire labels of a canonical name (the inverse of from_labels)."""
    return parse_labels(name)


def parent(name: str) -> str | None:
    """`a.b.example.com.` → `b.example.com.`; the root has no parent."""
    if name == ".":
        return None
    # canonical text never contains a literal dot inside a label (it would be \056)
    rest = name.split(".", 1)[1]
    return rest or "."


def is_subdomain(name: str, zone: str) -> bool:
    """`name` equals `zone` or lies below it (both canonical)."""
    return zone == "." or name == zone or name.endswith("." + zone)


def sort_key(name: str) -> str:
    """ListResourceRecordSets order: labels reversed, trailing dot (`www.example.com.` → `com.example.www.`).

    https://docs.aws.amazon.com/Route53/latest/APIReference/API_ListResourceRecordSets.html ("Sort order")
    """
    if name == ".":
        return "."
    return ".".join(reversed(name[:-1].split("."))) + "."

