"""Which system user owns which PKI file, looked up once per run.

k0s chowns key material to the component's user when that user exists and falls back to root otherwise
(with a warning). The lookup is injected (`UserLookup`) so tests exercise the chown path without creating
system users on the machine.
"""

from __future__ import annotations

import pwd
from collections.abc import Callable
from dataclasses import dataclass, field

ROOT = "root"
ETCD_USER = "etcd"
APISERVER_USER = "kube-apiserver"
SCHEDULER_USER = "kube-scheduler"
KONNECTIVITY_USER = "konnectivity-server"

UserLookup = Callable[[str], int | None]


def system_lookup(name: str) -> int | None:
    """The uid of `name` from the password database, or None when there is no such user."""
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


@dataclass
class Owners:
    """Memoised uid lookups: one pwd call per user per run, root (0) for missing users."""

    lookup: UserLookup = system_lookup
    missing: set[str] = field(default_factory=set)
    _cache: dict[str, int] = field(default_factory=dict)

    def uid(self, user: str) -> int:
        if user == ROOT:
            return 0
        if user not in self._cache:
            uid = self.lookup(user)
            if uid is None:
                self.missing.add(user)
            self._cache[user] = 0 if uid is None else uid
        return self._cache[user]
