"""The function runtime (DESIGN §8): execution environments as worker processes speaking the Lambda Runtime API."""
