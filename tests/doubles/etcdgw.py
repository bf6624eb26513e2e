"""A small etcd v3 client over etcd's JSON gateway (/v3/kv/*, /v3/watch), over mTLS or a unix socket.

The apiserver double keeps its objects in the real etcd through this; etcd 3.4 serves the gateway on the
client port with the same TLS as gRPC.  Keys and values are base64 in the gateway's JSON; int64 fields come
back as strings and zero/false fields are omitted (jsonpb), hence the `.get(..., default)` everywhere.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp


class EtcdError(Exception):
    """etcd could not be reached or refused the request."""


@dataclass(frozen=True)
class KV:
    key: str
    value: bytes
    mod_revision: int
    create_revision: int


def _b64(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return base64.b64encode(data).decode()


def prefix_end(prefix: str) -> str:
    """The range_end that selects every key starting with `prefix` (prefix must end in '/')."""
    raw = prefix.encode()
    return (raw[:-1] + bytes([raw[-1] + 1])).decode()


def _kv(raw: dict[str, Any]) -> KV:
    return KV(
        key=base64.b64decode(raw["key"]).decode(),
        value=base64.b64decode(raw.get("value", "")),
        mod_revision=int(raw.get("mod_revision", 0)),
        create_revision=int(raw.get("create_revision", 0)),
    )


def parse_endpoint(url: str) -> tuple[str, str | None]:
    """(base URL, unix socket path or None) for one --etcd-servers entry."""
    if url.startswith("unix://"):
        return "http://localhost", url[len("unix://") :]
    if url.startswith("unix:"):
        return "http://localhost", url[len("unix:") :]
    if url.startswith(("http://", "https://")):
        return url.rstrip("/"), None
    raise ValueError(f"unsupported etcd server URL {url!r} (want https://, http:// or unix:)")


class EtcdGateway:
    """Talks to the first endpoint that answers; one aiohttp session per endpoint."""

    def __init__(self, endpoints: list[str], ssl_ctx: ssl.SSLContext | None, timeout: float = 5.0) -> None:
        self._targets = [parse_endpoint(url) for url in endpoints]
        self._ssl = ssl_ctx
        self._timeout = timeout
        self._sessions: dict[int, aiohttp.ClientSession] = {}

    def _session(self, index: int) -> aiohttp.ClientSession:
        if index not in self._sessions:
            _, sock = self._targets[index]
            connector: aiohttp.BaseConnector
            if sock is not None:
                connector = aiohttp.UnixConnector(path=sock)
            else:
                connector = aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else False)
            self._sessions[index] = aiohttp.ClientSession(connector=connector)
        return self._sessions[index]

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()

    async def call(self, path: str, body: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        last: Exception | None = None
        for index, (base, _) in enumerate(self._targets):
            try:
                client_timeout = aiohttp.ClientTimeout(total=timeout or self._timeout)
                async with self._session(index).post(base + path, json=body, timeout=client_timeout) as resp:
                    payload = await resp.json(content_type=None)
                    if resp.status != 200:
                        raise EtcdError(payload.get("error", f"HTTP {resp.status}"))
                    return dict(payload)
            except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as err:
                last = err
        raise EtcdError(f"etcd unreachable: {last!r}")

    async def get(self, key: str) -> KV | None:
        reply = await self.call("/v3/kv/range", {"key": _b64(key)})
        kvs = reply.get("kvs", [])
        return _kv(kvs[0]) if kvs else None

    async def list(self, prefix: str, revision: int = 0) -> tuple[list[KV], int]:
        body: dict[str, Any] = {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix))}
        if revision:
            body["revision"] = str(revision)
        reply = await self.call("/v3/kv/range", body)
        return [_kv(raw) for raw in reply.get("kvs", [])], int(reply["header"]["revision"])

    async def health(self, timeout: float = 2.0) -> None:
        await self.call("/v3/kv/range", {"key": _b64("health")}, timeout=timeout)

    async def create(self, key: str, value: bytes) -> int | None:
        """Put only if absent; the new mod_revision, or None when the key exists."""
        return await self._txn(key, value, "CREATE", "create_revision", 0)

    async def update(self, key: str, value: bytes, mod_revision: int) -> int | None:
        """Put only if unchanged since `mod_revision`; the new revision, or None on conflict."""
        return await self._txn(key, value, "MOD", "mod_revision", mod_revision)

    async def _txn(self, key: str, value: bytes, target: str, field: str, expect: int) -> int | None:
        body = {
            "compare": [{"target": target, "key": _b64(key), "result": "EQUAL", field: str(expect)}],
            "success": [{"request_put": {"key": _b64(key), "value": _b64(value)}}],
        }
        reply = await self.call("/v3/kv/txn", body)
        if not reply.get("succeeded", False):
            return None
        return int(reply["header"]["revision"])

    async def delete(self, key: str, mod_revision: int | None = None) -> int | None:
        """Delete (only if unchanged when mod_revision is given); the revision, or None if nothing went."""
        compare = (
            []
            if mod_revision is None
            else [{"target": "MOD", "key": _b64(key), "result": "EQUAL", "mod_revision": str(mod_revision)}]
        )
        body = {"compare": compare, "success": [{"request_delete_range": {"key": _b64(key)}}]}
        reply = await self.call("/v3/kv/txn", body)
        if not reply.get("succeeded", False):
            return None
        deleted = reply.get("responses", [{}])[0].get("response_delete_range", {}).get("deleted", "0")
        return int(reply["header"]["revision"]) if int(deleted) else None

    async def delete_prefix(self, prefix: str) -> None:
        await self.call("/v3/kv/deleterange", {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix))})

    async def watch(self, prefix: str, start_revision: int) -> AsyncIterator[tuple[str, KV, KV | None]]:
        """Yield (PUT|DELETE, kv, prev_kv) from `start_revision` on, until the stream ends."""
        body = {
            "create_request": {
                "key": _b64(prefix),
                "range_end": _b64(prefix_end(prefix)),
                "start_revision": str(start_revision),
                "prev_kv": True,
            }
        }
        base, _ = self._targets[0]
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._timeout)
        async with self._session(0).post(base + "/v3/watch", json=body, timeout=timeout) as resp:
            async for line in resp.content:
                if not line.strip():
                    continue
                result = json.loads(line).get("result", {})
                for event in result.get("events", []):
                    prev = event.get("prev_kv")
                    yield event.get("type", "PUT"), _kv(event["kv"]), _kv(prev) if prev else None
