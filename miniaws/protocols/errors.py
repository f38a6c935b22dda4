"""Errors the wire codecs raise themselves, before any service code runs (bad XML, mistyped values)."""
from __future__ import annotations

from miniaws.core.errors import AwsError


class MalformedXML(AwsError):
    """A request body that is not well-formed XML, or whose values do not fit the schema (S3's wording)."""

    status = 400
    default_message = ("The XML you provided was not well-formed or did not validate against our "
                       "published schema")


class InvalidArgument(AwsError):
    """A header, query-string or path value of the wrong type (S3 adds ArgumentName/ArgumentValue)."""

    status = 400


class MissingAction(AwsError):
    """A query-protocol request without an Action parameter."""

    status = 400
    default_message = "Missing Action"
