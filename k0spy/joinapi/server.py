"""The k0s-api join server: `GET /v1beta1/ca` and `POST /v1beta1/etcd/members` over TLS (k0s cmd/api).

Request path, in order: unknown path -> 404; wrong method -> 405 with `Allow` and an empty body; missing
or invalid token -> 401 `go away`; then, for members, a body over the limit -> 413, invalid JSON or an
empty/invalid field -> 400 (k0s answers 500 for these client mistakes). Only real server trouble (etcd
down, a CA file unreadable) gives 500, with its message and never any key material.

Slow clients: the TLS handshake has its own timeout, and every connection has a deadline of
read + write timeout (Go's per-request bound), after which it is aborted whatever it is doing; idle
keep-alive connections close after a few seconds. TLS 1.2 is the minimum, with k0s's cipher list.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from k0spy.joinapi.auth import Authenticator
from k0spy.joinapi.etcdmembers import EtcdMemberError, add_learner, etcd_ssl, valid_peer_url
from k0spy.joinapi.settings import OPENSSL_TLS12_CIPHERS, JoinApiSettings
from k0spy.log import get_logger

PREFIX = "/v1beta1"
USAGE = "controller-join"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CA_FILES = ("ca.key", "ca.crt", "sa.key", "sa.pub")  # in cert_dir, answered as CA_FIELDS
CA_FIELDS = ("key", "cert", "saKey", "saPub")
CA_RECHECK = 1.0  # seconds between checks of the CA files for a change (see JoinHandlers._ca_body)


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(OPENSSL_TLS12_CIPHERS)
    # No session resumption: a joiner makes one or two connections, so tickets buy nothing, and without
    # them there are no ticket keys whose theft would expose recorded sessions.
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE | ssl.OP_NO_TICKET
    ctx.num_tickets = 0
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


@dataclass
class FileCache:
    """File contents re-read whenever the file's identity (inode, size, mtime) changes."""

    entries: dict[Path, tuple[tuple[int, int, int], bytes]] = field(default_factory=dict)

    def read(self, path: Path) -> bytes:
        st = os.stat(path)
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        cached = self.entries.get(path)
        if cached and cached[0] == stamp:
            return cached[1]
        data = path.read_bytes()
        self.entries[path] = (stamp, data)
        return data


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _json(body: dict[str, Any]) -> web.Response:
    return web.Response(body=json.dumps(body).encode() + b"\n", content_type="application/json")


def _error(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text + "\n", content_type="text/plain")


