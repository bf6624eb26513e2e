"""Server-side printing (meta.k8s.io/v1 Table) for `kubectl get`, with the real printers' columns, so that
`kubectl get nodes` shows STATUS Ready and `kubectl get csr` its CONDITION as against a real cluster."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

Row = list[Any]


def human_age(created: str, now: datetime.datetime | None = None) -> str:
    """apimachinery's duration.HumanDuration."""
    if not created:
        return "<unknown>"
    moment = datetime.datetime.fromisoformat(created.replace("Z", "+00:00"))
    seconds = int(((now or datetime.datetime.now(datetime.UTC)) - moment).total_seconds())
    if seconds < 0:
        return "<invalid>"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d" if days < 365 * 2 else f"{days // 365}y"


def _age(obj: dict[str, Any]) -> str:
    return human_age(obj["metadata"].get("creationTimestamp", ""))


def _node_status(obj: dict[str, Any]) -> str:
    ready = next(
        (c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), None
    )
    status = "Unknown" if ready is None else ("Ready" if ready.get("status") == "True" else "NotReady")
    if (obj.get("spec") or {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    return status


def _roles(obj: dict[str, Any]) -> str:
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix) :] for k in (obj["metadata"].get("labels") or {}) if k.startswith(prefix))
    return ",".join(roles) or "<none>"


def _csr_condition(obj: dict[str, Any]) -> str:
    conditions = [c.get("type", "") for c in (obj.get("status") or {}).get("conditions") or []]
    if (obj.get("status") or {}).get("certificate"):
        conditions.append("Issued")
    return ",".join(conditions) or "Pending"


def _event_object(obj: dict[str, Any]) -> str:
    involved = obj.get("involvedObject") or {}
    return f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"


def _address(obj: dict[str, Any], kind: str) -> str:
    addresses = (obj.get("status") or {}).get("addresses") or []
    return next((a["address"] for a in addresses if a.get("type") == kind), "<none>")


Column = tuple[str, str, int, Callable[[dict[str, Any]], Any]]
COLUMNS: dict[str, list[Column]] = {
    "namespaces": [
        ("Status", "string", 0, lambda o: (o.get("status") or {}).get("phase", "")),
        ("Age", "string", 0, _age),
    ],
    "nodes": [
        ("Status", "string", 0, _node_status),
        ("Roles", "string", 0, _roles),
        ("Age", "string", 0, _age),
        (
            "Version",
            "string",
            0,
            lambda o: ((o.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", ""),
        ),
        ("Internal-IP", "string", 1, lambda o: _address(o, "InternalIP")),
        ("External-IP", "string", 1, lambda o: _address(o, "ExternalIP")),
        (
            "Container-Runtime",
            "string",
            1,
            lambda o: ((o.get("status") or {}).get("nodeInfo") or {}).get("containerRuntimeVersion", ""),
        ),
    ],
    "secrets": [
        ("Type", "string", 0, lambda o: o.get("type", "")),
        ("Data", "integer", 0, lambda o: len(o.get("data") or {})),
        ("Age", "string", 0, _age),
    ],
    "configmaps": [
        ("Data", "integer", 0, lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {})),
        ("Age", "string", 0, _age),
    ],
    "serviceaccounts": [
        ("Secrets", "integer", 0, lambda o: len(o.get("secrets") or [])),
        ("Age", "string", 0, _age),
    ],
    "leases": [
        ("Holder", "string", 0, lambda o: (o.get("spec") or {}).get("holderIdentity", "")),
        ("Age", "string", 0, _age),
    ],
    "events": [
        ("Type", "string", 0, lambda o: o.get("type", "")),
        ("Reason", "string", 0, lambda o: o.get("reason", "")),
        ("Object", "string", 0, _event_object),
        ("Message", "string", 0, lambda o: o.get("message", "")),
    ],
    "certificatesigningrequests": [
        ("Age", "string", 0, _age),
        ("SignerName", "string", 0, lambda o: (o.get("spec") or {}).get("signerName", "")),
        ("Requestor", "string", 0, lambda o: (o.get("spec") or {}).get("username", "")),
        (
            "RequestedDuration",
            "string",
            0,
            lambda o: (
                f"{(o.get('spec') or {}).get('expirationSeconds')}s"
                if (o.get("spec") or {}).get("expirationSeconds")
                else "<none>"
            ),
        ),
        ("Condition", "string", 0, _csr_condition),
    ],
}


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def table(
    resource: str, objects: list[dict[str, Any]], include: str, resource_version: str = ""
) -> dict[str, Any]:
    columns = COLUMNS.get(resource, [("Age", "string", 0, _age)])
    definitions = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    definitions += [
        {"name": n, "type": t, "format": "", "description": n, "priority": p} for n, t, p, _ in columns
    ]
    rows = []
    for obj in objects:
        cells: Row = [obj["metadata"]["name"], *(fn(obj) for _, _, _, fn in columns)]
        if include == "Object":
            embedded: dict[str, Any] = obj
        else:
            embedded = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append({"cells": cells, "object": embedded})
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions,
        "rows": rows,
    }
