"""Development-time generators (run by engineers and tests, never imported by the running server)."""
