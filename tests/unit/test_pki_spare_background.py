"""The idle-time refill: niced thread of its own, logs what it did, cancellable, never fatal."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest
from structlog.testing import capture_logs

from k0spy.paths import Paths
from k0spy.pki.spare import IDLE_NICE, refill_in_background, refill_now, reserve_size
from tests.support.pki import settings
from tests.support.pki_spare import spare_files


def spare_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("pki-spare")]


async def wait_for_spare_thread(task: asyncio.Task[int]) -> threading.Thread:
    while not task.done():
        threads = spare_threads()
        if threads and threads[0].native_id is not None:
            return threads[0]
        await asyncio.sleep(0.005)
    raise AssertionError("the refill finished before its thread was seen")


async def test_background_refill_fills_the_reserve_and_logs_it(paths: Paths) -> None:
    with capture_logs() as logs:
        written = await refill_in_background(paths, settings())
    assert written == reserve_size(settings()) == len(spare_files(paths))
    (event,) = [log for log in logs if log["event"] == "pki.spare_refilled"]
    assert event["count"] == written and event["reserve"] == written and event["seconds"] >= 0
    with capture_logs() as logs:
        assert await refill_in_background(paths, settings()) == 0  # already full
    assert [log["count"] for log in logs if log["event"] == "pki.spare_refilled"] == [0]


async def test_the_refill_thread_alone_runs_at_the_lowest_priority(paths: Paths) -> None:
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    task = asyncio.create_task(refill_in_background(paths, settings()))
    thread = await wait_for_spare_thread(task)
    assert thread.native_id is not None
    niced = os.getpriority(os.PRIO_PROCESS, thread.native_id)
    await task
    assert niced == IDLE_NICE
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own  # not the daemon's threads


async def test_cancelling_stops_the_refill_without_a_partial_key(paths: Paths) -> None:
    task = asyncio.create_task(refill_in_background(paths, settings()))
    thread = await wait_for_spare_thread(task)
    while not spare_files(paths) and not task.done():  # cancel in the middle of the refill
        await asyncio.sleep(0.005)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    at_cancel = len(spare_files(paths))
    await asyncio.to_thread(thread.join)  # ends after the key in progress, which it drops
    after = spare_files(paths)
    assert at_cancel <= len(after) <= at_cancel + 1  # at most the one write already under way
    assert len(after) < reserve_size(settings())
    assert [p.name for p in paths.pki_spare_dir.iterdir() if p.name.endswith(".tmp")] == []
    for path in after:
        assert path.read_bytes().rstrip().endswith(b"-----END RSA PRIVATE KEY-----")


async def test_a_failing_refill_is_a_warning(paths: Paths) -> None:
    paths.cert_dir.mkdir(parents=True)
    paths.pki_spare_dir.write_text("not a directory")
    with capture_logs() as logs:
        assert await refill_in_background(paths, settings()) == 0
        assert refill_now(paths, settings()) == 0
    failures = [log for log in logs if log["event"] == "pki.spare_refill_failed"]
    assert len(failures) == 2 and all(log["log_level"] == "warning" for log in failures)


def test_refill_now_fills_the_reserve_on_several_threads(paths: Paths) -> None:
    kine = settings(storage_type="kine")
    assert refill_now(paths, kine, workers=2) == reserve_size(kine) == len(spare_files(paths))
