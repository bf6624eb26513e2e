"""kine/SQLite: a backup taken while a real writer process commits is a consistent copy, and restores.

The database has kine's table layout; the writer commits pairs of rows (`…-a`, `…-b`) in one transaction
each, in WAL mode as kine runs it. A consistent copy holds only whole pairs.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from k0spy.paths import Paths
from tests.support.backup import Controller, make_controller, member_names, only_archive
from tests.support.cli import run_k0spy

KINE_SCHEMA = """
CREATE TABLE IF NOT EXISTS kine (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name INTEGER, created INTEGER, deleted INTEGER,
  create_revision INTEGER, prev_revision INTEGER, lease INTEGER, value BLOB, old_value BLOB);
CREATE INDEX IF NOT EXISTS kine_name_index ON kine (name);
"""

WRITER = textwrap.dedent("""
    import sqlite3, sys
    db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    n = 0
    while True:
        db.execute("BEGIN IMMEDIATE")
        for side in "ab":
            db.execute("INSERT INTO kine (name, created, deleted, create_revision, prev_revision, lease,"
                       " value) VALUES (?, 1, 0, 0, 0, 0, ?)",
                       (f"/registry/secrets/x/{n}-{side}", b"v" * 2000))
        db.execute("COMMIT")
        n += 1
""")


def pairs(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        a = conn.execute("SELECT count(*) FROM kine WHERE name LIKE '%-a'").fetchone()[0]
        b = conn.execute("SELECT count(*) FROM kine WHERE name LIKE '%-b'").fetchone()[0]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    return int(a), int(b)


@pytest.fixture
def kine_controller(paths: Paths) -> Iterator[Controller]:
    ctl = make_controller(paths, "kine")
    paths.kine_db_dir.mkdir(mode=0o750)
    conn = sqlite3.connect(paths.kine_db_path)
    conn.executescript(KINE_SCHEMA)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    try:
        ctl.hold_lock()
        yield ctl
    finally:
        ctl.stop()


@pytest.fixture
def writer(kine_controller: Controller) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(kine_controller.paths.kine_db_path)])
    try:
        deadline = time.monotonic() + 20
        while pairs(kine_controller.paths.kine_db_path)[0] < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


def test_sqlite_round_trip_while_kine_writes(kine_controller: Controller, writer: subprocess.Popen[bytes],
                                             tmp_path: Path) -> None:
    ctl = kine_controller
    floor = pairs(ctl.paths.kine_db_path)[0]
    save = tmp_path / "save"
    save.mkdir()
    proc = run_k0spy(["backup", "--save-path", str(save), *ctl.cli_dirs()])
    assert proc.returncode == 0, proc.stderr
    assert writer.poll() is None  # the writer kept going during the backup
    archive = only_archive(save)
    assert member_names(archive)[0] == "kine-state-backup.db"
    verify = run_k0spy(["backup", "--verify", str(archive)])
    assert verify.returncode == 0 and "kine-state-backup.db: SQLite quick_check ok" in verify.stdout

    writer.terminate()
    writer.wait(10)
    ctl.stop()
    ctl.wipe()
    restored = run_k0spy(["restore", str(archive), "--config-out", str(tmp_path / "k0s.yaml"),
                          *ctl.cli_dirs()])
    assert restored.returncode == 0, restored.stderr
    a, b = pairs(ctl.paths.kine_db_path)
    assert a == b >= floor  # whole transactions only, nothing older than the backup
    assert ctl.paths.kine_db_dir.stat().st_mode & 0o777 == 0o750
    assert (ctl.paths.cert_dir / "ca.crt").exists()


def test_stale_write_ahead_log_blocks_the_restore(kine_controller: Controller, tmp_path: Path) -> None:
    ctl = kine_controller
    save = tmp_path / "save"
    save.mkdir()
    assert run_k0spy(["backup", "--save-path", str(save), *ctl.cli_dirs()]).returncode == 0
    ctl.stop()
    ctl.wipe()
    ctl.paths.kine_db_dir.mkdir(parents=True)
    stale = Path(f"{ctl.paths.kine_db_path}-wal")
    stale.write_bytes(b"left over from the old database")
    proc = run_k0spy(["restore", str(only_archive(save)), "--config-out", str(tmp_path / "k0s.yaml"),
                      *ctl.cli_dirs()])
    assert proc.returncode == 1
    assert f"restore would overwrite existing data: {stale}" in proc.stderr
    assert not ctl.paths.kine_db_path.exists() and not (tmp_path / "k0s.yaml").exists()
