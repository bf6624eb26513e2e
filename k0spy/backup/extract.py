"""Unpack an archive into a private staging dir, hashing every member on the way, in one pass.

Works on a pipe (restore from stdin) as well as a file: the gzip layer is Python's GzipFile, which checks
the gzip CRC and length at the end (tarfile's own stream reader does not), and the stream is read to its
very end, so an archive cut anywhere, even inside the tar padding, is refused. Only plain relative names
and regular files or directories are accepted: a backup has no business writing outside its tree or
creating devices or links. Modes are recorded (without setuid, setgid or sticky bits: restore runs as
root) and applied only when the tree is restored.
"""

from __future__ import annotations

import gzip
import hashlib
import queue
import tarfile
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, Protocol, cast

from k0spy.backup.archive import CHUNK, ETCD_SNAPSHOT, MANIFEST_MEMBER, Progress
from k0spy.backup.etcd_snapshot import TRAILER
from k0spy.backup.manifest import MemberDigest
from k0spy.errors import K0spyError

MAX_MANIFEST = 64 << 20


@dataclass(frozen=True)
class MemberMeta:
    mode: int
    uid: int
    gid: int
    mtime: float
    is_dir: bool


@dataclass
class Extracted:
    files: dict[str, MemberDigest] = field(default_factory=dict)
    meta: dict[str, MemberMeta] = field(default_factory=dict)
    manifest_bytes: bytes | None = None
    snapshot_trailer_ok: bool | None = None  # None: no etcd snapshot, or one without a hash trailer


def safe_name(name: str) -> str:
    """The member name, normalised; K0spyError for absolute names or names that climb out."""
    clean = name.removeprefix("./").rstrip("/")
    parts = PurePosixPath(clean).parts
    if not clean or clean.startswith("/") or ".." in parts or "." in parts:
        raise K0spyError(f"the archive member {name!r} has an unsafe name",
                         hint="this is not a k0s or k0spy backup; nothing was changed")
    return clean


def _copy_member(source: IO[bytes], dest: Path, size: int, snapshot: bool,
                 progress: Progress | None) -> tuple[MemberDigest, bool | None]:
    body = hashlib.sha256()  # for the snapshot: all but the last 32 bytes (etcd's sha256 trailer)
    tail, left = b"", size
    with dest.open("wb") as out:
        while left:
            data = source.read(min(CHUNK, left))
            if not data:
                raise EOFError(f"member {dest.name} ends before its {size} bytes")
            left -= len(data)
            out.write(data)
            if snapshot:
                joined = tail + data if len(data) < 2 * TRAILER else data
                if joined is data:
                    body.update(tail)
                body.update(joined[:-TRAILER])
                tail = joined[-TRAILER:]
            else:
                body.update(data)
            if progress is not None:
                progress(len(data))
    trailer = (body.digest() == tail) if snapshot and size % 512 == TRAILER else None
    digest = body.copy()  # one pass: the member's hash is the body's hash continued with the tail
    digest.update(tail)
    return MemberDigest(digest.hexdigest(), size, 0), trailer


def _member(tar: tarfile.TarFile, info: tarfile.TarInfo, staging: Path, result: Extracted,
            progress: Progress | None) -> None:
    name = safe_name(info.name)
    target = staging / name
    meta = MemberMeta(info.mode & 0o777, info.uid, info.gid, float(info.mtime), info.isdir())
    if info.isdir():
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
        result.meta[name] = meta
        return
    if not info.isreg():
        raise K0spyError(f"the archive member {name} is a {_kind(info)}: only files and directories "
                         "are restored",
                         hint="this is not a k0s or k0spy backup; nothing was changed")
    source = tar.extractfile(info)
    assert source is not None
    if name == MANIFEST_MEMBER and "/" not in name:
        if info.size > MAX_MANIFEST:
            raise K0spyError(f"the archive's {MANIFEST_MEMBER} is {info.size} bytes: not a k0spy manifest")
        result.manifest_bytes = source.read(info.size)
        return
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest, trailer = _copy_member(source, target, info.size, name == ETCD_SNAPSHOT, progress)
    result.files[name] = MemberDigest(digest.sha256, digest.size, meta.mode)
    result.meta[name] = meta
    if name == ETCD_SNAPSHOT:
        result.snapshot_trailer_ok = trailer


def _kind(info: tarfile.TarInfo) -> str:
    if info.issym():
        return f"symbolic link to {info.linkname}"
    if info.islnk():
        return f"hard link to {info.linkname}"
    return "device or special file"


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Prefetch:
    """Decompresses ahead in a thread: zlib releases the GIL, so inflating overlaps hashing and writing.

    As with tar piped from gzip, the two halves run on two cores; the queue bounds memory to a few MiB.
    Errors raised while inflating (a truncated or corrupt stream) are raised again by `read`.
    """

    def __init__(self, source: _Readable) -> None:
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(8)
        self._stop = threading.Event()
        self._buffer = bytearray()
        self._eof = False
        self._thread = threading.Thread(target=self._pump, args=(source,), name="inflate", daemon=True)
        self._thread.start()

    def _pump(self, source: _Readable) -> None:
        item: bytes | BaseException
        while not self._stop.is_set():
            try:
                item = source.read(CHUNK)
            except BaseException as err:  # handed to the reader, which raises it
                item = err
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.2)
                    break
                except queue.Full:
                    continue
            if not isinstance(item, bytes) or not item:
                return

    def read(self, size: int = -1) -> bytes:
        while not self._eof and (size < 0 or len(self._buffer) < size):
            item = self._queue.get()
            if isinstance(item, BaseException):
                raise item
            if not item:
                self._eof = True
            self._buffer += item
        size = len(self._buffer) if size < 0 else size
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)


def extract(stream: IO[bytes], staging: Path, label: str, progress: Progress | None = None) -> Extracted:
    """Unpack `stream` (a tar.gz) into `staging`; K0spyError naming `label` if it is not a whole archive."""
    result = Extracted()
    try:
        with gzip.GzipFile(fileobj=stream, mode="rb") as gz:
            inflated = _Prefetch(gz)
            try:
                with tarfile.open(fileobj=cast(Any, inflated), mode="r|", bufsize=CHUNK) as tar:
                    for info in tar:
                        _member(tar, info, staging, result, progress)
                while inflated.read(CHUNK):  # to the gzip trailer: its CRC and length are checked at the end
                    pass
            finally:
                inflated.close()
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise K0spyError(f"the archive {label} is truncated or corrupt: {err or type(err).__name__}",
                         hint="nothing was changed; use another backup") from err
    except OSError as err:
        raise K0spyError(f"unpacking the archive {label}: {err}", hint="nothing was changed") from err
    if not result.files and result.manifest_bytes is None:
        raise K0spyError(f"the archive {label} is empty", hint="nothing was changed; use another backup")
    return result
