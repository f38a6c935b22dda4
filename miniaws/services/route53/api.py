"""The Route 53 service: zone, record and health check operations composed into one Service."""
from __future__ import annotations

from miniaws.services.route53.api_healthchecks import HealthCheckOperations
from miniaws.services.route53.api_records import RecordOperations
from miniaws.services.route53.api_zones import ZoneOperations


class Route53Service(ZoneOperations, RecordOperations, HealthCheckOperations):
    """Route 53 as SDKs see it on the one AWS endpoint; its resolver answers the DNS port."""
