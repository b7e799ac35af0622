"""Submitted provider batches, recorded in the cache database so a killed run resumes them.

Two tables next to the answers: ``batches`` (one row per submitted batch: its id, API, endpoint,
state) and ``batch_items`` (which cache key went into which batch). A batch is ``submitted``
until its results are in the cache (``collected``), or ``lost`` when the API no longer knows it.
Each write commits at once (autocommit, WAL), like the answers themselves.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

State = Literal["submitting", "submitted", "collected", "lost"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    api TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    state TEXT NOT NULL,
    requests INTEGER NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    status TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS batch_items (
    key TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    template_key TEXT NOT NULL,
    model TEXT NOT NULL,
    PRIMARY KEY (batch_id, key)
);
CREATE INDEX IF NOT EXISTS batch_items_key ON batch_items (key);
"""


@dataclass(frozen=True)
class BatchRecord:
    batch_id: str
    api: str
    endpoint: str
    model: str
    state: str
    requests: int
    created: float
    status: str


class BatchStore:
    """The batch tables of one cache database."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def record(
        self,
        batch_id: str,
        *,
        api: str,
        endpoint: str,
        model: str,
        items: Iterable[tuple[str, str]],
        state: State = "submitted",
    ) -> None:
        """Record a batch (about to be, or just, submitted) and its (key, template_key) items, at once."""
        rows = list(items)
        now = time.time()
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT OR REPLACE INTO batches VALUES (?,?,?,?,?,?,?,?,?)",
                (batch_id, api, endpoint, model, state, len(rows), now, now, state),
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO batch_items VALUES (?,?,?,?)",
                [(key, batch_id, template_key, model) for key, template_key in rows],
            )

    def adopt(self, provisional_id: str, batch_id: str) -> None:
        """The API created the batch recorded under ``provisional_id``: give it its real id."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "UPDATE batches SET batch_id = ?, state = 'submitted', status = 'submitted', updated = ? "
                "WHERE batch_id = ?",
                (batch_id, time.time(), provisional_id),
            )
            self._db.execute(
                "UPDATE batch_items SET batch_id = ? WHERE batch_id = ?", (batch_id, provisional_id)
            )

    def open_batches(self, endpoint: str, keys: set[str]) -> dict[str, set[str]]:
        """The still-submitted batches of ``endpoint`` that hold any of ``keys``: batch id -> those keys."""
        found: dict[str, set[str]] = {}
        rows = self._db.execute(
            "SELECT i.batch_id, i.key FROM batch_items i JOIN batches b ON b.batch_id = i.batch_id "
            "WHERE b.state = 'submitted' AND b.endpoint = ? ORDER BY b.created",
            (endpoint,),
        )
        for batch_id, key in rows:
            if key in keys:
                found.setdefault(batch_id, set()).add(key)
        return found

    def template_keys(self, batch_id: str) -> dict[str, tuple[str, str]]:
        """key -> (template_key, model) of every item of a batch."""
        rows = self._db.execute(
            "SELECT key, template_key, model FROM batch_items WHERE batch_id = ?", (batch_id,)
        )
        return {key: (template_key, model) for key, template_key, model in rows}

    def set_state(self, batch_id: str, state: State, status: str = "") -> None:
        self._db.execute(
            "UPDATE batches SET state = ?, status = ?, updated = ? WHERE batch_id = ?",
            (state, status or state, time.time(), batch_id),
        )

    def set_status(self, batch_id: str, status: str) -> None:
        """The API's latest word on a batch (in_progress, finalizing, ...), for `batches()`."""
        self._db.execute(
            "UPDATE batches SET status = ?, updated = ? WHERE batch_id = ?", (status, time.time(), batch_id)
        )

    def batches(self) -> list[BatchRecord]:
        rows = self._db.execute(
            "SELECT batch_id, api, endpoint, model, state, requests, created, status FROM batches "
            "ORDER BY created"
        )
        return [BatchRecord(*row) for row in rows]

    def close(self) -> None:
        self._db.close()
