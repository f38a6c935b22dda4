"""The cloudfront service."""
