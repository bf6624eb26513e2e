"""Stream an etcd v3 snapshot over TLS from the running member, verifying its sha256 trailer.

etcd's JSON gateway (same port and mTLS as gRPC) answers `POST /v3/maintenance/snapshot` with
newline-delimited `{"result":{"blob":"<base64>"}}` messages; their concatenation is the bbolt database
followed by a 32-byte sha256 of everything before it. The bytes delivered are exactly what
`etcdctl snapshot save` writes, trailer included, so `etcdctl snapshot restore` checks it again.
Memory stays bounded: a queue of 64 messages (32 KiB of data each) and the 32 bytes held back.
The client is the stdlib's http.client: a one-shot CLI needs neither asyncio nor aiohttp's import cost.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import http.client
import json
import os
import queue
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from k0spy.backup.archive import CHUNK, Progress
from k0spy.errors import K0spyError
from k0spy.fsutil import OWNER_ONLY_MODE

TRAILER = 32
MAX_LINE = 16 << 20
DEFAULT_ENDPOINT = "https://127.0.0.1:2379"


@dataclass(frozen=True)
class TLSFiles:
    """The client credentials k0s uses for etcd: the apiserver-etcd-client pair and the etcd CA."""

    ca: Path
    cert: Path
    key: Path

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca))
        ctx.load_cert_chain(str(self.cert), str(self.key))
        return ctx


@dataclass(frozen=True)
class SnapshotInfo:
    size: int
    etcd_version: str


def _connect(endpoint: str, tls: TLSFiles, timeout: float) -> http.client.HTTPSConnection:
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or not parts.hostname:
        raise K0spyError(f"etcd endpoint {endpoint!r} is not an https:// URL",
                         hint="k0spy backs up the managed etcd, which always serves TLS")
    try:
        ctx = tls.context()
    except (OSError, ssl.SSLError) as err:
        raise K0spyError(f"loading the etcd client certificate {tls.cert}: {err}",
                         hint="is the controller's PKI complete? is this its data dir?") from err
    return http.client.HTTPSConnection(parts.hostname, parts.port or 2379, context=ctx, timeout=timeout)


def _request(conn: http.client.HTTPSConnection, endpoint: str, method: str, path: str,
             body: bytes | None) -> http.client.HTTPResponse:
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
    except (OSError, http.client.HTTPException) as err:
        raise K0spyError(f"connecting to etcd at {endpoint}: {err}",
                         hint="is the controller running with etcd storage? `k0spy status` shows it") from err
    if response.status != 200:
        text = response.read(4096).decode(errors="replace").strip()
        raise K0spyError(f"etcd at {endpoint} answered {method} {path} with HTTP {response.status}: {text}")
    return response


def etcd_version(endpoint: str, tls: TLSFiles, timeout: float = 10) -> str:
    """The server version (`GET /version` -> etcdserver)."""
    conn = _connect(endpoint, tls, timeout)
    try:
        doc: Any = json.loads(_request(conn, endpoint, "GET", "/version", None).read(65536))
        return str(doc.get("etcdserver", "")) if isinstance(doc, dict) else ""
    finally:
        conn.close()


class _Sink:
    """Hashes all but the last 32 bytes seen so far, to check etcd's sha256 trailer at the end."""

    def __init__(self, progress: Progress | None) -> None:
        self.digest = hashlib.sha256()
        self.tail = b""
        self.size = 0
        self.progress = progress

    def feed(self, blob: bytes) -> None:
        if len(blob) >= 2 * TRAILER:  # no copy of the blob for the usual 32 KiB message
            self.digest.update(self.tail)
            joined = blob
        else:
            joined = self.tail + blob
        self.digest.update(joined[:-TRAILER])
        self.tail = joined[-TRAILER:]
        self.size += len(blob)
        if self.progress is not None:
            self.progress(len(blob))

    def trailer_ok(self) -> bool:
        return len(self.tail) == TRAILER and self.digest.digest() == self.tail


def _blob(line: bytes, endpoint: str) -> bytes:
    try:
        doc: Any = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise K0spyError(f"etcd at {endpoint} sent a snapshot message that is not JSON: {err}") from err
    if not isinstance(doc, dict) or "error" in doc:
        error = doc.get("error") if isinstance(doc, dict) else doc
        raise K0spyError(f"etcd at {endpoint} failed the snapshot: {error}")
    try:
        return base64.b64decode(doc.get("result", {}).get("blob", ""), validate=True)
    except (binascii.Error, AttributeError) as err:
        raise K0spyError(f"etcd at {endpoint} sent a snapshot blob that is not base64: {err}") from err


