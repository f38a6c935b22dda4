"""S3 input rules: bucket names, key lengths, part numbers, location constraints.

Bucket naming rules: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
"""
from __future__ import annotations

import re

from miniaws.services.s3.errors import InvalidArgument, InvalidBucketName, KeyTooLongError

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4 = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")

MAX_KEY_BYTES = 1024
MAX_PART_NUMBER = 10_000

#: regions S3 accepts as a LocationConstraint (CreateBucketConfiguration)
REGIONS = frozenset({
    "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
    "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
    "ap-southeast-7", "ca-central-1", "ca-west-1", "cn-north-1", "cn-northwest-1", "eu-central-1",
    "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
    "il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2",
    "us-gov-east-1", "us-gov-west-1", "us-west-1", "us-west-2", "EU",
})


def check_bucket_name(name: str) -> None:
    if (not _BUCKET.match(name) or ".." in name or ".-" in name or "-." in name or _IPV4.match(name)
            or name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES)):
        raise InvalidBucketName(BucketName=name)


def check_key(key: str) -> None:
    if not key:
        raise InvalidArgument("Key must not be empty", ArgumentName="key")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise KeyTooLongError(Size=str(len(key.encode("utf-8", "surrogatepass"))), MaxSizeAllowed=str(MAX_KEY_BYTES))


def check_part_number(number: int | None) -> int:
    if number is None or not 1 <= number <= MAX_PART_NUMBER:
        raise InvalidArgument("Part number must be an integer between 1 and 10000, inclusive",
                              ArgumentName="partNumber", ArgumentValue=str(number))
    return number


def check_max(value: int | None, name: str, default: int = 1000, ceiling: int = 1000) -> int:
    """max-keys / max-uploads / max-parts: negative is an error, above the ceiling is clamped (as S3 does)."""
    if value is None:
        return default
    if value < 0:
        raise InvalidArgument(f"Argument {name} must be an integer between 0 and 2147483647",
                              ArgumentName=name, ArgumentValue=str(value))
    return min(value, ceiling)
