"""Deferred CA-bundle loading: aiohttp parses the system CA bundle at import, and miniaws's start-up need not wait.

aiohttp builds two client SSL contexts when it is imported (its default verified and unverified contexts), and each
parses the whole system CA bundle: ~25 ms apiece, about an eighth of miniaws's start-up. The AWS endpoint never
uses them. The process entry point imports aiohttp inside `deferred()`, which records those contexts instead of
loading them; `load_in_background()` loads them once the listeners are up, and `ensure_loaded()` loads whatever is
still pending synchronously, so every outbound HTTPS client calls it before its first session (no request can
ever see a context without its trust store).
"""
from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Iterator

_pending: list[ssl.SSLContext] = []
_lock = threading.Lock()


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """While inside, SSL contexts asking for the default trust store are recorded; loading them is deferred."""

    def record(context: ssl.SSLContext) -> None:
        with _lock:
            _pending.append(context)

    ssl.SSLContext.set_default_verify_paths = record  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        del ssl.SSLContext.set_default_verify_paths  # the inherited _ssl method again


def ensure_loaded() -> None:
    """Load every deferred context's default trust store now (idempotent, thread-safe)."""
    with _lock:
        while _pending:
            _pending.pop().set_default_verify_paths()


def pending() -> int:
    return len(_pending)


async def load_in_background() -> None:
    """Off the event loop (OpenSSL releases the GIL while it parses)."""
    if _pending:
        await asyncio.to_thread(ensure_loaded)
