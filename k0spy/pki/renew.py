"""Renewal without a restart, the pure part: which leaves are due, which components must restart.

k0s renews leaves only when k0s restarts, so a controller that runs for a year lets them expire (k0s
issue 7812). The daemon's `k0spy.pki.renewer.CertRenewer` calls `due_for_renewal` with the expiries it
reads, `ensure.renew_leaves` for the due names, and restarts `components_to_restart(names)` one at a
time. Everything here but `read_expiries` is pure and tested without a clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from k0spy.paths import Paths
from k0spy.pki.leaf import LEAVES, find
from k0spy.pki.settings import PKISettings

DEFAULT_RENEW_WINDOW = dt.timedelta(days=30)
# Restart order when several components are affected: storage first, then the API, then its clients.
RESTART_ORDER = ("etcd", "kube-apiserver", "konnectivity-server", "kube-controller-manager", "kube-scheduler",
                 "k0s-api")
SELF = "k0spy"  # the daemon's own clients reload their credentials; nothing to restart


@dataclass(frozen=True)
class LeafExpiry:
    name: str
    not_after: dt.datetime | None  # None: missing or unreadable, so renew it


def due_for_renewal(expiries: Iterable[LeafExpiry], now: dt.datetime,
                    window: dt.timedelta = DEFAULT_RENEW_WINDOW) -> list[str]:
    """Leaves whose not-after falls within `window` of `now` (or that cannot be read), in table order."""
    return [item.name for item in expiries if item.not_after is None or item.not_after - now <= window]


def components_to_restart(names: Iterable[str]) -> list[str]:
    """The components reading any of `names`, each once, in `RESTART_ORDER`."""
    used = {component for name in names for component in find(name).used_by if component != SELF}
    return [component for component in RESTART_ORDER if component in used]


def uses_table() -> dict[str, tuple[str, ...]]:
    """leaf name -> components that read it (for docs, status and tests)."""
    return {row.name: row.used_by for row in LEAVES}


def next_check_delay(expiries: Iterable[LeafExpiry], now: dt.datetime,
                     window: dt.timedelta = DEFAULT_RENEW_WINDOW,
                     ceiling: dt.timedelta = dt.timedelta(hours=12)) -> dt.timedelta:
    """How long the daemon may sleep before a leaf enters the window (at most `ceiling`)."""
    soonest = min((item.not_after - window - now for item in expiries if item.not_after is not None),
                  default=ceiling)
    return max(dt.timedelta(0), min(soonest, ceiling))


def read_expiries(paths: Paths, settings: PKISettings) -> list[LeafExpiry]:
    """The not-after of every leaf k0spy renews (foreign-issued leaves are not ours to renew)."""
    from cryptography import x509

    from k0spy.pki.ca import common_name
    from k0spy.pki.leaf import K0S_CA_NAMES, inventory

    out = []
    for spec in inventory(settings, []):
        path = paths.cert_dir / f"{spec.name}.crt"
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError):
            out.append(LeafExpiry(spec.name, None))
            continue
        issuer = common_name(cert.issuer)
        if issuer in K0S_CA_NAMES or issuer == _ca_cn(paths.cert_dir / f"{spec.issuer.name}.crt"):
            out.append(LeafExpiry(spec.name, cert.not_valid_after_utc))
    return out


def _ca_cn(path: Path) -> str | None:
    from cryptography import x509

    from k0spy.pki.ca import common_name

    try:
        return common_name(x509.load_pem_x509_certificate(path.read_bytes()).subject)
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class RenewalOutcome:
    """What one renewal check did: the leaves renewed and the components to restart, one at a time."""

    renewed: list[str]
    restart: list[str]


def renew_due(paths: Paths, settings: PKISettings, *, now: dt.datetime | None = None,
              window: dt.timedelta = DEFAULT_RENEW_WINDOW, **ensure_kwargs: Any) -> RenewalOutcome:
    """The daemon's periodic call (run it off the event loop): renew what is due, say what to restart."""
    from k0spy.pki.ensure import renew_leaves

    now = now or dt.datetime.now(dt.UTC)
    due = due_for_renewal(read_expiries(paths, settings), now, window)
    if not due:
        return RenewalOutcome([], [])
    result = renew_leaves(paths, settings, frozenset(due), now=now, **ensure_kwargs)
    return RenewalOutcome(result.renewed, components_to_restart(result.renewed))
