"""miniaws: one asyncio process that emulates the AWS primitives an Amazon-style shop is built from."""
from __future__ import annotations

__version__ = "0.1.0"
