"""Deferred CA-bundle loading: contexts made inside `deferred()` get their trust store later, never not at all."""
from __future__ import annotations

import ssl

from miniaws.core import cabundle


def _ca_count(context: ssl.SSLContext) -> int:
    return int(context.cert_store_stats()["x509_ca"])


def test_contexts_made_while_deferred_load_their_trust_store_on_ensure_loaded() -> None:
    baseline = _ca_count(ssl.create_default_context())
    assert baseline > 0, "this machine has a system CA bundle"
    with cabundle.deferred():
        verified = ssl.create_default_context()
        unverified = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        unverified.set_default_verify_paths()
    assert _ca_count(verified) == 0 and _ca_count(unverified) == 0
    assert cabundle.pending() >= 2
    # outside the block the real method is back: a new context loads at once
    assert _ca_count(ssl.create_default_context()) == baseline
    cabundle.ensure_loaded()
    assert cabundle.pending() == 0
    assert _ca_count(verified) == baseline and _ca_count(unverified) == baseline
    cabundle.ensure_loaded()  # idempotent


async def test_load_in_background_loads_off_the_loop() -> None:
    with cabundle.deferred():
        context = ssl.create_default_context()
    await cabundle.load_in_background()
    assert cabundle.pending() == 0 and _ca_count(context) > 0