def member_request(raw: bytes) -> tuple[str, str] | str:
    """(node, peerAddress) of a members request body, or what is wrong with it (a 400, never a 500)."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "invalid JSON in the request body"
    node = doc.get("node") if isinstance(doc, dict) else None
    peer = doc.get("peerAddress") if isinstance(doc, dict) else None
    if not isinstance(node, str) or not node.strip():
        return "node name must not be empty"
    if not isinstance(peer, str) or not valid_peer_url(peer):
        return "peerAddress must be a URL like https://<address>:2380"
    return node, peer


def guarded(method: str, auth: Authenticator, handler: Handler) -> Handler:
    """Method check first, then the token, then the handler (k0s's AllowMethods + authMiddleware)."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        if request.method != method:
            return web.Response(status=405, headers={"Allow": method})
        if not await auth.allows(request.headers.get("Authorization")):
            return _error(401, "go away")
        return await handler(request)

    return wrapped


class JoinHandlers:
    def __init__(self, settings: JoinApiSettings) -> None:
        self.settings = settings
        self.files = FileCache()
        self.log = get_logger(component="k0s-api")
        self._etcd_session: aiohttp.ClientSession | None = None
        self._ca_rendered: tuple[tuple[bytes, ...], bytes] | None = None
        self._ca_paths = tuple(settings.cert_dir / name for name in CA_FILES)
        self._ca_checked = float("-inf")

    async def ca(self, _request: web.Request) -> web.Response:
        try:
            body = self._ca_body()
        except OSError as err:
            self.log.error("ca.read_failed", error=str(err))
            return _error(500, f"reading the CA material: {err.strerror or err}")
        self.log.info("ca.served")
        return web.Response(body=body, content_type="application/json")

    def _ca_body(self) -> bytes:
        """The JSON answer, rendered again only when a file changed (FileCache hands back the same
        bytes object while a file's identity is unchanged). The four files are stat'ed again at most
        every CA_RECHECK seconds: four stats per request cost about 4 % of a join server's CPU,
        and the CA changes only when an operator replaces it (answers then follow within that time)."""
        now = time.monotonic()
        cached = self._ca_rendered
        if cached is not None and now < self._ca_checked + CA_RECHECK:
            return cached[1]
        contents = tuple(self.files.read(path) for path in self._ca_paths)
        if cached is None or any(a is not b for a, b in zip(cached[0], contents, strict=True)):
            body = {field_: _b64(data) for field_, data in zip(CA_FIELDS, contents, strict=True)}
            cached = self._ca_rendered = (contents, json.dumps(body).encode() + b"\n")
        self._ca_checked = now
        return cached[1]

    async def _read_member_request(self, request: web.Request) -> tuple[str, str] | web.Response:
        limit = self.settings.limits.max_body
        if request.content_length is not None and request.content_length > limit:
            return _error(413, f"request body larger than {limit} bytes")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _error(413, f"request body larger than {limit} bytes")
        parsed = member_request(raw)
        return _error(400, parsed) if isinstance(parsed, str) else parsed

    async def members(self, request: web.Request) -> web.Response:
        parsed = await self._read_member_request(request)
        if isinstance(parsed, web.Response):
            return parsed
        node, peer = parsed
        access = self.settings.etcd
        assert access is not None  # mounted only with internal etcd
        self.log.info("etcd.adding_learner", node=node, peer=peer)
        try:
            cluster = await add_learner(self._etcd(), access, node, peer)
            ca_key = self.files.read(access.etcd_cert_dir / "ca.key")
            ca_cert = self.files.read(access.etcd_cert_dir / "ca.crt")
        except EtcdMemberError as err:
            self.log.error("etcd.add_failed", node=node, error=err.message)
            return _error(500, err.message)
        except OSError as err:
            return _error(500, f"reading the etcd CA: {err.strerror or err}")
        ca = {"key": _b64(ca_key), "cert": _b64(ca_cert), "saKey": None, "saPub": None}
        return _json({"ca": ca, "initialCluster": cluster})

    def _etcd(self) -> aiohttp.ClientSession:
        if self._etcd_session is None:
            assert self.settings.etcd is not None
            connector = aiohttp.TCPConnector(ssl=etcd_ssl(self.settings.etcd))
            self._etcd_session = aiohttp.ClientSession(connector=connector,
                                                       timeout=aiohttp.ClientTimeout(total=10))
        return self._etcd_session

    async def close(self) -> None:
        if self._etcd_session is not None:
            await self._etcd_session.close()


def build_app(settings: JoinApiSettings, auth: Authenticator) -> web.Application:
    """The routes k0s mounts for this storage; everything else is 404."""
    app = web.Application(client_max_size=settings.limits.max_body)
    handlers = JoinHandlers(settings)
    if settings.etcd is not None:
        app.router.add_route("*", f"{PREFIX}/etcd/members", guarded("POST", auth, handlers.members))
    if settings.joinable:
        app.router.add_route("*", f"{PREFIX}/ca", guarded("GET", auth, handlers.ca))

    async def close(_app: web.Application) -> None:
        await handlers.close()

    app.on_cleanup.append(close)
    return app


class _DeadlineProtocol(asyncio.Protocol):
    """aiohttp's RequestHandler, aborted at its deadline. Only the connection's start and end pass
    through here: the per-chunk callbacks are the inner handler's own bound methods (instance
    attributes shadow the class's forwarding methods), so the wrapper costs no call per read."""

    def __init__(self, inner: asyncio.Protocol, deadline: float) -> None:
        self._inner, self._deadline = inner, deadline
        self._timer: asyncio.TimerHandle | None = None
        self.data_received = inner.data_received  # type: ignore[method-assign]
        self.eof_received = inner.eof_received  # type: ignore[method-assign]
        self.pause_writing = inner.pause_writing  # type: ignore[method-assign]
        self.resume_writing = inner.resume_writing  # type: ignore[method-assign]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._timer = asyncio.get_running_loop().call_later(self._deadline, transport.abort)  # type: ignore[attr-defined]
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


@dataclass
class RunningServer:
    runner: web.AppRunner
    server: asyncio.Server
    grace: float

    @property
    def ports(self) -> list[int]:
        return sorted({sock.getsockname()[1] for sock in self.server.sockets})

    async def stop(self) -> None:
        self.server.close()
        await self.runner.shutdown()
        await self.runner.cleanup()


async def start_server(settings: JoinApiSettings, auth: Authenticator) -> RunningServer:
    """Listen with TLS on settings.host:port (all interfaces when host is None)."""
    limits = settings.limits
    # no TCP keep-alive probes (one setsockopt per connection saved): every connection has a deadline
    runner = web.AppRunner(build_app(settings, auth), handle_signals=False, access_log=None,
                           keepalive_timeout=limits.keepalive_timeout, shutdown_timeout=limits.shutdown_grace,
                           tcp_keepalive=False)
    await runner.setup()
    factory = runner.server
    assert factory is not None
    loop = asyncio.get_running_loop()
    try:
        server = await loop.create_server(
            lambda: _DeadlineProtocol(factory(), limits.connection_deadline), settings.host, settings.port,
            ssl=tls_context(settings.tls_cert, settings.tls_key),
            ssl_handshake_timeout=limits.handshake_timeout,
            reuse_address=True, backlog=1024,
        )
    except BaseException:
        await runner.cleanup()
        raise
    return RunningServer(runner, server, limits.shutdown_grace)
