"""Route 53 error codes (each operation's "Errors" section of the API reference,
https://docs.aws.amazon.com/Route53/latest/APIReference/API_Operations_Amazon_Route_53.html).

They render in the namespaced `<ErrorResponse><Error><Type>Sender</Type><Code>…` form (rest_xml.serialize_error).
"""
from __future__ import annotations

from miniaws.core.errors import AwsError


class InvalidInput(AwsError):
    status = 400


class InvalidDomainName(AwsError):
    status = 400


class InvalidChangeBatch(AwsError):
    """Several problems are joined the way Route 53 reports them: `[first, second]`."""

    status = 400

    def __init__(self, messages: list[str]) -> None:
        super().__init__("[" + ", ".join(messages) + "]")
        self.messages = messages


class NoSuchHostedZone(AwsError):
    status = 404


class NoSuchChange(AwsError):
    status = 404


class NoSuchHealthCheck(AwsError):
    status = 404


class HostedZoneAlreadyExists(AwsError):
    status = 409


class HostedZoneNotEmpty(AwsError):
    status = 400
    default_message = "The specified hosted zone contains non-required resource record sets and so cannot be deleted."


class HealthCheckAlreadyExists(AwsError):
    status = 409


class HealthCheckVersionMismatch(AwsError):
    status = 409
    default_message = "The value of HealthCheckVersion in the request doesn't match the value of HealthCheckVersion " \
                      "in the health check."


class InvalidVPCId(AwsError):
    status = 400


class ConflictingDomainExists(AwsError):
    status = 400
