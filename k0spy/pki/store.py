"""Writing a key and its certificate so that a crash never leaves a mismatched pair behind.

Each file is written with `atomic_write`, so no file is ever truncated; but two files cannot be renamed at
once. A pair is therefore committed in two phases: both files are first written in full under hidden
staging names (`.server.key.pending`, then `.server.crt.pending`), and only then renamed over the live
names, key first. The certificate is staged last, so its staging file existing proves that the key's was
complete: `recover` (run at the start of every `ensure_pki`) finishes an interrupted commit by completing
the renames, and throws away a staging key whose certificate never made it. After recovery every pair on
disk matches, whatever instant a kill -9 hit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from k0spy.fsutil import atomic_write, fsync_dir, remove_stale_temps

STAGING_SUFFIX = ".pending"
SECOND_SUFFIXES = (".crt", ".pub")


@dataclass(frozen=True)
class FileData:
    """One file to write: where, what, with which mode and owner."""

    path: Path
    data: bytes
    mode: int
    uid: int | None = None
    gid: int | None = None


def staging_path(path: Path) -> Path:
    return path.parent / f".{path.name}{STAGING_SUFFIX}"


def commit_pair(key: FileData, cert: FileData) -> None:
    """Stage the key, stage the certificate, rename the key, rename the certificate.

    Each staged file's data is fsynced before the next step; the directory is fsynced once, after the
    renames: journaling file systems persist a directory's name changes in order, so a durable staged
    certificate name implies a durable staged key name, which is all `recover` relies on.
    """
    for item in (key, cert):
        atomic_write(staging_path(item.path), item.data, item.mode, uid=item.uid, gid=item.gid,
                     sync_dir=False)
    os.replace(staging_path(key.path), key.path)
    os.replace(staging_path(cert.path), cert.path)
    fsync_dir(cert.path.parent)


def recover(directory: Path) -> list[str]:
    """Finish or discard interrupted pair commits and remove stray temp files; returns what was done."""
    if not directory.is_dir():
        return []
    actions = [f"removed {name}" for name in remove_stale_temps(directory)]
    names = sorted(os.listdir(directory))
    staged = [name for name in names if name.startswith(".") and name.endswith(STAGING_SUFFIX)]
    for name in staged:  # complete commits whose second file was staged
        stem, suffix = os.path.splitext(name[1:-len(STAGING_SUFFIX)])
        if suffix in SECOND_SUFFIXES:
            key_stage = directory / f".{stem}.key{STAGING_SUFFIX}"
            if key_stage.exists():
                os.replace(key_stage, directory / f"{stem}.key")
            os.replace(directory / name, directory / f"{stem}{suffix}")
            actions.append(f"completed {stem}")
    for name in staged:  # whatever staging key is left never got its second half
        if (directory / name).exists():
            (directory / name).unlink()
            actions.append(f"discarded {name}")
    if actions:
        fsync_dir(directory)
    return actions
