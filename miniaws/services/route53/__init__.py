"""The route53 service."""
