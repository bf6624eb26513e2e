"""The readiness poll of the Manager: a quick ramp, then k0s's 100 ms."""

from __future__ import annotations

import itertools

from k0spy.components.base import READY_POLL_INTERVAL, poll_delays


def test_ramp_doubles_from_10ms_then_holds_the_interval() -> None:
    delays = list(itertools.islice(poll_delays(READY_POLL_INTERVAL), 8))
    assert delays == [0.01, 0.02, 0.04, 0.08, 0.1, 0.1, 0.1, 0.1]


def test_an_interval_below_the_first_step_is_used_from_the_start() -> None:
    assert list(itertools.islice(poll_delays(0.005), 3)) == [0.005, 0.005, 0.005]


def test_the_ramp_reaches_a_long_interval_and_never_exceeds_it() -> None:
    delays = list(itertools.islice(poll_delays(1.0), 12))
    assert max(delays) == 1.0
    assert delays == sorted(delays)
