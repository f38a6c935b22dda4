"""STS error codes (https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html)."""
from __future__ import annotations

from miniaws.core.errors import AwsError


class ValidationError(AwsError):
    status = 400
