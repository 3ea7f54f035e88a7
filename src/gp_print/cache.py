"""A persistent cache of galley measurements, keyed by content.

Setting a galley in WeasyPrint is the planner's main cost; the result depends only on the
probe's HTML and width, the stylesheets, the fonts and the versions of gp-print and WeasyPrint
— all of which are in the key — so a rebuild, or tomorrow's edition reusing a story, measures
nothing twice.  One SQLite file; safe for parallel builds (SQLite serialises writers).

Where: `$GP_PRINT_CACHE_DIR`, else `$XDG_CACHE_HOME/gp-print`, else `~/.cache/gp-print`.
`GP_PRINT_NO_CACHE=1` turns the disk cache off (measurements are then kept in memory only).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path


def cache_dir() -> Path:
    if os.environ.get("GP_PRINT_CACHE_DIR"):
        return Path(os.environ["GP_PRINT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gp-print"


class MeasureStore:
    """Key → JSON value, on disk."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_dir() / "measure.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS probe (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, object]]:
        keys = list(keys)
        found: dict[str, dict[str, object]] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for key, value in self._db.execute(f"SELECT key, value FROM probe WHERE key IN ({marks})", chunk):
                found[key] = json.loads(value)
        return found

    def put_many(self, items: dict[str, dict[str, object]]) -> None:
        if not items:
            return
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO probe (key, value) VALUES (?, ?)",
                                 [(k, json.dumps(v, separators=(",", ":"))) for k, v in items.items()])

    def close(self) -> None:
        self._db.close()


def open_store() -> MeasureStore | None:
    """The disk cache, or None when it is turned off or cannot be opened (then memory only)."""
    if os.environ.get("GP_PRINT_NO_CACHE"):
        return None
    try:
        return MeasureStore()
    except (OSError, sqlite3.Error):
        return None
