"""The kine SQLite database: where it lives, and a consistent copy of it while kine writes.

`VACUUM INTO` runs inside one read transaction, so the copy is a consistent snapshot of the database
even while kine commits (WAL mode lets the writer go on); it is also compacted. The stdlib's sqlite3
module does it: no dependency, no extra process.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from k0spy.errors import K0spyError


def sqlite_path(data_source: str, data_dir: Path) -> Path | None:
    """The database file of a `sqlite://` kine data source, or None for another backend.

    `sqlite://file:/var/lib/k0s/db/state.db?mode=rwc&_journal=WAL` -> /var/lib/k0s/db/state.db; a
    relative path is taken relative to the data dir.
    """
    backend, sep, dsn = data_source.partition("://")
    if not sep or backend != "sqlite":
        return None
    path = dsn.removeprefix("file:").split("?", 1)[0]
    if not path or path == ":memory:":
        raise K0spyError(f"kine data source {data_source!r} names no database file",
                         hint="back up an in-memory or path-less SQLite database by hand")
    return Path(path) if path.startswith("/") else data_dir / path


def vacuum_into(source: Path, dest: Path) -> None:
    """Write a consistent, compacted copy of `source` to `dest` (which must not exist)."""
    if not source.is_file():
        raise K0spyError(f"the kine database {source} does not exist",
                         hint="check storage.kine.dataSource in the controller's config")
    try:
        conn = sqlite3.connect(f"file:{quote(str(source))}?mode=ro", uri=True, timeout=30)
        try:
            conn.execute("VACUUM INTO ?", (str(dest),))
        finally:
            conn.close()
    except sqlite3.Error as err:
        raise K0spyError(f"copying the kine database {source} with VACUUM INTO: {err}") from err


def integrity_problem(path: Path) -> str | None:
    """None if SQLite's quick_check passes on `path`, else what it reported."""
    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro&immutable=1", uri=True)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as err:
        return str(err)
    result = "; ".join(str(row[0]) for row in rows)
    return None if result == "ok" else result
