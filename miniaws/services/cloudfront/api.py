"""The CloudFront service: distributions, policies, origin access controls and invalidations in one Service."""
from __future__ import annotations

from miniaws.services.cloudfront.api_distributions import DistributionOperations
from miniaws.services.cloudfront.api_invalidations import InvalidationOperations
from miniaws.services.cloudfront.api_policies import PolicyOperations


class CloudFrontService(DistributionOperations, PolicyOperations, InvalidationOperations):
    """CloudFront as SDKs see it on the one AWS endpoint; its edge answers the edge port."""
