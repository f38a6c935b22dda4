"""Unit tests of the SQS service: digests, validation tables, the store with a fake clock."""
