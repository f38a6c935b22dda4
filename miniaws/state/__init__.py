"""Durable state: the keyed journal in SQLite (WAL) and the object-body store. The only package that writes SQL."""
