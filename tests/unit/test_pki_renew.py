"""Renewal policy: which leaves are due, which components restart, how long to sleep."""

from __future__ import annotations

import datetime as dt

import pytest

from k0spy.pki.renew import LeafExpiry, components_to_restart, due_for_renewal, next_check_delay, uses_table

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def test_due_within_the_window_or_unreadable() -> None:
    expiries = [LeafExpiry("admin", NOW + 31 * DAY), LeafExpiry("server", NOW + 30 * DAY),
                LeafExpiry("etcd/peer", NOW - DAY), LeafExpiry("ccm", None)]
    assert due_for_renewal(expiries, NOW) == ["server", "etcd/peer", "ccm"]
    assert due_for_renewal(expiries, NOW, window=DAY) == ["etcd/peer", "ccm"]


@pytest.mark.parametrize(("names", "components"), [
    (["server"], ["kube-apiserver"]),
    (["scheduler", "etcd/server", "apiserver-etcd-client"], ["etcd", "kube-apiserver", "kube-scheduler"]),
    (["admin"], []),
    (["k0s-api", "ccm", "konnectivity"], ["konnectivity-server", "kube-controller-manager", "k0s-api"]),
])
def test_components_to_restart_each_once_in_order(names: list[str], components: list[str]) -> None:
    assert components_to_restart(names) == components


def test_every_leaf_has_users() -> None:
    assert all(uses_table().values())


def test_next_check_delay() -> None:
    soon = [LeafExpiry("admin", NOW + 30 * DAY + dt.timedelta(hours=2))]
    assert next_check_delay(soon, NOW) == dt.timedelta(hours=2)
    assert next_check_delay([LeafExpiry("admin", NOW + 400 * DAY)], NOW) == dt.timedelta(hours=12)
    assert next_check_delay([LeafExpiry("admin", NOW)], NOW) == dt.timedelta(0)
