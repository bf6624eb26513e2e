"""What the apiserver fills in on create (namespace phase, secret stringData, CSR requester) and the
system namespaces it creates at start-up."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from typing import Any

from . import resources as resmod
from .auth import User
from .resources import Resource
from .state import ApiState
from .store import StatusError, invalid

NAMESPACES = resmod.find("", "v1", "namespaces")
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def default_on_create(res: Resource, obj: dict[str, Any], user: User) -> None:
    meta = obj["metadata"]
    if res.name == "namespaces":
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
    elif res.name == "secrets":
        data = obj.setdefault("data", {}) or {}
        for key, value in (obj.pop("stringData", None) or {}).items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data
        obj["type"] = obj.get("type") or "Opaque"
    elif res.name == "certificatesigningrequests":
        validate_csr(res, obj, user)


def validate_csr(res: Resource, obj: dict[str, Any], user: User) -> None:
    from cryptography import x509

    spec = obj.setdefault("spec", {})
    name = obj["metadata"]["name"]
    if not spec.get("signerName"):
        raise invalid(res, name, "spec.signerName: Required value")
    if not spec.get("usages"):
        raise invalid(res, name, "spec.usages: Required value")
    try:
        x509.load_pem_x509_csr(base64.b64decode(spec.get("request", "")))
    except ValueError:
        raise invalid(
            res, name, "spec.request: Invalid value: []byte{...}: PEM block type must be CERTIFICATE REQUEST"
        ) from None
    spec["username"] = user.name
    spec["groups"] = list(user.groups)
    obj["status"] = {}


async def ensure_system_namespaces(state: ApiState, stop: asyncio.Event) -> None:
    """The real apiserver creates these at start-up; readiness waits for it."""
    assert NAMESPACES is not None
    while not stop.is_set():
        try:
            for name in SYSTEM_NAMESPACES:
                obj: dict[str, Any] = {"metadata": {"name": name}}
                default_on_create(NAMESPACES, obj, User("system:apiserver"))
                obj["kind"], obj["apiVersion"] = "Namespace", "v1"
                with contextlib.suppress(StatusError):
                    await state.store.create(NAMESPACES, "", obj)
                await state.store.get(NAMESPACES, "", name)
            state.namespaces_ready = True
            return
        except StatusError as err:
            state.log.error("Unable to create system namespaces", err=err.message)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
