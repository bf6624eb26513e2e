"""Image bundles: every file in DATA/images imported into containerd (namespace k8s.io) and pinned.

As k0s's OCI bundle reconciler (§10.5): at start and after each burst of changes in the directory
(inotify, debounced), every file whose mtime differs from its last import is imported; each image it
holds gets `io.cri-containerd.pinned=pinned` (kubelet's image GC keeps it) and `io.k0sproject.ocibundle-
paths`, a JSON map `{bundle path: mtime}` (RFC 3339 with nanoseconds, as Go marshals a time). After each
pass, a pinned image none of whose bundles is still there unchanged loses both labels (it is not
deleted); one with some bundles left keeps its pin and the shorter map.

Mechanism: `ctr images import` (the staged `ctr`, or PATH's) does the import, so OCI layouts and docker
archives work as containerd itself reads them, at ctr's speed; `ctr images label` writes labels; the
labels are read back over containerd's gRPC Images/List (`grpcraw`), because `ctr images ls` prints
labels comma-joined and the JSON map has commas. containerd not answering is retried every 5 s.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from k0spy.components.base import TaskComponent
from k0spy.errors import K0spyError
from k0spy.fsutil import DATA_DIR_MODE, ensure_dir
from k0spy.log import get_logger
from k0spy.paths import Paths

NAMESPACE = "k8s.io"
PINNED_LABEL = "io.cri-containerd.pinned"
SOURCES_LABEL = "io.k0sproject.ocibundle-paths"
DEBOUNCE = 10.0
RETRY_INTERVAL = 5.0
_UNPACKING = re.compile(r"^unpacking (\S+) \(sha256:[0-9a-f]+\)")
_RFC3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")

Sources = dict[str, int]  # bundle path -> mtime in ns


# --- pure: times, labels, decisions ---------------------------------------------------------------------
def format_mtime(ns: int) -> str:
    """An mtime as Go's time.Time JSON (RFC 3339, nanoseconds without trailing zeros, UTC)."""
    seconds, frac = divmod(ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


def parse_mtime(text: str) -> int:
    """Go's RFC 3339 time (any offset) to ns since the epoch; raises ValueError."""
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    zone = match.group(8)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    frac = int((match.group(7) or "").ljust(9, "0"))
    return seconds * 1_000_000_000 + frac


def decode_sources(value: str | None) -> Sources:
    """The label's map; an unreadable label reads as no sources (such an image is not ours)."""
    if not value:
        return {}
    try:
        raw = json.loads(value)
        return {str(path): parse_mtime(str(when)) for path, when in raw.items()}
    except (ValueError, AttributeError):
        return {}


def encode_sources(sources: Mapping[str, int]) -> str:
    return json.dumps({path: format_mtime(ns) for path, ns in sorted(sources.items())}, separators=(",", ":"))


def still_valid(sources: Mapping[str, int], present: Mapping[str, int]) -> Sources:
    """The sources whose bundle is still present with the same mtime."""
    return {path: ns for path, ns in sources.items() if present.get(path) == ns}


def to_import(present: Mapping[str, int], imported: Mapping[str, int]) -> list[str]:
    """Bundles new or changed since their last successful import, in name order."""
    return sorted(path for path, ns in present.items() if imported.get(path) != ns)


@dataclass(frozen=True)
class LabelChange:
    """Labels to set on one image; an empty value clears that label."""

    image: str
    labels: tuple[tuple[str, str], ...]


def pin_change(image: str, labels: Mapping[str, str], bundle: str, mtime_ns: int,
               present: Mapping[str, int]) -> LabelChange:
    """After importing `bundle`: pinned, and the bundle added to the still-valid sources."""
    sources = still_valid(decode_sources(labels.get(SOURCES_LABEL)), present)
    sources[bundle] = mtime_ns
    return LabelChange(image, ((PINNED_LABEL, "pinned"), (SOURCES_LABEL, encode_sources(sources))))


def unpin_change(image: str, labels: Mapping[str, str], present: Mapping[str, int]) -> LabelChange | None:
    """For a pinned image of ours: drop gone/changed bundles; unpin when none is left; None: no change."""
    if labels.get(PINNED_LABEL) != "pinned":
        return None
    sources = decode_sources(labels.get(SOURCES_LABEL))
    if not sources:
        return None
    valid = still_valid(sources, present)
    if valid == sources:
        return None
    if valid:
        return LabelChange(image, ((SOURCES_LABEL, encode_sources(valid)),))
    return LabelChange(image, ((PINNED_LABEL, ""), (SOURCES_LABEL, "")))


def parse_import_output(text: str) -> list[str]:
    """Image names from `ctr images import` (`unpacking NAME (sha256:...)...done`)."""
    names: list[str] = []
    for line in text.splitlines():
        match = _UNPACKING.match(line.strip())
        if match and match.group(1) not in names:
            names.append(match.group(1))
    return names


# --- mechanism -----------------------------------------------------------------------------------------
def find_ctr(paths: Paths) -> str:
    """The staged `DATA/bin/ctr`, else `ctr` on PATH."""
    staged = paths.bin_dir / "ctr"
    if os.access(staged, os.X_OK):
        return str(staged)
    found = shutil.which("ctr")
    if found is None:
        raise K0spyError("ctr not found in DATA/bin nor on PATH", hint="stage the containerd bundle")
    return found


def scan_bundles(directory: Path) -> dict[str, int]:
    """Regular files in the bundle dir (symlinks followed) and their mtime in ns; dot-files skipped."""
    out: dict[str, int] = {}
    with contextlib.suppress(FileNotFoundError), os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            with contextlib.suppress(OSError):
                info = entry.stat()
                if entry.is_file():
                    out[entry.path] = info.st_mtime_ns
    return out


class CtrError(K0spyError):
    """`ctr` failed; the message carries its output."""


class ImageBundles(TaskComponent):
    """The bundle reconciler as a Component (name `ocibundle`); see the module docstring."""

    def __init__(self, paths: Paths, *, ctr: str | None = None, socket: Path | None = None,
                 debounce: float = DEBOUNCE, retry_interval: float = RETRY_INTERVAL) -> None:
        self.name = "ocibundle"
        self.paths = paths
        self.ctr = ctr
        self.socket = socket or paths.containerd_socket
        self.debounce = debounce
        self.retry_interval = retry_interval
        self.imported: dict[str, int] = {}
        self.passes = 0
        self.log = get_logger(component="ocibundle")
        self._lock = asyncio.Lock()

    async def init(self) -> None:
        ensure_dir(self.paths.images_dir, DATA_DIR_MODE)
        if self.ctr is None:
            self.ctr = find_ctr(self.paths)

    async def ready(self) -> None:
        """Imports run in the background (k0s does not hold kubelet back for them)."""

    async def run(self) -> None:
        from k0spy.worker.inotify import DirWatcher, debounce

        watcher = DirWatcher(self.paths.images_dir)
        watcher.open()  # before the first pass: a file dropped during it is not missed
        try:
            await self._reconcile_until_connected()
            await debounce(watcher, self.debounce, self.reconcile)
        finally:
            watcher.close()

    async def _reconcile_until_connected(self) -> None:
        while True:
            try:
                await self.reconcile(raise_errors=True)
                return
            except Exception as err:  # containerd not up yet, or gone: k0s retries every 5 s
                self.log.warning("ocibundle.retry", error=str(err), every=self.retry_interval)
                await asyncio.sleep(self.retry_interval)

    async def reconcile(self, raise_errors: bool = False) -> None:
        """One pass: import new/changed bundles, then unpin images whose bundles are gone."""
        async with self._lock:
            try:
                await self._pass()
            except Exception as err:
                self.log.error("ocibundle.pass_failed", error=str(err))
                if raise_errors:
                    raise
            finally:
                self.passes += 1

    async def _pass(self) -> None:
        present = scan_bundles(self.paths.images_dir)
        for path in to_import(present, self.imported):
            try:
                await self.import_bundle(path, present[path], present)
            except CtrError as err:
                self.log.error("ocibundle.import_failed", bundle=path, error=err.message)
                continue
            self.imported[path] = present[path]
        for path in set(self.imported) - set(present):
            del self.imported[path]
        await self.unpin_gone(present)

    async def import_bundle(self, path: str, mtime_ns: int, present: Mapping[str, int]) -> list[str]:
        started = time.monotonic()
        out = await self._ctr("images", "import", path)
        names = parse_import_output(out)
        labels = await self._labels(names)
        for name in names:
            await self._apply(pin_change(name, labels.get(name, {}), path, mtime_ns, present))
        self.log.info("ocibundle.imported", bundle=path, images=names,
                      seconds=round(time.monotonic() - started, 3))
        return names

    async def unpin_gone(self, present: Mapping[str, int]) -> list[str]:
        from k0spy.worker import grpcraw

        images = await grpcraw.list_images(self.socket, NAMESPACE, (f'labels."{PINNED_LABEL}"==pinned',))
        unpinned: list[str] = []
        for image in images:
            change = unpin_change(image.name, image.labels, present)
            if change is None:
                continue
            await self._apply(change)
            if any(key == PINNED_LABEL for key, _ in change.labels):
                unpinned.append(image.name)
                self.log.info("ocibundle.unpinned", image=image.name)
        return unpinned

    async def _labels(self, names: list[str]) -> dict[str, dict[str, str]]:
        if not names:
            return {}
        from k0spy.worker import grpcraw

        filters = tuple(f"name=={json.dumps(name)}" for name in names)
        images = await grpcraw.list_images(self.socket, NAMESPACE, filters)
        return {image.name: image.labels for image in images}

    async def _apply(self, change: LabelChange) -> None:
        await self._ctr("images", "label", change.image, *(f"{k}={v}" for k, v in change.labels))

    async def _ctr(self, *args: str) -> str:
        assert self.ctr is not None, "init() first"
        argv: list[Any] = [self.ctr, "--address", str(self.socket), "--namespace", NAMESPACE, *args]
        proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT,
                                                    stdin=asyncio.subprocess.DEVNULL)
        out, _ = await proc.communicate()
        text = out.decode(errors="replace")
        if proc.returncode != 0:
            raise CtrError(f"ctr {' '.join(args[:2])} failed (rc {proc.returncode}): {text.strip()[-500:]}")
        return text
