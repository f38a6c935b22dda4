"""Unit tests of the SNS service: filter policies as case tables, signatures, delivery policies, the store."""
