"""Objects in etcd as JSON under `<etcd-prefix>/<resource>/[<namespace>/]<name>`, versioned by etcd.

resourceVersion is the key's mod_revision (a list's is the read revision), so two apiserver doubles on one
etcd see the same objects and optimistic concurrency holds across them.  Stored JSON carries no
resourceVersion, as in the real apiserver.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from ..etcdgw import KV, EtcdError, EtcdGateway
from .resources import Resource


class StatusError(Exception):
    """An API error, rendered as a metav1.Status."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            out["details"] = self.details
        return out


def _qualified(res: Resource) -> str:
    return f"{res.name}.{res.group}" if res.group else res.name


def not_found(res: Resource, name: str) -> StatusError:
    return StatusError(
        404,
        "NotFound",
        f'{_qualified(res)} "{name}" not found',
        {"name": name, "group": res.group, "kind": res.name},
    )


def already_exists(res: Resource, name: str) -> StatusError:
    return StatusError(
        409,
        "AlreadyExists",
        f'{_qualified(res)} "{name}" already exists',
        {"name": name, "group": res.group, "kind": res.name},
    )


def conflict(res: Resource, name: str) -> StatusError:
    return StatusError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_qualified(res)} "{name}": the '
        "object has been modified; please apply your changes to the latest version and try "
        "again",
        {"name": name, "group": res.group, "kind": res.name},
    )


def invalid(res: Resource, name: str, why: str) -> StatusError:
    return StatusError(
        422,
        "Invalid",
        f'{res.kind} "{name}" is invalid: {why}',
        {"name": name, "group": res.group, "kind": res.kind},
    )


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    def __init__(self, gateway: EtcdGateway, prefix: str) -> None:
        self.gw = gateway
        self.prefix = prefix.rstrip("/") or "/registry"

    def key(self, res: Resource, ns: str, name: str) -> str:
        return f"{self.dir(res, ns)}{name}"

    def dir(self, res: Resource, ns: str) -> str:
        base = f"{self.prefix}/{res.storage_name}/"
        return f"{base}{ns}/" if res.namespaced and ns else base

    def _decode(self, res: Resource, kv: KV) -> dict[str, Any]:
        obj: dict[str, Any] = json.loads(kv.value)
        obj["kind"], obj["apiVersion"] = res.kind, res.api_version
        obj.setdefault("metadata", {})["resourceVersion"] = str(kv.mod_revision)
        return obj

    @staticmethod
    def _encode(obj: dict[str, Any]) -> bytes:
        stored = json.loads(json.dumps(obj))
        stored.get("metadata", {}).pop("resourceVersion", None)
        return json.dumps(stored, separators=(",", ":")).encode()

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except EtcdError as err:
            raise StatusError(500, "InternalError", f"Internal error occurred: {err}") from None

    async def get(self, res: Resource, ns: str, name: str) -> dict[str, Any]:
        kv = await self._call(self.gw.get(self.key(res, ns, name)))
        if kv is None:
            raise not_found(res, name)
        return self._decode(res, kv)

    async def list(self, res: Resource, ns: str) -> tuple[list[dict[str, Any]], int]:
        kvs, revision = await self._call(self.gw.list(self.dir(res, ns)))
        return [self._decode(res, kv) for kv in kvs], revision

    async def create(self, res: Resource, ns: str, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        meta["uid"] = meta.get("uid") or str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        meta.pop("resourceVersion", None)
        revision = await self._call(self.gw.create(self.key(res, ns, meta["name"]), self._encode(obj)))
        if revision is None:
            raise already_exists(res, meta["name"])
        meta["resourceVersion"] = str(revision)
        return obj

    async def update(
        self,
        res: Resource,
        ns: str,
        name: str,
        mutate: Callable[[dict[str, Any]], dict[str, Any]],
        expect_rv: str | None = None,
        attempts: int = 5,
    ) -> dict[str, Any]:
        """Read, mutate, compare-and-swap; retried when nobody pinned a resourceVersion."""
        for _ in range(attempts):
            current = await self.get(res, ns, name)
            rv = int(current["metadata"]["resourceVersion"])
            if expect_rv and expect_rv != str(rv):
                raise conflict(res, name)
            updated = mutate(json.loads(json.dumps(current)))
            meta = updated.setdefault("metadata", {})
            if meta.get("name", name) != name:
                raise bad_request(
                    f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
                )
            for kept in ("uid", "creationTimestamp", "name", "namespace"):
                if kept in current["metadata"]:
                    meta[kept] = current["metadata"][kept]
            new_rv = await self._call(self.gw.update(self.key(res, ns, name), self._encode(updated), rv))
            if new_rv is not None:
                meta["resourceVersion"] = str(new_rv)
                return updated
            if expect_rv:
                raise conflict(res, name)
        raise conflict(res, name)

    async def delete(self, res: Resource, ns: str, name: str) -> dict[str, Any]:
        current = await self.get(res, ns, name)
        rv = int(current["metadata"]["resourceVersion"])
        if await self._call(self.gw.delete(self.key(res, ns, name), rv)) is None:
            raise conflict(res, name)
        return current

    async def delete_all(self, res: Resource, ns: str) -> None:
        await self._call(self.gw.delete_prefix(self.dir(res, ns)))

    async def watch(self, res: Resource, ns: str, after_rv: int) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """(ADDED|MODIFIED|DELETED, object) for changes after `after_rv`."""
        async for kind, kv, prev in self.gw.watch(self.dir(res, ns), after_rv + 1):
            if kind == "DELETE":
                if prev is None:
                    continue
                obj = self._decode(res, prev)
                obj["metadata"]["resourceVersion"] = str(kv.mod_revision)
                yield "DELETED", obj
            else:
                yield (
                    ("ADDED" if kv.create_revision == kv.mod_revision else "MODIFIED"),
                    self._decode(res, kv),
                )
