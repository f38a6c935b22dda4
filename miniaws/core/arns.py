"""ARN pieces shared by every service: the partition a region belongs to."""
from __future__ import annotations


def partition(region: str) -> str:
    """aws, aws-cn or aws-us-gov (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"
