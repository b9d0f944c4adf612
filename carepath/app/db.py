"""The app's store: saved scenarios and runs in one SQLite file under the data folder.

The schema is versioned: `MIGRATIONS` is an ordered list of SQL steps, each applied once, in a
transaction, and recorded in `schema_migrations`, so a data folder made by an older carepath is
brought up to date when the app starts (and one made by a newer carepath is refused, not
damaged). Only parameters and aggregate results live here: a scenario is its levers and
assumptions, a run is where its output folder is and how far it got. Child-level records never
enter the database.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from pathlib import Path
from typing import Optional

DB_NAME = "carepath_app.sqlite"

# Append only: a released step is never edited (a data folder may already have applied it).
MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "scenarios and runs", """
        CREATE TABLE scenarios (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            spec TEXT NOT NULL,                 -- JSON: baseline, seed, replications, assumptions, levers
            created TEXT NOT NULL,
            updated TEXT NOT NULL
        );
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            title TEXT NOT NULL,
            scenario_ids TEXT NOT NULL,         -- JSON list of the saved scenarios it ran
            scenario_set TEXT NOT NULL,         -- the scenario-set YAML it ran, as written
            status TEXT NOT NULL,               -- queued, running, finished, failed, cancelled, interrupted
            stage TEXT NOT NULL DEFAULT '',
            done INTEGER NOT NULL DEFAULT 0,
            total INTEGER NOT NULL DEFAULT 0,
            seconds_left REAL,
            folder TEXT NOT NULL DEFAULT '',
            message TEXT NOT NULL DEFAULT '',
            created TEXT NOT NULL,
            started TEXT,
            finished TEXT
        );
        CREATE INDEX runs_status ON runs(status);
    """),
    (2, "a run's draws of parameter uncertainty", """
        ALTER TABLE runs ADD COLUMN draws INTEGER NOT NULL DEFAULT 0;
    """),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


class StoreError(RuntimeError):
    """The data folder's database cannot be used (one plain line)."""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the steps this database has not had yet; its schema version after."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                 "description TEXT NOT NULL, applied TEXT NOT NULL)")
    have = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
    newer = [v for v in have if v > SCHEMA_VERSION]
    if newer:
        raise StoreError(f"the app's database was written by a newer carepath (schema version {max(newer)}, "
                         f"this one knows up to {SCHEMA_VERSION}); use that carepath or another --data folder")
    for version, description, sql in MIGRATIONS:
        if version in have:
            continue
        with conn:  # one transaction a step: a failed step leaves the previous version intact
            conn.execute("BEGIN")
            for statement in (s.strip() for s in sql.split(";")):
                if statement:
                    conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, description, _now()))
    return max(v for v, _, _ in MIGRATIONS)


class Store:
    """Scenarios and runs. One connection shared by the web handlers and the run queue, behind a
    lock (SQLite allows one writer; the app's writes are small)."""

    def __init__(self, data: Path):
        self.data = Path(data)
        try:
            self.data.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.data / DB_NAME, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{self.data}: cannot open the app's database ({exc})") from None
        self.conn.row_factory = sqlite3.Row
        self.lock = threading.RLock()
        try:
            with self.lock:
                self.conn.execute("PRAGMA foreign_keys = ON")
                self.version = migrate(self.conn)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.data / DB_NAME}: not a database carepath can read ({exc})") from None

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    def _all(self, sql: str, args=()) -> list[dict]:
        with self.lock:
            return [dict(r) for r in self.conn.execute(sql, args)]

    def _one(self, sql: str, args=()) -> Optional[dict]:
        rows = self._all(sql, args)
        return rows[0] if rows else None

    def _write(self, sql: str, args=()) -> int:
        with self.lock, self.conn:
            cur = self.conn.execute(sql, args)
            return cur.lastrowid

    # --------------------------------------------------------------------- scenarios
    @staticmethod
    def _scenario(row: Optional[dict]) -> Optional[dict]:
        if row is None:
            return None
        row["spec"] = json.loads(row["spec"])
        return row

    def scenarios(self) -> list[dict]:
        return [self._scenario(r) for r in self._all("SELECT * FROM scenarios ORDER BY lower(name)")]

    def scenario(self, sid: int) -> Optional[dict]:
        return self._scenario(self._one("SELECT * FROM scenarios WHERE id = ?", (sid,)))

    def scenario_named(self, name: str) -> Optional[dict]:
        return self._scenario(self._one("SELECT * FROM scenarios WHERE name = ?", (name,)))

    def save_scenario(self, spec: dict, sid: Optional[int] = None) -> int:
        blob = json.dumps(spec, sort_keys=True)
        if sid is None:
            return self._write("INSERT INTO scenarios (name, spec, created, updated) VALUES (?, ?, ?, ?)",
                               (spec["name"], blob, _now(), _now()))
        self._write("UPDATE scenarios SET name = ?, spec = ?, updated = ? WHERE id = ?", (spec["name"], blob, _now(), sid))
        return sid

    def delete_scenario(self, sid: int) -> None:
        self._write("DELETE FROM scenarios WHERE id = ?", (sid,))

    def free_name(self, name: str) -> str:
        """`name`, or `name (2)`, `name (3)`, ... whichever is not taken yet."""
        taken = {r["name"] for r in self._all("SELECT name FROM scenarios")}
        if name not in taken:
            return name
        n = 2
        while f"{name} ({n})" in taken:
            n += 1
        return f"{name} ({n})"

    # --------------------------------------------------------------------- runs
    @staticmethod
    def _run(row: Optional[dict]) -> Optional[dict]:
        if row is None:
            return None
        row["scenario_ids"] = json.loads(row["scenario_ids"])
        return row

    def runs(self) -> list[dict]:
        return [self._run(r) for r in self._all("SELECT * FROM runs ORDER BY id DESC")]

    def run(self, rid: int) -> Optional[dict]:
        return self._run(self._one("SELECT * FROM runs WHERE id = ?", (rid,)))

    def add_run(self, title: str, scenario_ids: list[int], scenario_set: str, draws: int = 0) -> int:
        return self._write("INSERT INTO runs (title, scenario_ids, scenario_set, status, created, draws) "
                           "VALUES (?, ?, ?, 'queued', ?, ?)", (title, json.dumps(scenario_ids), scenario_set, _now(), draws))

    def update_run(self, rid: int, **fields) -> None:
        if fields.get("status") == "running" and "started" not in fields:
            fields["started"] = _now()
        if fields.get("status") in ("finished", "failed", "cancelled") and "finished" not in fields:
            fields["finished"] = _now()
        cols = ", ".join(f"{k} = ?" for k in fields)
        self._write(f"UPDATE runs SET {cols} WHERE id = ?", (*fields.values(), rid))

    def next_queued(self) -> Optional[dict]:
        return self._run(self._one("SELECT * FROM runs WHERE status = 'queued' ORDER BY id LIMIT 1"))

    def mark_interrupted(self) -> None:
        """Runs left 'running' by an app that stopped: they did not finish."""
        self._write("UPDATE runs SET status = 'interrupted', message = 'the app stopped before this run finished; "
                    "run it again (finished replications are kept)' WHERE status = 'running'")
