"""A reserve of spare RSA keys, generated while the node is idle and spent by the next start.

k0s gives every leaf a fresh key on every start, and so does k0spy; but generating the 11 leaf keys is
0.4 s of a warm start's critical path on 2 cores. The reserve moves that cost off it: once every component
is ready, a low-priority thread tops up `<cert_root>/.spare` (0700, root) with one unencrypted PKCS#1
RSA-2048 key per file (0600); the next `ensure_pki` takes a spare for each leaf it renews instead of
generating one. Each start's leaves still get keys never used before: a spare is read, then its file is
unlinked, and only a key whose unlink succeeded is used, so no key is ever handed out twice (a file another
taker unlinked first is skipped). `sync()` makes the unlinks durable before any certificate using the keys
is committed, so a power cut cannot bring a used spare back.

File names are `spare-<16 hex>.key`; `atomic_write` writes under `.spare-....tmp` and renames, so a
half-written key never carries a taken name. A spare that does not parse or whose numbers do not hold
together (p*q != n, e*d != 1) is deleted and skipped with a warning. Full RSA key validation is skipped on
load: it costs about 60 ms per key, more than generating one, and these files never leave this root-only
directory (`backup` does not archive it).
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import secrets
import stat
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import rsa

from k0spy.fsutil import OWNER_ONLY_MODE, atomic_write, ensure_dir, fsync_dir, remove_stale_temps
from k0spy.log import get_logger
from k0spy.pki.keys import KEY_BITS, KeyPool, generate_key, load_private_key, private_pem

if TYPE_CHECKING:
    from k0spy.paths import Paths
    from k0spy.pki.settings import PKISettings

SPARE_DIR_MODE = 0o700
SPARE_KEY_MODE = OWNER_ONLY_MODE
_NAME = re.compile(r"^spare-[0-9a-f]{16}\.key$")
IDLE_NICE = 19  # the lowest priority: the refill only ever uses CPU the node does not want


def _log() -> Any:
    return get_logger(component="pki")


def reserve_size(settings: PKISettings) -> int:
    """How many keys one full pass renews: the leaves of the inventory (the etcd set when etcd is local)."""
    from k0spy.pki.leaf import inventory

    return len(inventory(settings, [], etcd=None))


def _consistent(key: rsa.RSAPrivateKey) -> bool:
    """Cheap arithmetic checks (microseconds) that catch a damaged key which still parses."""
    numbers = key.private_numbers()
    p, q, d, e = numbers.p, numbers.q, numbers.d, numbers.public_numbers.e
    if key.key_size != KEY_BITS or p * q != numbers.public_numbers.n:
        return False
    return (e * d) % math.lcm(p - 1, q - 1) == 1


def _parse(path: Path, data: bytes) -> rsa.RSAPrivateKey | None:
    """The key in a spare file; None (with a warning) when it does not parse or does not hold together."""
    try:
        key = load_private_key(data)
    except ValueError as err:
        _log().warning("pki.spare.unreadable", path=str(path), error=str(err), detail="deleted")
        return None
    if not _consistent(key):
        _log().warning("pki.spare.unreadable", path=str(path), error="inconsistent RSA numbers",
                       detail="deleted")
        return None
    return key


class SpareKeys:
    """The reserve directory: `take()` one key at most once, `refill(target)` the missing ones."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._queue: list[str] | None = None
        self.taken = 0

    def names(self) -> list[str]:
        """The complete spare files present now (temp files of a refill in progress never match)."""
        try:
            return sorted(name for name in os.listdir(self.directory) if _NAME.match(name))
        except FileNotFoundError:
            return []

    def count(self) -> int:
        return len(self.names())

    def _private(self) -> bool:
        """Whether the directory is ours alone: a key anyone else could have planted is never used."""
        try:
            st = os.lstat(self.directory)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077:
            return True
        _log().warning("pki.spare.unsafe", path=str(self.directory), mode=oct(stat.S_IMODE(st.st_mode)),
                       uid=st.st_uid, detail="not a directory of ours with mode 0700: reserve not used")
        return False

    def _read(self, path: Path) -> bytes | None:
        """The file's bytes; None (with a warning) unless it is a regular file of ours only we can read."""
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            st = os.fstat(fd)
            if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077:
                return handle.read()
        mode = oct(stat.S_IMODE(st.st_mode))
        _log().warning("pki.spare.unreadable", path=str(path), detail="deleted",
                       error=f"not a private file of ours (mode {mode}, uid {st.st_uid})")
        return None

    def take(self) -> rsa.RSAPrivateKey | None:
        """A spare key, its file already unlinked; None when the reserve is empty."""
        if self._queue is None:
            self._queue = self.names() if self._private() else []
        while self._queue:
            path = self.directory / self._queue.pop(0)
            try:
                data = self._read(path)
                path.unlink()  # only the taker whose unlink succeeds may use the key
            except FileNotFoundError:
                continue
            except OSError as err:  # unreadable or read-only reserve: generate instead, never fail
                _log().warning("pki.spare.unusable", path=str(path), error=str(err))
                self._queue = []
                return None
            key = _parse(path, data) if data is not None else None
            if key is not None:
                self.taken += 1
                return key
        return None

    def sync(self) -> None:
        """Make the unlinks of taken spares durable (call before committing what uses them)."""
        if self.taken and self.directory.is_dir():
            fsync_dir(self.directory)

    def prepare(self) -> None:
        """Create the directory (0700, root) and drop temp files a killed refill left behind."""
        ensure_dir(self.directory, SPARE_DIR_MODE, uid=0 if os.geteuid() == 0 else None,
                   gid=0 if os.geteuid() == 0 else None)
        remove_stale_temps(self.directory)

    def _write(self, key: rsa.RSAPrivateKey) -> None:
        path = self.directory / f"spare-{secrets.token_hex(8)}.key"
        atomic_write(path, private_pem(key), SPARE_KEY_MODE, uid=0 if os.geteuid() == 0 else None)

    def refill(self, target: int, *, stop: threading.Event | None = None, workers: int = 1) -> int:
        """Generate and write keys until `target` spares exist; returns how many were written.

        `stop` set: the refill ends after the key being generated, which is dropped, not written.
        """
        self.prepare()
        missing = max(0, target - self.count())
        if workers <= 1 or missing <= 1:
            return self._refill_serial(missing, stop)
        with KeyPool(workers) as pool:
            for future in [pool.submit() for _ in range(missing)]:
                self._write(future.result())
        return missing

    def _refill_serial(self, missing: int, stop: threading.Event | None) -> int:
        written = 0
        for _ in range(missing):
            if stop is not None and stop.is_set():
                break
            key = generate_key()
            if stop is not None and stop.is_set():
                break
            self._write(key)
            written += 1
        return written


