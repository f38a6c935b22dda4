"""CloudFront error codes (each operation's "Errors" section of the API reference,
https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_Operations_Amazon_CloudFront.html).

They render in the namespaced `<ErrorResponse><Error><Type>Sender</Type><Code>…` form (rest_xml.serialize_error).
"""
from __future__ import annotations

from miniaws.core.errors import AccessDenied, AwsError, InvalidArgument

__all__ = ["AccessDenied", "InvalidArgument"]


class InconsistentQuantities(AwsError):
    status = 400
    default_message = "The value of Quantity and the size of Items don't match."


class MissingBody(AwsError):
    status = 400
    default_message = "This operation requires a body. Ensure that the body is present and the Content-Type header is set."


class InvalidIfMatchVersion(AwsError):
    status = 400
    default_message = "The If-Match version is missing or not valid."


class PreconditionFailed(AwsError):
    status = 412
    default_message = "The precondition given in one or more of the request-header fields evaluated to false."


class IllegalUpdate(AwsError):
    status = 400


class IllegalDelete(AwsError):
    status = 400


class InvalidOrigin(AwsError):
    status = 400


class InvalidOriginAccessControl(AwsError):
    status = 400


class IllegalOriginAccessConfiguration(AwsError):
    status = 400


class InvalidOriginReadTimeout(AwsError):
    status = 400


class InvalidOriginKeepaliveTimeout(AwsError):
    status = 400


class InvalidDefaultRootObject(AwsError):
    status = 400


class InvalidErrorCode(AwsError):
    status = 400


class InvalidResponseCode(AwsError):
    status = 400


class InvalidRelativePath(AwsError):
    status = 400


class InvalidTTLOrder(AwsError):
    status = 400


class InvalidForwardCookies(AwsError):
    status = 400


class InvalidTagging(AwsError):
    status = 400


class InvalidViewerCertificate(AwsError):
    status = 400


class InvalidProtocolSettings(AwsError):
    status = 400


class InvalidHeadersForS3Origin(AwsError):
    status = 400


class InvalidLambdaFunctionAssociation(AwsError):
    status = 400
    default_message = "The specified Lambda@Edge function association is invalid."


class BatchTooLarge(AwsError):
    status = 413


class TooManyOrigins(AwsError):
    status = 400


class TooManyCacheBehaviors(AwsError):
    status = 400


class TooManyOriginCustomHeaders(AwsError):
    status = 400


class TooManyOriginGroupsPerDistribution(AwsError):
    status = 400


class TooManyDistributionCNAMEs(AwsError):
    status = 400


class TooManyLambdaFunctionAssociations(AwsError):
    status = 400
    default_message = ("Your request contains more Lambda@Edge function associations than are allowed per "
                       "distribution.")


class TooManyHeadersInForwardedValues(AwsError):
    status = 400


class TooManyCookieNamesInWhiteList(AwsError):
    status = 400


class TooManyQueryStringParameters(AwsError):
    status = 400


class TooManyHeadersInCachePolicy(AwsError):
    status = 400


class TooManyCookiesInCachePolicy(AwsError):
    status = 400


class TooManyQueryStringsInCachePolicy(AwsError):
    status = 400


class TooManyHeadersInOriginRequestPolicy(AwsError):
    status = 400


class TooManyCookiesInOriginRequestPolicy(AwsError):
    status = 400


class TooManyQueryStringsInOriginRequestPolicy(AwsError):
    status = 400


class TooManyCustomHeadersInResponseHeadersPolicy(AwsError):
    status = 400


class TooManyRemoveHeadersInResponseHeadersPolicy(AwsError):
    status = 400


class TooLongCSPInResponseHeadersPolicy(AwsError):
    status = 400


class TooManyInvalidationsInProgress(AwsError):
    status = 400


class NoSuchDistribution(AwsError):
    status = 404
    default_message = "The specified distribution does not exist."


class NoSuchOrigin(AwsError):
    status = 404


class NoSuchCachePolicy(AwsError):
    status = 404
    default_message = "The cache policy does not exist."


class NoSuchOriginRequestPolicy(AwsError):
    status = 404
    default_message = "The origin request policy does not exist."


class NoSuchResponseHeadersPolicy(AwsError):
    status = 404
    default_message = "The response headers policy does not exist."


class NoSuchOriginAccessControl(AwsError):
    status = 404
    default_message = "The origin access control does not exist."


class NoSuchInvalidation(AwsError):
    status = 404
    default_message = "The specified invalidation does not exist."


class NoSuchResource(AwsError):
    status = 404
    default_message = "The specified CloudFront resource does not exist."


class DistributionAlreadyExists(AwsError):
    status = 409


class DistributionNotDisabled(AwsError):
    status = 409
    default_message = "The distribution you are trying to delete has not been disabled."


class CNAMEAlreadyExists(AwsError):
    status = 409


class CachePolicyAlreadyExists(AwsError):
    status = 409


class CachePolicyInUse(AwsError):
    status = 409
    default_message = "Cannot delete cache policy, it is attached to one or more cache behaviors."


class OriginRequestPolicyAlreadyExists(AwsError):
    status = 409


class OriginRequestPolicyInUse(AwsError):
    status = 409
    default_message = "Cannot delete origin request policy, it is attached to one or more cache behaviors."


class ResponseHeadersPolicyAlreadyExists(AwsError):
    status = 409


class ResponseHeadersPolicyInUse(AwsError):
    status = 409
    default_message = "Cannot delete response headers policy, it is attached to one or more cache behaviors."


class OriginAccessControlAlreadyExists(AwsError):
    status = 409


class OriginAccessControlInUse(AwsError):
    status = 409
    default_message = "Cannot delete the origin access control, it is in use by one or more distributions."


class InvalidationBatchAlreadyExists(AwsError):
    """Not in botocore's model, but what CloudFront answers when a CallerReference is reused with other paths
    (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_InvalidationBatch.html)."""

    status = 409
