"""`k0spy backup`: snapshot the running controller's database and pack it with its trees and config.

Order, as in k0s: the database dump (etcd snapshot over TLS, streamed straight into the archive; or the
SQLite `VACUUM INTO` copy), then `pki/`, `manifests/`, `images/`, `helmhome/`, then `k0s.yaml`; k0spy
appends its manifest last. Everything is
written under a hidden work dir inside the save path (same file system, so the final step is a rename):
the archive gets its real name only once it is complete and fsynced, so a backup killed at any point
never leaves a file that looks like a finished backup. With `-` the archive streams to stdout.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from k0spy import __version__
from k0spy.backup.archive import (
    CONFIG_MEMBER,
    ETCD_SNAPSHOT,
    KINE_BACKUP,
    MANIFEST_MEMBER,
    TREES,
    ArchiveWriter,
    archive_name,
    tree_entries,
)
from k0spy.backup.etcd_snapshot import SnapshotStream, TLSFiles, etcd_version
from k0spy.backup.kine import vacuum_into
from k0spy.backup.manifest import Manifest
from k0spy.backup.storage import StoragePlan
from k0spy.errors import K0spyError
from k0spy.fsutil import OWNER_ONLY_MODE, fsync_dir
from k0spy.log import get_logger
from k0spy.paths import Paths

ProgressFactory = Callable[[str], Callable[[int], None] | None]


@dataclass(frozen=True)
class BackupSource:
    """What to back up: the running controller's paths, storage plan and config text."""

    paths: Paths
    storage: StoragePlan
    config_yaml: bytes
    config_mode: int = OWNER_ONLY_MODE


def check_save_path(save_path: Path) -> None:
    if not save_path.is_dir():
        what = "is not a directory" if save_path.exists() else "does not exist"
        raise K0spyError(f"the save path {save_path} {what}",
                         hint="create the directory first, or use --save-path - to write to stdout")


def _no_progress(_label: str) -> None:
    return None


def _etcd_tls(paths: Paths) -> TLSFiles:
    return TLSFiles(paths.etcd_cert_dir / "ca.crt", paths.cert_dir / "apiserver-etcd-client.crt",
                    paths.cert_dir / "apiserver-etcd-client.key")


def _add_database(writer: ArchiveWriter, source: BackupSource, workdir: Path,
                  progress: ProgressFactory) -> None:
    """The first member: the etcd snapshot streamed straight in, or the SQLite copy."""
    plan, log = source.storage, get_logger(component="backup")
    if plan.kind == "etcd":
        tls = _etcd_tls(source.paths)
        writer.manifest.etcd_version = etcd_version(plan.etcd_endpoint, tls)
        with SnapshotStream(plan.etcd_endpoint, tls, progress=progress("etcd snapshot")) as stream:
            writer.add_stream(ETCD_SNAPSHOT, stream.size, OWNER_ONLY_MODE, stream)
        log.info("backup.snapshot", endpoint=plan.etcd_endpoint, bytes=stream.size,
                 etcd=writer.manifest.etcd_version)
    elif plan.kind == "kine" and plan.kine_db is not None:
        vacuum_into(plan.kine_db, workdir / KINE_BACKUP)
        log.info("backup.sqlite", source=str(plan.kine_db), bytes=(workdir / KINE_BACKUP).stat().st_size)
        writer.add_path(KINE_BACKUP, workdir / KINE_BACKUP)
    else:
        log.warning("backup.no_database", reason=plan.note)


def _write(out: IO[bytes], source: BackupSource, workdir: Path, progress: ProgressFactory) -> Manifest:
    manifest = Manifest(k0spy_version=__version__, storage=source.storage.kind,
                        created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    config = workdir / CONFIG_MEMBER
    config.write_bytes(source.config_yaml)
    os.chmod(config, source.config_mode)
    writer = ArchiveWriter(out, manifest)
    try:
        _add_database(writer, source, workdir, progress)
        for tree in TREES:
            for name, path in tree_entries(source.paths.data_dir, tree):
                writer.add_path(name, path)
        writer.add_path(CONFIG_MEMBER, config)
        writer.add_bytes(MANIFEST_MEMBER, manifest.to_json(), 0o644)
    except BaseException:
        writer.abort()
        raise
    writer.close()
    return manifest


def run_backup(source: BackupSource, save_path: Path | None, *, stdout: IO[bytes] | None = None,
               progress: ProgressFactory = _no_progress, now: dt.datetime | None = None) -> Path | None:
    """Write the archive into `save_path` (returns its path) or, when None, to `stdout`."""
    if save_path is not None:
        check_save_path(save_path)
    if not source.paths.data_dir.is_dir():
        raise K0spyError(f"the data dir {source.paths.data_dir} does not exist",
                         hint="check --data-dir; k0spy backup runs on the controller")
    workdir = Path(tempfile.mkdtemp(prefix=".k0spy-backup-", dir=save_path))
    try:
        if save_path is None:
            assert stdout is not None
            _write(stdout, source, workdir, progress)
            stdout.flush()
            return None
        return _write_file(source, save_path, workdir, progress, now)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _write_file(source: BackupSource, save_path: Path, workdir: Path, progress: ProgressFactory,
                now: dt.datetime | None) -> Path:
    name = archive_name(now)
    final, partial = save_path / name, workdir / f"{name}.partial"
    if final.exists():
        raise K0spyError(f"{final} already exists", hint="wait a second and run the backup again")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, OWNER_ONLY_MODE)
    with os.fdopen(fd, "wb", buffering=1 << 20) as handle:
        manifest = _write(handle, source, workdir, progress)
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(partial, final)
    fsync_dir(save_path)
    get_logger(component="backup").info("backup.written", path=str(final), bytes=final.stat().st_size,
                                         members=len(manifest.members))
    return final
