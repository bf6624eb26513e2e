"""`k0spy restore`: verify the whole archive, then restore it offline onto a node that holds no cluster.

1. Refuse while a daemon holds the lock on this run dir.
2. Unpack into a staging dir next to DATA (same file system: the last step is renames) and verify
   everything (`verify.py`). Refuse if a target already holds data: DATA/etcd, the SQLite file, or a
   non-empty `pki/`, `manifests/`, `images/`, `helmhome/` (restore after `k0spy reset`, not over a cluster).
3. etcd: `snapshot restore` into the staging dir as a fresh one-member cluster named after the host
   (peer URL `https://<archived peerAddress>:2380`, as k0s does) with a new cluster token, so the cluster
   id is new while the data is the same. SQLite: the copied database.
   This happens in the staging dir too: a snapshot that does not restore changes nothing.
4. Apply the archived modes and mtimes (not owners: see `_apply_meta`), rename everything into DATA,
   write the config out.
Nothing under DATA changes before step 4, so every refusal leaves the node as it was.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from k0spy.backup.archive import ETCD_SNAPSHOT, KINE_BACKUP, TREES
from k0spy.backup.etcdtool import find_etcd_tool
from k0spy.backup.extract import MemberMeta
from k0spy.backup.verify import Verified, verify_archive
from k0spy.errors import AlreadyRunningError, K0spyError
from k0spy.fsutil import (
    DATA_DIR_MODE,
    ETCD_DATA_DIR_MODE,
    KINE_DB_DIR_MODE,
    atomic_write,
    ensure_dir,
    lock_is_held,
)
from k0spy.log import get_logger
from k0spy.paths import Paths


@dataclass(frozen=True)
class Step:
    """One thing restore writes: what, and where."""

    what: str
    target: str


def refuse_if_running(paths: Paths) -> None:
    if lock_is_held(paths.runtime_lock):
        raise AlreadyRunningError(
            f"k0spy is running on this node (the lock {paths.runtime_lock} is held): restore needs it "
            "stopped",
            hint="stop the controller (k0spy stop, or stop its service), then run the restore again; "
                 "nothing was changed")


def staging_dir(paths: Paths) -> Path:
    """A private dir next to DATA (same file system), or in the temp dir if DATA's parent does not exist."""
    parent = paths.data_dir.parent
    base = parent if parent.is_dir() else None
    return Path(tempfile.mkdtemp(prefix=f".{paths.data_dir.name}.k0spy-restore-", dir=base))


def _occupied(path: Path) -> bool:
    if path.is_dir():
        return any(path.iterdir())
    return path.exists()


def plan_steps(verified: Verified, paths: Paths, config_out: str) -> list[Step]:
    """What would be written where; K0spyError if a target already holds data."""
    steps: list[Step] = []
    plan = verified.storage
    if plan.kind == "etcd":
        member = f"{socket.gethostname()}={plan.peer_url}"
        steps.append(Step(f"{ETCD_SNAPSHOT} as a new one-member etcd ({member})", str(paths.etcd_data_dir)))
    elif plan.kind == "kine" and plan.kine_db is not None:
        steps.append(Step(KINE_BACKUP, str(plan.kine_db)))
        # a stale write-ahead log next to a restored database would be replayed into it
        stale = [Path(f"{plan.kine_db}{suffix}") for suffix in ("-wal", "-shm", "-journal")]
        steps += [Step("(stale SQLite file)", str(p)) for p in stale if p.exists()]
    for tree in TREES:
        if tree in verified.extracted.meta:
            count = sum(1 for name in verified.extracted.files if name.startswith(tree + "/"))
            steps.append(Step(f"{tree}/ ({count} files)", str(paths.data_dir / tree)))
    steps.append(Step("k0s.yaml", "stdout" if config_out == "-" else os.path.abspath(config_out)))
    busy = [Path(s.target) for s in steps[:-1] if _occupied(Path(s.target))]  # stale files always are
    if busy:
        raise K0spyError("restore would overwrite existing data: " + ", ".join(map(str, busy)),
                         hint="restore onto a node without a cluster: run `k0spy reset` first, or move these "
                              "away; nothing was changed")
    return steps


