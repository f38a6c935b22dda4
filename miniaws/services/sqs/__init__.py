"""The sqs service."""
