"""Files on disk: atomic writes, directories with explicit modes, and the single-instance lock.

Every file k0spy writes goes through `atomic_write`: a crash at any instant leaves either the old or the
new content under the final name, never a truncated file. Modes are always passed explicitly, as named
constants from this module, so that a key can never be written with a default umask by accident.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

# Modes, named as k0s names them (pkg/constant).
DATA_DIR_MODE = 0o755
RUN_DIR_MODE = 0o755
BIN_DIR_MODE = 0o755
CERT_ROOT_DIR_MODE = 0o751
ETCD_CERT_DIR_MODE = 0o711
ETCD_DATA_DIR_MODE = 0o700
MANIFESTS_DIR_MODE = 0o755
KINE_DB_DIR_MODE = 0o750
CERT_MODE = 0o644
CERT_SECURE_MODE = 0o640
OWNER_ONLY_MODE = 0o600
PID_FILE_MODE = 0o644
BINARY_MODE = 0o750
CONFIG_FILE_MODE = 0o644


def _describe(err: OSError) -> str:
    return err.strerror.lower() if err.strerror else str(err)


def fsync_dir(path: Path) -> None:
    """Persist a rename: without it a power cut may forget that the new name exists."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(
    path: Path,
    data: bytes | str,
    mode: int,
    *,
    uid: int | None = None,
    gid: int | None = None,
    mtime: float | None = None,
    durable: bool = True,
    sync_dir: bool = True,
) -> None:
    """Replace `path` with `data` atomically, with `mode` (and owner and mtime when given).

    `durable=False` skips the two fsyncs, for files that mean nothing after the machine restarts (pid
    files): readers still never see a torn file, since the rename is what makes it visible.
    `sync_dir=False` fsyncs the data but leaves the directory to the caller, who renames further and
    fsyncs the directory once at the end (`pki.store.commit_pair`).

    The temp file `.<name>.<random>.tmp` lives in the same directory so that the rename is atomic; it
    gets its final mode and owner before the rename, so the content is never visible with looser
    permissions. On any failure the temp file is removed and the old file is left as it was.
    """
    if isinstance(data, str):
        data = data.encode()
    directory = path.parent
    tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as err:
        raise OSError(err.errno, f"writing {path.name} in {directory}: {_describe(err)}") from err
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            if uid is not None or gid is not None:
                os.fchown(handle.fileno(), -1 if uid is None else uid, -1 if gid is None else gid)
            if durable:
                os.fsync(handle.fileno())
        if mtime is not None:
            os.utime(tmp, (mtime, mtime))
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(err, OSError) and not str(err).startswith("writing "):
            raise OSError(err.errno, f"writing {path.name} in {directory}: {_describe(err)}") from err
        raise
    if durable and sync_dir:
        fsync_dir(directory)


def remove_stale_temps(directory: Path) -> list[str]:
    """Delete the temp files `atomic_write` leaves when killed mid-write; returns their names."""
    removed = []
    for name in sorted(os.listdir(directory)):
        if name.startswith(".") and name.endswith(".tmp"):
            with contextlib.suppress(FileNotFoundError):
                (directory / name).unlink()
            removed.append(name)
    return removed


def ensure_dir(path: Path, mode: int, *, uid: int | None = None, gid: int | None = None) -> Path:
    """mkdir -p, then force `mode` (and owner) on the leaf: an existing dir gets the mode too, as in k0s."""
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    os.chmod(path, mode)
    if uid is not None or gid is not None:
        os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)
    return path


class LockHeld(Exception):
    """The lock file is held by another process."""


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[int]:
    """Hold an exclusive, non-blocking flock on `path` for the duration of the block.

    The lock file is never deleted (as in k0s): deleting it would let a second process lock a new inode
    while the first still holds the old one.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, OWNER_ONLY_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise LockHeld(str(path)) from err
            raise
        yield fd
    finally:
        os.close(fd)


def lock_is_held(path: Path) -> bool:
    """Whether some process holds the lock on `path`, without keeping it ourselves."""
    if not path.exists():
        return False
    try:
        with exclusive_lock(path):
            return False
    except LockHeld:
        return True