def _apply_meta(names: dict[str, MemberMeta], prefix: str, staging: Path) -> None:
    """Modes and mtimes from the archive; directories deepest first so mtimes stick.

    Owners are not taken from the archive: a numeric uid from another machine may name another user
    here (one who could then read the etcd keys). Files stay root's, as after a k0s restore, and the
    controller gives them to their component users when it starts (as k0s does).
    """
    selected = sorted((n for n in names if n == prefix or n.startswith(prefix + "/")), key=len, reverse=True)
    for name in selected:
        meta, path = names[name], staging / name
        os.chmod(path, meta.mode)
        os.utime(path, (meta.mtime, meta.mtime))


def _move(source: Path, target: Path) -> None:
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(source), str(target))


def _prepare_database(verified: Verified, paths: Paths) -> Path | None:
    """Build the new etcd member in the staging dir: a snapshot that does not restore changes nothing."""
    plan, staging = verified.storage, verified.staging
    if plan.kind == "etcd":
        member = staging / "etcd-member"
        token = f"k0spy-restore-{secrets.token_hex(8)}"
        find_etcd_tool(paths.bin_dir).restore(staging / ETCD_SNAPSHOT, member, name=socket.gethostname(),
                                              peer_url=plan.peer_url, token=token)
        os.chmod(member, ETCD_DATA_DIR_MODE)
        return member
    if plan.kind == "kine" and plan.kine_db is not None:
        _apply_meta(verified.extracted.meta, KINE_BACKUP, staging)
        return staging / KINE_BACKUP
    return None


def _install_database(verified: Verified, paths: Paths, prepared: Path | None) -> None:
    plan = verified.storage
    if prepared is None:
        return
    if plan.kind == "etcd":
        _move(prepared, paths.etcd_data_dir)
    elif plan.kine_db is not None:
        if plan.kine_db.parent == paths.kine_db_dir or not plan.kine_db.parent.exists():
            ensure_dir(plan.kine_db.parent, KINE_DB_DIR_MODE)  # k0s's db dir, never someone else's dir
        _move(prepared, plan.kine_db)


def write_config(data: bytes, config_out: str, mode: int, stdout: IO[bytes]) -> None:
    if config_out == "-":
        stdout.write(data)
        stdout.flush()
        return
    atomic_write(Path(os.path.abspath(config_out)), data, mode)


def apply(verified: Verified, paths: Paths, config_out: str, stdout: IO[bytes]) -> None:
    """Step 3 and 4: the only part that changes the node."""
    log = get_logger(component="restore")
    prepared = _prepare_database(verified, paths)
    if not paths.data_dir.exists():
        ensure_dir(paths.data_dir, DATA_DIR_MODE)
    _install_database(verified, paths, prepared)
    for tree in TREES:
        if tree in verified.extracted.meta:
            _apply_meta(verified.extracted.meta, tree, verified.staging)
            _move(verified.staging / tree, paths.data_dir / tree)
            log.info("restore.tree", tree=tree, target=str(paths.data_dir / tree))
    config_meta = verified.extracted.meta.get("k0s.yaml")
    write_config(verified.config_yaml, config_out, config_meta.mode if config_meta else 0o600, stdout)
    log.info("restore.done", data_dir=str(paths.data_dir), storage=verified.storage.kind)


def run_restore(stream: IO[bytes], label: str, paths: Paths, config_out: str, *, dry_run: bool,
                stdout: IO[bytes], progress: Any = None) -> tuple[Verified, list[Step]]:
    """Verify `stream`, then (unless `dry_run`) restore it; returns what was (or would be) written."""
    refuse_if_running(paths)
    staging = staging_dir(paths)
    try:
        # A real restore opens the snapshot by restoring it into the staging dir; a dry run checks it.
        verified = verify_archive(stream, staging, label, paths, progress, open_snapshot=dry_run)
        steps = plan_steps(verified, paths, config_out)
        if not dry_run:
            refuse_if_running(paths)  # a daemon may have started while the archive was read
            apply(verified, paths, config_out, stdout)
        return verified, steps
    finally:
        shutil.rmtree(staging, ignore_errors=True)
