"""ELBv2 error codes, named exactly like AWS's (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/
CommonErrors.html and each operation's "Errors" section). All are sender faults with HTTP 400."""
from __future__ import annotations

from miniaws.core.errors import AwsError


class ValidationError(AwsError):
    status = 400


class DuplicateLoadBalancerName(AwsError):
    status = 400


class DuplicateTargetGroupName(AwsError):
    status = 400


class DuplicateListener(AwsError):
    status = 400
    default_message = "A listener already exists on this port for this load balancer"


class DuplicateTagKeys(AwsError):
    status = 400


class LoadBalancerNotFound(AwsError):
    status = 400
    default_message = "One or more load balancers not found"


class ListenerNotFound(AwsError):
    status = 400
    default_message = "One or more listeners not found"


class RuleNotFound(AwsError):
    status = 400
    default_message = "One or more rules not found"


class TargetGroupNotFound(AwsError):
    status = 400
    default_message = "One or more target groups not found"


class CertificateNotFound(AwsError):
    status = 400


class SSLPolicyNotFound(AwsError):
    status = 400


class PriorityInUse(AwsError):
    status = 400


class ResourceInUse(AwsError):
    status = 400


class OperationNotPermitted(AwsError):
    status = 400


class InvalidConfigurationRequest(AwsError):
    status = 400


class InvalidLoadBalancerAction(AwsError):
    status = 400


class InvalidTarget(AwsError):
    status = 400


class IncompatibleProtocols(AwsError):
    status = 400


class UnsupportedProtocol(AwsError):
    status = 400


class InvalidScheme(AwsError):
    status = 400


class TooManyTags(AwsError):
    status = 400
    default_message = "You've reached the limit on the number of tags for this resource"


class TooManyTargets(AwsError):
    status = 400


class TooManyRules(AwsError):
    status = 400


class TooManyActions(AwsError):
    status = 400


class TooManyListeners(AwsError):
    status = 400


class TooManyCertificates(AwsError):
    status = 400


class TooManyTargetGroups(AwsError):
    status = 400


class TooManyLoadBalancers(AwsError):
    status = 400


class TargetGroupAssociationLimit(AwsError):
    status = 400
