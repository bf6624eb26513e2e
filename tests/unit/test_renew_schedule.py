"""The renewer's timing decision (`plan_delay`) and its small pure helpers, without a clock."""

from __future__ import annotations

import datetime as dt

from k0spy.pki.renew import LeafExpiry
from k0spy.pki.renewer import (
    CHECK_CEILING,
    MIN_INTERVAL,
    RETRY_DELAY,
    RenewalState,
    earliest_expiry,
    plan_delay,
)

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
WINDOW = dt.timedelta(days=30)
H = dt.timedelta(hours=1)


def leaf(name: str, left: dt.timedelta | None) -> LeafExpiry:
    return LeafExpiry(name, None if left is None else NOW + left)


def test_fresh_leaves_sleep_the_ceiling_not_until_the_window() -> None:
    expiries = [leaf("server", dt.timedelta(days=365)), leaf("admin", dt.timedelta(days=200))]
    assert plan_delay(expiries, NOW, WINDOW) == CHECK_CEILING == H


def test_a_leaf_entering_the_window_soon_wakes_the_renewer_then() -> None:
    expiries = [leaf("server", WINDOW + dt.timedelta(minutes=7)), leaf("admin", dt.timedelta(days=365))]
    assert plan_delay(expiries, NOW, WINDOW) == dt.timedelta(minutes=7)


def test_a_due_or_expired_leaf_is_checked_at_once() -> None:
    assert plan_delay([leaf("server", WINDOW - H)], NOW, WINDOW) == dt.timedelta(0)
    assert plan_delay([leaf("server", -H)], NOW, WINDOW) == dt.timedelta(0)


def test_a_failed_check_waits_the_retry_delay_instead_of_spinning() -> None:
    due = [leaf("server", WINDOW - H)]
    assert plan_delay(due, NOW, WINDOW, failed=True) == RETRY_DELAY
    half_minute = dt.timedelta(seconds=30)
    assert plan_delay(due, NOW, WINDOW, failed=True, retry=half_minute) == half_minute


def test_renewals_stay_min_interval_apart_even_when_the_window_exceeds_the_validity() -> None:
    # 48 h leaves with a 47h59m window are due again one minute after they were renewed: no loop.
    renewed_at = NOW - dt.timedelta(minutes=1)
    fresh = [leaf("server", dt.timedelta(hours=48) - dt.timedelta(minutes=1))]
    window = dt.timedelta(hours=47, minutes=59, seconds=30)
    assert plan_delay(fresh, NOW, window) == dt.timedelta(0)
    assert plan_delay(fresh, NOW, window, last_renewal=renewed_at) == MIN_INTERVAL - dt.timedelta(minutes=1)


def test_the_min_interval_does_not_delay_a_check_that_is_later_anyway() -> None:
    renewed_at = NOW - dt.timedelta(minutes=1)
    expiries = [leaf("server", dt.timedelta(days=365))]
    assert plan_delay(expiries, NOW, WINDOW, last_renewal=renewed_at) == CHECK_CEILING
    long_ago = NOW - dt.timedelta(days=2)
    assert plan_delay([leaf("server", WINDOW - H)], NOW, WINDOW, last_renewal=long_ago) == dt.timedelta(0)


def test_no_readable_leaf_sleeps_the_ceiling() -> None:
    assert plan_delay([], NOW, WINDOW) == CHECK_CEILING
    assert plan_delay([leaf("server", None)], NOW, WINDOW, ceiling=dt.timedelta(minutes=3)) == \
        dt.timedelta(minutes=3)


def test_earliest_expiry_ignores_unreadable_leaves() -> None:
    expiries = [leaf("server", dt.timedelta(days=3)), leaf("bad", None), leaf("admin", dt.timedelta(days=2))]
    assert earliest_expiry(expiries) == NOW + dt.timedelta(days=2)
    assert earliest_expiry([leaf("bad", None)]) is None


def test_state_json_uses_the_status_socket_field_names() -> None:
    state = RenewalState(window=3600.0, renewed=["server"], restarted=["kube-apiserver"],
                         renewals={"server": 2})
    doc = state.to_json()
    assert doc == {"window": 3600.0, "lastCheck": None, "lastRenewal": None, "renewed": ["server"],
                   "restarted": ["kube-apiserver"], "nextCheck": None, "earliestExpiry": None,
                   "renewals": {"server": 2}, "error": None}
    doc["renewals"]["server"] = 5
    assert state.renewals == {"server": 2}
