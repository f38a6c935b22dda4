"""The SQLite database file: opening it in WAL mode and the schema of the keyed journal."""
from __future__ import annotations

from pathlib import Path

import aiosqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    ns    TEXT NOT NULL,
    key   TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;
"""


async def open_database(path: Path) -> aiosqlite.Connection:
    """Open (creating) the state database. synchronous=FULL: a commit is on disk before it returns,
    which is what lets the gateway acknowledge a write only after its batch committed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = await aiosqlite.connect(str(path), isolation_level=None)
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=FULL")
    await db.execute("PRAGMA busy_timeout=5000")
    await db.executescript(SCHEMA)
    return db
