"""Staging: putting the binaries a role needs into DATA/bin, as k0s's StageExecutable does.

For each name: if the bundle holds it, extract it to `DATA/bin/<name>` (mode 0750, mtime = the bundle
file's mtime) unless the file there is already current; if the bundle does not hold it, use an existing
`DATA/bin/<name>`, else the name found on `PATH`. One log line per binary says where it came from.

"Current" is k0s's check: same size as the bundle entry and same mtime as the bundle file. It costs one
`stat` per binary (about 10 us); a sha256 of the staged file is stronger against someone editing a binary
and resetting its mtime, but costs about 0.8 s per GB read (BENCHMARKS.md), on every start. A new bundle
(a new k0spy artifact) has a new mtime, so every binary is re-staged after an upgrade; a truncated or
edited binary has a new size or mtime and is replaced. `check="sha256"` is there for a deep check.

Extraction is atomic: a temp file in DATA/bin, written, fsynced, given its mode and mtime, then renamed
over the old binary; on any failure (a full disk) the temp file is removed and the previous binary is
still in place and runnable. Binaries are staged concurrently in worker threads: file I/O and zlib release
the GIL, and asyncio has no file I/O of its own, so threads are the tool here.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal

from k0spy.assets.payload import Bundle, Entry, locate_bundle
from k0spy.errors import K0spyError
from k0spy.fsutil import BIN_DIR_MODE, BINARY_MODE, ensure_dir, fsync_dir
from k0spy.log import get_logger
from k0spy.paths import Paths

CHUNK = 1 << 20
Check = Literal["stat", "sha256"]

# What each role stages (k0s: the controller and worker components' Init). The xtables binaries are not
# in the worker list: the iptables component (k0spy.worker.iptables) stages them itself and goes on without
# them when neither the bundle nor the host has them (the dev bundle has none; Debian's iptables package
# puts both in /usr/sbin).
CONTROL_PLANE_BINARIES = (
    "kube-apiserver", "konnectivity-server", "kube-scheduler", "kube-controller-manager",
)
WORKER_BINARIES = ("containerd", "containerd-shim-runc-v2", "runc", "kubelet")
XTABLES_BINARIES = ("xtables-legacy-multi", "xtables-nft-multi")


def role_binaries(*, controller: bool, worker: bool, storage: str = "etcd") -> list[str]:
    """The binaries a node with these roles needs; `storage` is spec.storage.type (etcd or kine)."""
    names: list[str] = []
    if controller:
        names += [storage if storage in ("etcd", "kine") else "etcd", *CONTROL_PLANE_BINARIES]
    if worker:
        names += WORKER_BINARIES
    return names


class Source(StrEnum):
    """Where a staged binary came from."""

    BUNDLE = "bundle"
    BIN_DIR = "bin-dir"
    PATH = "path"


@dataclass(frozen=True)
class StagedBinary:
    """A binary ready to run: its path, where it came from, and whether staging wrote it."""

    name: str
    path: Path
    source: Source
    extracted: bool = False
    version: str | None = None


def is_current(
    target: os.stat_result | None, entry: Entry, mtime_ns: int, *, digest: str | None = None
) -> bool:
    """Whether the staged file matches the bundle entry (pure: the caller stats and hashes)."""
    if target is None or target.st_size != entry.size or target.st_mtime_ns != mtime_ns:
        return False
    return digest is None or entry.sha256 is None or digest == entry.sha256


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def extract(bundle: Bundle, entry: Entry, target: Path, mtime_ns: int) -> None:
    """Write one member to `target` atomically, with BINARY_MODE and `mtime_ns` (zipfile checks the CRC)."""
    tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as out, bundle.zip.open(entry.name) as src:
            shutil.copyfileobj(src, out, CHUNK)
            out.flush()
            os.fchmod(out.fileno(), BINARY_MODE)
            os.fsync(out.fileno())
        os.utime(tmp, ns=(mtime_ns, mtime_ns))
        os.replace(tmp, target)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(err, OSError):
            raise _staging_error(entry.name, target, err) from err
        raise
    fsync_dir(target.parent)


def _staging_error(name: str, target: Path, err: OSError) -> K0spyError:
    reason = err.strerror.lower() if err.strerror else str(err)
    hint = "the previous binary (if any) is still in place"
    if err.errno == errno.ENOSPC:
        hint = f"free some space on the file system of {target.parent}; " + hint
    return K0spyError(f"staging {name} into {target.parent}: {reason}", hint)


def plan(bundle: Bundle | None, paths: Paths, name: str, check: Check = "stat") -> StagedBinary:
    """Decide where `name` comes from; `extracted=True` means it must still be extracted (no writes here)."""
    target = paths.bin_dir / name
    entry = bundle.entries.get(name) if bundle else None
    if bundle is not None and entry is not None:
        current = _stat(target)
        digest = sha256_file(target) if check == "sha256" and current is not None else None
        stale = not is_current(current, entry, bundle.mtime_ns, digest=digest)
        return StagedBinary(name, target, Source.BUNDLE, extracted=stale, version=entry.version)
    if target.is_file() and os.access(target, os.X_OK):
        return StagedBinary(name, target, Source.BIN_DIR)
    found = shutil.which(name)
    if found:
        return StagedBinary(name, Path(found), Source.PATH)
    where = f"in bundle {bundle.path}, " if bundle else "in any bundle (none is set), "
    raise K0spyError(
        f"binary {name} not found {where}in {paths.bin_dir} or on PATH",
        "use a k0spy artifact that carries it, set K0SPY_BUNDLE to a bundle, or install it on PATH",
    )


def stage_one(bundle: Bundle | None, paths: Paths, name: str, check: Check = "stat") -> StagedBinary:
    """Stage one binary, blocking: from the bundle, else DATA/bin, else PATH."""
    staged = plan(bundle, paths, name, check)
    if staged.extracted and bundle is not None:
        extract(bundle, bundle.entries[name], staged.path, bundle.mtime_ns)
    return staged


async def stage_binaries(
    paths: Paths, names: Iterable[str], *, bundle: Path | str | None = None, check: Check = "stat"
) -> dict[str, StagedBinary]:
    """Stage `names` into DATA/bin; what each component's init() calls for its binaries.

    The size+mtime check runs inline (a stat per binary: the warm path spawns no thread); only stale
    binaries, and a sha256 check, go to worker threads, all at once.
    """
    log = get_logger(component="assets")
    wanted = list(dict.fromkeys(names))
    ensure_dir(paths.bin_dir, BIN_DIR_MODE)
    source = locate_bundle(bundle)
    opened = Bundle(source) if source else None
    try:
        if opened is not None and opened.kind == "dev":
            log.warning("assets.dev_bundle", bundle=str(opened.path),
                        description=opened.manifest.get("description", ""))
        if check == "stat":
            planned = [plan(opened, paths, name) for name in wanted]
        else:
            planned = list(await asyncio.gather(
                *(asyncio.to_thread(plan, opened, paths, name, check) for name in wanted)))
        await asyncio.gather(*(
            asyncio.to_thread(extract, opened, opened.entries[item.name], item.path, opened.mtime_ns)
            for item in planned if item.extracted and opened is not None
        ))
    finally:
        if opened is not None:
            opened.close()
    for staged in planned:
        log.info("assets.binary", binary=staged.name, source=staged.source.value, path=str(staged.path),
                 extracted=staged.extracted, version=staged.version,
                 bundle=str(source) if staged.source is Source.BUNDLE else None)
    return {staged.name: staged for staged in planned}
