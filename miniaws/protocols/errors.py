"""Errors the wire codecs raise themselves, before any service code runs (bad XML, mistyped values)."""
from __future__ import annotations

from miniaws.core.errors import AwsError, InvalidArgument, MalformedXML

__all__ = ["InvalidArgument", "MalformedXML", "MissingAction"]


class MissingAction(AwsError):
    """A query-protocol request without an Action parameter."""

    status = 400
    default_message = "Missing Action"
