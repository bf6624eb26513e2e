"""A minimal asyncio Kubernetes client over aiohttp: credentials from a kubeconfig, JSON verbs on paths.

Why not lightkube or kubernetes_asyncio: k0spy needs get/create/list/delete of Secrets. Measured here
(Python 3.11, min of 5): `import aiohttp.web` 171 ms / 35.8 MiB; adding lightkube (httpx, lightkube-models)
+205 ms / +6.8 MiB; adding kubernetes_asyncio (its generated model tree) +267 ms / +38 MiB. This module
adds nothing beyond aiohttp, which the join server loads anyway. The wire protocol needed is
plain JSON over HTTPS with a client certificate or a bearer token, which fits in this module.

Client certificates from `*-data` fields are handed to OpenSSL through a memfd, so key material embedded
in admin.conf is never written to disk by k0spy.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiohttp

from k0spy.errors import K0spyError

DEFAULT_TIMEOUT = 10.0
STREAM_GRACE = 15.0  # how much longer than its timeoutSeconds a watch may stay silent
Items = list[dict[str, Any]]  # (KubeClient.list shadows the builtin inside the class)


class KubeApiError(K0spyError):
    """The API server answered with an error status (or could not be reached)."""

    def __init__(self, message: str, status: int = 0, reason: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Credentials:
    """Where the API is, what CA to trust and how to authenticate (client cert or bearer token)."""

    server: str
    ca_pem: bytes | None = None
    cert_pem: bytes | None = None
    key_pem: bytes | None = None
    token: str | None = None


def _data_or_file(entry: dict[str, Any], key: str, base: Path) -> bytes | None:
    if entry.get(f"{key}-data"):
        return base64.b64decode(str(entry[f"{key}-data"]))
    if entry.get(key):
        file = Path(str(entry[key]))
        return (file if file.is_absolute() else base / file).read_bytes()
    return None


def _current(doc: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    for item in doc.get(f"{kind}s") or []:
        if isinstance(item, dict) and item.get("name") == name and isinstance(item.get(kind), dict):
            return dict(item[kind])
    return {}


def credentials_from_kubeconfig(path: Path) -> Credentials:
    """Credentials of a kubeconfig's current context (admin.conf, kubelet.conf, a user kubeconfig)."""
    import yaml

    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as err:
        raise K0spyError(f"reading kubeconfig {path}: {err.strerror or err}",
                         hint="is the controller running and initialised on this node?") from err
    if not isinstance(doc, dict):
        raise K0spyError(f"kubeconfig {path} is not a YAML mapping")
    context = _current(doc, "context", str(doc.get("current-context", "")))
    if not context and doc.get("contexts"):
        context = dict(doc["contexts"][0].get("context") or {})
    cluster = _current(doc, "cluster", str(context.get("cluster", "")))
    user = _current(doc, "user", str(context.get("user", "")))
    if not cluster.get("server"):
        raise K0spyError(f"kubeconfig {path}: the current context has no cluster server")
    base = path.parent
    return Credentials(
        server=str(cluster["server"]).rstrip("/"),
        ca_pem=_data_or_file(cluster, "certificate-authority", base),
        cert_pem=_data_or_file(user, "client-certificate", base),
        key_pem=_data_or_file(user, "client-key", base),
        token=str(user["token"]) if user.get("token") else None,
    )


