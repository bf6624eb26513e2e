"""Watch a directory with inotify from asyncio, and debounce bursts of changes into one callback.

The standard library has no inotify, and polling a directory every few seconds would either miss quick
create+delete pairs or cost wake-ups forever. libc's `inotify_init1`/`inotify_add_watch` through ctypes
give a non-blocking fd that the event loop watches with `add_reader`: no thread, no polling. k0s does the
same with fsnotify for the containerd drop-in dir (3 s debounce) and the image bundle dir (10 s).

    watcher = DirWatcher(path); watcher.open()
    await debounce(watcher, 3.0, callback)     # runs until cancelled
    watcher.close()
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path

from k0spy.errors import K0spyError

IN_MODIFY = 0x00000002
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_ATTRIB = 0x00000004
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
# Create, remove, write, rename, as k0s filters; attribute changes cover `touch` (a new mtime).
CHANGE_MASK = (IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB
               | IN_DELETE_SELF | IN_MOVE_SELF)
_EVENT = struct.Struct("iIII")

_libc: ctypes.CDLL | None = None


def _lib() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc


def parse_events(data: bytes) -> list[tuple[int, str]]:
    """(mask, name) for each `struct inotify_event` in a read buffer."""
    out: list[tuple[int, str]] = []
    pos = 0
    while pos + _EVENT.size <= len(data):
        _wd, mask, _cookie, length = _EVENT.unpack_from(data, pos)
        pos += _EVENT.size
        name = data[pos:pos + length].rstrip(b"\0").decode(errors="replace")
        pos += length
        out.append((mask, name))
    return out


class DirWatcher:
    """Change notifications for one directory, delivered into an asyncio.Queue."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None
        self.queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()

    def open(self) -> None:
        libc = _lib()
        fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise K0spyError(f"inotify_init1: {os.strerror(err)}",
                             hint="raise fs.inotify.max_user_instances")
        if libc.inotify_add_watch(fd, os.fsencode(self.path), CHANGE_MASK) < 0:
            err = ctypes.get_errno()
            os.close(fd)
            raise K0spyError(f"watching {self.path}: {os.strerror(err)}",
                             hint="the directory must exist; raise fs.inotify.max_user_watches if full")
        self.fd = fd
        asyncio.get_running_loop().add_reader(fd, self._readable)

    def _readable(self) -> None:
        assert self.fd is not None
        try:
            data = os.read(self.fd, 64 * 1024)
        except BlockingIOError:
            return
        for event in parse_events(data):
            self.queue.put_nowait(event)

    def close(self) -> None:
        if self.fd is not None:
            asyncio.get_running_loop().remove_reader(self.fd)
            os.close(self.fd)
            self.fd = None


async def debounce(watcher: DirWatcher, delay: float, callback: Callable[[], Awaitable[None]]) -> None:
    """Call `callback` once after each burst of events, when `delay` seconds passed without a new one.

    Runs until cancelled. A callback failure is the callback's business (it should log); the loop goes on.
    """
    while True:
        await watcher.queue.get()
        while True:
            try:
                await asyncio.wait_for(watcher.queue.get(), delay)
            except TimeoutError:
                break
        await callback()