def _first_message(line: bytes, endpoint: str) -> tuple[bytes, int]:
    """The first blob and the snapshot's full size: blob + remaining_bytes + the 32-byte trailer."""
    blob = _blob(line, endpoint)
    try:
        remaining = int(json.loads(line)["result"].get("remaining_bytes", 0))
    except (KeyError, TypeError, ValueError) as err:
        raise K0spyError(f"etcd at {endpoint} sent a first snapshot message without its size: {err}") from err
    return blob, len(blob) + remaining + TRAILER


class SnapshotStream:
    """The snapshot as a file-like object of known size, fed by a reader thread through a bounded queue.

    The size is known from the first message (`remaining_bytes`), so the snapshot goes straight into the
    archive as its first member, without a temporary copy on disk. The reader thread (HTTP, JSON, base64)
    overlaps with compression in the caller's thread: zlib releases the GIL, and the JSON gateway's own
    encoding runs in etcd on the other core. A thread is used here only because of that overlap; the
    queue holds at most QUEUE messages (32 KiB each), so memory stays bounded. `read` raises K0spyError
    when the stream ends early, runs long, or fails its sha256 trailer: the archive is then abandoned.
    """

    QUEUE = 64

    def __init__(self, endpoint: str, tls: TLSFiles, *, progress: Progress | None = None,
                 timeout: float = 60) -> None:
        self.endpoint, self.tls, self.timeout = endpoint, tls, timeout
        self.sink = _Sink(progress)
        self.size = 0
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(self.QUEUE)
        self._stop = threading.Event()
        self._buffer = bytearray()
        self._delivered = 0
        self._conn: http.client.HTTPSConnection | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> SnapshotStream:
        self._conn = _connect(self.endpoint, self.tls, self.timeout)
        response = _request(self._conn, self.endpoint, "POST", "/v3/maintenance/snapshot", b"{}")
        try:
            first = response.readline(MAX_LINE)
        except (OSError, http.client.HTTPException) as err:
            raise K0spyError(f"reading the snapshot stream from etcd at {self.endpoint}: {err}") from err
        blob, self.size = _first_message(first, self.endpoint)
        self._take(blob)
        self._thread = threading.Thread(target=self._pump, args=(response,), name="etcd-snapshot",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._conn is not None:
            self._conn.close()
        if self._thread is not None:
            self._thread.join(10)

    def _put(self, item: bytes | BaseException | None) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _pump(self, response: http.client.HTTPResponse) -> None:
        try:
            while True:
                line = response.readline(MAX_LINE)
                if not line:
                    break
                if line.strip() and not self._put(_blob(line, self.endpoint)):
                    return
            self._put(None)
        except (OSError, http.client.HTTPException) as err:
            self._put(K0spyError(f"reading the snapshot stream from etcd at {self.endpoint}: {err}"))
        except BaseException as err:  # handed to the consumer, which raises it
            self._put(err)

    def _take(self, blob: bytes) -> None:
        self.sink.feed(blob)
        self._buffer += blob
        if self.sink.size > self.size:
            raise K0spyError(f"the snapshot from etcd at {self.endpoint} is longer than the {self.size} "
                             "bytes it announced", hint="take the backup again")

    def _next(self) -> bool:
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        if item is None:
            return False
        self._take(item)
        return True

    def _finish(self) -> None:
        """At the announced size: the stream must end here, with a good trailer."""
        if self._next():
            self._finish()
        if self.sink.size != self.size or not self.sink.trailer_ok():
            raise K0spyError(f"the snapshot from etcd at {self.endpoint} ({self.sink.size} bytes) fails its "
                             "sha256 check", hint="the stream was cut or corrupted; take the backup again")

    def read(self, count: int = -1) -> bytes:
        want = self.size - self._delivered if count < 0 else count
        while len(self._buffer) < want and self.sink.size < self.size:
            if not self._next():
                raise K0spyError(f"the snapshot stream from etcd at {self.endpoint} ended after "
                                 f"{self.sink.size} of {self.size} bytes", hint="take the backup again")
        if self.sink.size == self.size and len(self._buffer) <= want:
            self._finish()
        data = bytes(self._buffer[:want])
        del self._buffer[:want]
        self._delivered += len(data)
        return data


def save_snapshot(endpoint: str, tls: TLSFiles, dest: Path, *, progress: Progress | None = None,
                  timeout: float = 60) -> SnapshotInfo:
    """Write the snapshot to `dest` (0600), fsynced, as `etcdctl snapshot save` does."""
    version = etcd_version(endpoint, tls)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, OWNER_ONLY_MODE)
    try:
        with SnapshotStream(endpoint, tls, progress=progress, timeout=timeout) as stream:
            while data := stream.read(CHUNK):
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            size = stream.size
        os.fsync(fd)
    finally:
        os.close(fd)
    return SnapshotInfo(size, version)