def _niced(work: Callable[[], int]) -> Callable[[], int]:
    """Run `work` with this thread at the lowest priority (Linux applies nice per thread)."""
    def run() -> int:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), IDLE_NICE)
        return work()
    return run


async def refill_in_background(paths: Paths, settings: PKISettings) -> int:
    """Top up the reserve in one niced thread; cancellable (the key in progress is then not written).

    Never raises but CancelledError: a failure is a warning, the next start just generates its keys.
    """
    spares, target, stop = SpareKeys(paths.pki_spare_dir), reserve_size(settings), threading.Event()
    executor = ThreadPoolExecutor(1, thread_name_prefix="pki-spare")
    started = time.perf_counter()
    try:
        written = await asyncio.get_running_loop().run_in_executor(
            executor, _niced(lambda: spares.refill(target, stop=stop)))
    except asyncio.CancelledError:
        stop.set()
        _log().debug("pki.spare_refill_cancelled")
        raise
    except Exception as err:  # never fatal: a missing spare only costs time
        _log().warning("pki.spare_refill_failed", error=str(err), directory=str(paths.pki_spare_dir))
        return 0
    finally:
        executor.shutdown(wait=False)
    _log().info("pki.spare_refilled", count=written, reserve=target,
                seconds=round(time.perf_counter() - started, 3))
    return written


def refill_now(paths: Paths, settings: PKISettings, workers: int | None = None) -> int:
    """Top up the reserve synchronously on a few threads (`controller --init-only`); warns on failure."""
    from k0spy.pki.keys import default_workers

    started, target = time.perf_counter(), reserve_size(settings)
    try:
        written = SpareKeys(paths.pki_spare_dir).refill(target, workers=workers or default_workers())
    except Exception as err:  # never fatal
        _log().warning("pki.spare_refill_failed", error=str(err), directory=str(paths.pki_spare_dir))
        return 0
    _log().info("pki.spare_refilled", count=written, reserve=target,
                seconds=round(time.perf_counter() - started, 3))
    return written