def _load_chain_from_memory(ctx: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    fds = []
    try:
        for data in (cert_pem, key_pem):
            fd = os.memfd_create("k0spy-kube-cred", os.MFD_CLOEXEC)
            fds.append(fd)
            os.write(fd, data)
        ctx.load_cert_chain(f"/proc/self/fd/{fds[0]}", f"/proc/self/fd/{fds[1]}")
    finally:
        for fd in fds:
            os.close(fd)


def ssl_context(creds: Credentials) -> ssl.SSLContext:
    """Verify the server against the kubeconfig's CA (or the system store) and present the client cert."""
    ctx = ssl.create_default_context(cadata=creds.ca_pem.decode() if creds.ca_pem else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if creds.cert_pem and creds.key_pem:
        _load_chain_from_memory(ctx, creds.cert_pem, creds.key_pem)
    return ctx


def _error_from(status: int, body: Any, what: str) -> KubeApiError:
    message = body.get("message") if isinstance(body, dict) else None
    reason = body.get("reason", "") if isinstance(body, dict) else ""
    return KubeApiError(f"{what}: {message or f'HTTP {status}'}", status=status, reason=str(reason))


def _watch_event(line: bytes, what: str) -> tuple[str, dict[str, Any]]:
    event = json.loads(line)
    kind = event.get("type") if isinstance(event, dict) else None
    obj = event.get("object") if isinstance(event, dict) else None
    if not isinstance(kind, str) or not isinstance(obj, dict):
        raise KubeApiError(f"{what}: malformed watch event")
    if kind == "ERROR":
        code = obj.get("code")
        raise KubeApiError(f"{what}: {obj.get('message') or 'watch error'}",
                           status=code if isinstance(code, int) else 0, reason=str(obj.get("reason", "")))
    return kind, obj


class KubeClient:
    """One keep-alive session to one API server; use as `async with KubeClient(creds) as kube`."""

    def __init__(self, creds: Credentials, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.creds = creds
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> KubeClient:
        headers = {"Accept": "application/json", "User-Agent": "k0spy"}
        if self.creds.token and not self.creds.cert_pem:
            headers["Authorization"] = f"Bearer {self.creds.token}"
        connector = aiohttp.TCPConnector(ssl=ssl_context(self.creds))
        self._session = aiohttp.ClientSession(connector=connector, headers=headers, timeout=self._timeout)
        return self

    async def __aexit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, path: str, *, body: Any = None,
                      params: dict[str, str] | None = None, what: str = "") -> tuple[int, Any]:
        """(status, decoded JSON) of one call; connection failures become KubeApiError(status=0)."""
        if self._session is None:
            raise RuntimeError("KubeClient used outside `async with`")
        what = what or f"{method} {path}"
        try:
            url = self.creds.server + path
            async with self._session.request(method, url, json=body, params=params) as resp:
                data = await resp.json(content_type=None) if resp.content_length != 0 else None
                return resp.status, data
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise KubeApiError(f"{what}: cannot reach the API server {self.creds.server}: "
                               f"{err or type(err).__name__}") from err

    async def get(self, path: str, *, what: str = "") -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        status, data = await self.request("GET", path, what=what)
        if status == 404:
            return None
        if status != 200 or not isinstance(data, dict):
            raise _error_from(status, data, what or f"getting {path}")
        return data

    async def create(self, path: str, obj: dict[str, Any], *, what: str = "") -> dict[str, Any]:
        status, data = await self.request("POST", path, body=obj, what=what)
        if status not in (200, 201) or not isinstance(data, dict):
            raise _error_from(status, data, what or f"creating in {path}")
        return data

    async def list(self, path: str, *, field_selector: str = "", what: str = "") -> list[dict[str, Any]]:
        return (await self.list_versioned(path, field_selector=field_selector, what=what))[0]

    async def list_versioned(self, path: str, *, field_selector: str = "",
                             what: str = "") -> tuple[Items, str]:
        """The items and the list's resourceVersion (where a watch continues from)."""
        params = {"fieldSelector": field_selector} if field_selector else None
        status, data = await self.request("GET", path, params=params, what=what)
        if status != 200 or not isinstance(data, dict):
            raise _error_from(status, data, what or f"listing {path}")
        version = str((data.get("metadata") or {}).get("resourceVersion") or "")
        return [item for item in data.get("items") or [] if isinstance(item, dict)], version

    async def watch(self, path: str, resource_version: str, *, field_selector: str = "",
                    timeout_seconds: int = 300, what: str = "") -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """(type, object) for each event after `resource_version` until the server ends the stream.

        BOOKMARK events are passed on (their object carries only a resourceVersion). An ERROR event (a
        Status, 410 Gone when the version is too old) and any transport failure raise KubeApiError, so the
        caller relists; a clean end of the stream (timeoutSeconds) just ends the iteration. A stream
        silent for `timeout_seconds` + STREAM_GRACE (a dead connection that never saw a reset) fails too.
        """
        if self._session is None:
            raise RuntimeError("KubeClient used outside `async with`")
        what = what or f"watching {path}"
        params = {"watch": "1", "resourceVersion": resource_version, "allowWatchBookmarks": "true",
                  "timeoutSeconds": str(timeout_seconds)}
        if field_selector:
            params["fieldSelector"] = field_selector
        stream_timeout = aiohttp.ClientTimeout(total=None, connect=self._timeout.total,
                                               sock_read=timeout_seconds + STREAM_GRACE)
        try:
            async with self._session.get(self.creds.server + path, params=params,
                                         timeout=stream_timeout) as resp:
                if resp.status != 200:
                    body = await resp.json(content_type=None) if resp.content_length != 0 else None
                    raise _error_from(resp.status, body, what)
                try:
                    async for line in resp.content:
                        if line.strip():
                            yield _watch_event(line, what)
                except BaseException:
                    # Cancelled, abandoned by the consumer, or an ERROR event: the stream is dropped, so
                    # abort its connection rather than start a TLS close that a stopping loop would leave
                    # half done (an unclosed socket at exit).
                    if resp.connection is not None and resp.connection.transport is not None:
                        resp.connection.transport.abort()
                    raise
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise KubeApiError(f"{what}: the watch on {self.creds.server} broke: "
                               f"{err or type(err).__name__}") from err

    async def delete(self, path: str, *, what: str = "") -> bool:
        """True if deleted, False if it was not there."""
        status, data = await self.request("DELETE", path, what=what)
        if status == 404:
            return False
        if status not in (200, 202):
            raise _error_from(status, data, what or f"deleting {path}")
        return True


def secrets_path(namespace: str, name: str = "") -> str:
    base = f"/api/v1/namespaces/{quote(namespace, safe='')}/secrets"
    return f"{base}/{quote(name, safe='')}" if name else base
