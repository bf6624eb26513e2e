"""CertificateSigningRequest objects: what the kubelet bootstrap and the CSR approver both write."""

from __future__ import annotations

import datetime as dt
from typing import Any


def with_approval(csr: dict[str, Any], *, reason: str, message: str, now: dt.datetime) -> dict[str, Any]:
    """The CSR with an Approved condition appended (the body for its `/approval` subresource).

    The input is not changed: a caller that retries after a conflict still holds the object as read.
    """
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    status = dict(csr.get("status") or {})
    status["conditions"] = [*(status.get("conditions") or []), {
        "type": "Approved", "status": "True", "reason": reason, "message": message,
        "lastUpdateTime": stamp, "lastTransitionTime": stamp}]
    return {**csr, "status": status}
