"""RSS and CPU% for `/components`: real numbers from the first query on."""

from __future__ import annotations

import subprocess
import sys
import time

from k0spy.status.metrics import ResourceSampler


def test_busy_child_shows_cpu_from_the_first_sample() -> None:
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        sampler = ResourceSampler()
        rss, cpu = sampler.sample(busy.pid)
        assert rss is not None and rss > 1_000_000
        assert cpu is not None and cpu > 10
        time.sleep(0.3)
        _, cpu2 = sampler.sample(busy.pid)
        assert cpu2 is not None and cpu2 > 10
    finally:
        busy.kill()
        busy.wait()
    assert sampler.sample(busy.pid) == (None, None)
    assert sampler.sample(None) == (None, None)
    sampler.forget_except(set())
