"""Helpers for the spare-key reserve tests: list the reserve, compare keys, wait for a daemon's event."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from k0spy.paths import Paths


def spare_files(paths: Paths) -> list[Path]:
    """The complete spare key files (temp files excluded), sorted."""
    if not paths.pki_spare_dir.is_dir():
        return []
    return sorted(p for p in paths.pki_spare_dir.iterdir() if p.name.startswith("spare-"))


def fingerprint(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> int:
    """The modulus: equal for a private key and its public half, different for any two keys."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_numbers().n


def wait_for_event(node: Any, event: str, timeout: float = 60) -> dict[str, Any]:
    """The first `event` in the log of the node's latest start; fails with the log's tail if the daemon
    exits or the event does not come in time (polls the log: no fixed sleep decides the outcome)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in node.events() if e.get("event") == event]
        if found:
            return dict(found[0])
        if node.proc is None or node.proc.poll() is not None:
            raise AssertionError(f"the controller exited before {event}:\n{node.log_tail()}")
        time.sleep(0.1)
    raise AssertionError(f"no {event} after {timeout}s:\n{node.log_tail()}")
