"""Wire codecs, sans-IO (bytes and mappings in, bytes and mappings out; no aiohttp): query, rest-xml and
the REST routing they share, compiled from the generated `services/<svc>/_spec.py` tables."""
