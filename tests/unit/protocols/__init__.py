"""Codec tests: botocore is the oracle."""
