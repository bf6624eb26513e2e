"""The ctypes inotify watcher on a real directory: events arrive through the event loop, and a burst of
changes becomes one debounced callback."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import pytest

from k0spy.errors import K0spyError
from k0spy.worker.inotify import IN_CREATE, IN_DELETE, IN_MOVED_TO, DirWatcher, debounce, parse_events


async def test_events_for_create_rename_delete(tmp_path: Path) -> None:
    watcher = DirWatcher(tmp_path)
    watcher.open()
    try:
        (tmp_path / "a.toml").write_text("x")
        os.rename(tmp_path / "a.toml", tmp_path / "b.toml")
        (tmp_path / "b.toml").unlink()
        seen: list[tuple[int, str]] = []
        while not any(mask & IN_DELETE for mask, _ in seen):
            seen.append(await asyncio.wait_for(watcher.queue.get(), 5))
    finally:
        watcher.close()
    assert any(mask & IN_CREATE and name == "a.toml" for mask, name in seen)
    assert any(mask & IN_MOVED_TO and name == "b.toml" for mask, name in seen)


async def test_burst_is_debounced_into_one_call(tmp_path: Path) -> None:
    calls: list[float] = []
    called = asyncio.Event()

    async def callback() -> None:
        calls.append(asyncio.get_running_loop().time())
        called.set()

    watcher = DirWatcher(tmp_path)
    watcher.open()
    task = asyncio.create_task(debounce(watcher, 0.2, callback))
    try:
        for i in range(20):
            (tmp_path / f"f{i}").write_text(str(i))
            await asyncio.sleep(0.01)
        await asyncio.wait_for(called.wait(), 5)
        await asyncio.sleep(0.4)
        assert len(calls) == 1
        called.clear()
        (tmp_path / "late").write_text("x")
        await asyncio.wait_for(called.wait(), 5)
        assert len(calls) == 2
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        watcher.close()


async def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(K0spyError, match=r"watching .*nope: No such file or directory"):
        DirWatcher(tmp_path / "nope").open()


def test_parse_events_handles_padding() -> None:
    import struct

    raw = struct.pack("iIII", 1, IN_CREATE, 0, 16) + b"x.toml".ljust(16, b"\0")
    raw += struct.pack("iIII", 1, 2, 0, 0)
    assert parse_events(raw) == [(IN_CREATE, "x.toml"), (2, "")]
