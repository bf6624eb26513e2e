"""The archive: k0s's file name and member layout, and a streaming tar.gz writer that hashes as it goes.

k0s names the file `k0s_backup_<local time, Go layout 2006-01-02T15_04_05_000Z>.tar.gz` (the `000` and
`Z` are literal) and stores members relative to the data dir (`pki/...`, `manifests/...`), with the
database dump and the config at the top (`etcd-snapshot.db` or `kine-state-backup.db`, `k0s.yaml`).
Directories are entries of their own, so their modes survive. The writer hashes each member's bytes as
they go into the archive, so the manifest describes exactly what was written, in one pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, cast

from k0spy.backup.manifest import Manifest, MemberDigest
from k0spy.backup.pgzip import ParallelGzipWriter

ETCD_SNAPSHOT = "etcd-snapshot.db"
KINE_BACKUP = "kine-state-backup.db"
CONFIG_MEMBER = "k0s.yaml"
MANIFEST_MEMBER = "k0spy-backup-manifest.json"
DATABASE_MEMBERS = (ETCD_SNAPSHOT, KINE_BACKUP)
# The DATA trees k0s puts in a backup, in its order (CertRootDir, ManifestsDir, OCIBundleDir, HelmHome).
TREES = ("pki", "manifests", "images", "helmhome")
# Never archived: the spare-key reserve (Paths.pki_spare_dir) holds keys no certificate uses yet; a
# restore onto another machine must not bring them along (that machine generates its own).
EXCLUDED = frozenset({"pki/.spare"})
NAME_PREFIX = "k0s_backup_"
NAME_SUFFIX = ".tar.gz"
GZIP_LEVEL = 6  # gzip's and Go's default: level 9 costs twice the CPU for a few percent
CHUNK = 1 << 20

Progress = Callable[[int], None]


def archive_name(now: dt.datetime | None = None) -> str:
    """`k0s_backup_2021-04-26T19_51_57_000Z.tar.gz`: local time, literal `000Z`, as k0s formats it."""
    moment = now or dt.datetime.now()
    return f"{NAME_PREFIX}{moment.strftime('%Y-%m-%dT%H_%M_%S')}_000Z{NAME_SUFFIX}"


def default_config_out(archive: str) -> str:
    """k0s's default for `restore --config-out`: `k0s_<timestamp part of the archive name>.yaml`."""
    if archive == "-":
        return "-"
    stem = os.path.basename(archive).split(".", 1)[0]
    return f"k0s_{stem.removeprefix(NAME_PREFIX)}.yaml"


def tree_entries(data_dir: Path, tree: str) -> Iterator[tuple[str, Path]]:
    """(member name, path) of a DATA tree and everything under it, parents first, sorted; none if absent.

    Whatever is in EXCLUDED is left out, with everything under it.
    """
    root = data_dir / tree
    if not root.exists():
        return
    yield tree, root
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        rel = base.relative_to(data_dir).as_posix()
        dirnames[:] = sorted(name for name in dirnames if f"{rel}/{name}" not in EXCLUDED)  # not walked
        for name in sorted([*dirnames, *filenames]):
            if f"{rel}/{name}" not in EXCLUDED:
                yield f"{rel}/{name}", base / name


class _HashingReader:
    """Reads `size` bytes of a file for tarfile, hashing them and reporting progress."""

    def __init__(self, handle: IO[bytes], progress: Progress | None) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        if self.progress is not None and data:
            self.progress(len(data))
        return data


class ArchiveWriter:
    """Writes members into a tar.gz stream and records each file's sha256 for the manifest."""

    def __init__(self, out: IO[bytes], manifest: Manifest, progress: Progress | None = None) -> None:
        self._gzip = ParallelGzipWriter(out, GZIP_LEVEL)
        self._tar = tarfile.open(  # noqa: SIM115  # closed by close()
            fileobj=cast(Any, self._gzip), mode="w|", format=tarfile.PAX_FORMAT, bufsize=CHUNK)
        self.manifest = manifest
        self.progress = progress

    def add_path(self, name: str, path: Path) -> None:
        """Add a file or directory under `name`, with its mode, owner and mtime; other types are skipped."""
        st = path.lstat()
        info = tarfile.TarInfo(name)
        info.mode = stat.S_IMODE(st.st_mode)
        info.uid, info.gid, info.mtime = st.st_uid, st.st_gid, int(st.st_mtime)
        if stat.S_ISDIR(st.st_mode):
            info.type = tarfile.DIRTYPE
            self._tar.addfile(info)
            self.manifest.directories[name] = info.mode
            return
        if not stat.S_ISREG(st.st_mode):
            return
        info.size = st.st_size
        with path.open("rb") as handle:
            reader = _HashingReader(handle, self.progress)
            self._tar.addfile(info, reader)  # tarfile only calls read()
        self.manifest.members[name] = MemberDigest(reader.digest.hexdigest(), info.size, info.mode)

    def add_stream(self, name: str, size: int, mode: int, reader: IO[bytes] | Any) -> None:
        """Add `size` bytes read from `reader` (the etcd snapshot stream), owned by us, dated now."""
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, mode, int(dt.datetime.now().timestamp())
        info.uid, info.gid = os.geteuid(), os.getegid()
        hashing = _HashingReader(reader, self.progress)
        self._tar.addfile(info, hashing)
        self.manifest.members[name] = MemberDigest(hashing.digest.hexdigest(), size, mode)

    def add_bytes(self, name: str, data: bytes, mode: int) -> None:
        """Add an in-memory member (the manifest itself); it is not listed in the manifest."""
        import io

        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), mode, int(dt.datetime.now().timestamp())
        self._tar.addfile(info, io.BytesIO(data))

    def close(self) -> None:
        """Write the tar end blocks and the gzip trailer (the stream itself is the caller's)."""
        self._tar.close()
        self._gzip.close()

    def abort(self) -> None:
        """Stop the compression workers; the unfinished archive is the caller's to discard."""
        self._gzip.abort()
