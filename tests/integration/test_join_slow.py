"""Slow clients against the join server (in-process, with the timeouts shrunk so the test stays short):
one byte per interval of a request, a TCP client that never starts TLS, and a stalled body."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from k0spy.joinapi.auth import Authenticator, FreshReader, SecretDoc
from k0spy.joinapi.server import RunningServer, start_server
from k0spy.joinapi.settings import EtcdAccess, JoinApiSettings, Limits
from k0spy.joinapi.tokens import token_secret
from k0spy.paths import Paths
from k0spy.pki.ensure import ensure_pki
from k0spy.pki.settings import PKISettings

TOKEN = "abcdef.0123456789abcdef"
LIMITS = Limits(read_timeout=0.6, write_timeout=0.6, handshake_timeout=0.8, keepalive_timeout=0.5)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[RunningServer, Paths]]:
    paths = Paths.build(tmp_path / "data", run_dir=tmp_path / "run", etc_dir=tmp_path / "etc")
    await asyncio.to_thread(ensure_pki, paths, PKISettings())

    async def fetch(token_id: str) -> SecretDoc | None:
        return (
            token_secret(TOKEN, "controller", None, dt.datetime.now(dt.UTC)) if token_id == "abcdef" else None
        )

    etcd = EtcdAccess(
        "https://127.0.0.1:9",
        paths.etcd_cert_dir / "ca.crt",
        paths.cert_dir / "x.crt",
        paths.cert_dir / "x.key",
        paths.etcd_cert_dir,
    )

    settings = JoinApiSettings(
        host="127.0.0.1",
        port=0,
        cert_dir=paths.cert_dir,
        tls_cert=paths.cert_dir / "k0s-api.crt",
        tls_key=paths.cert_dir / "k0s-api.key",
        admin_kubeconfig=paths.admin_kubeconfig,
        joinable=True,
        etcd=etcd,
        limits=LIMITS,
    )
    running = await start_server(settings, Authenticator(FreshReader(fetch), "controller-join"))
    try:
        yield running, paths
    finally:
        await running.stop()


async def _read_all(reader: asyncio.StreamReader, limit: float) -> bytes:
    chunks = []
    try:
        while data := await asyncio.wait_for(reader.read(65536), limit):
            chunks.append(data)
    except (ConnectionResetError, ssl.SSLError):
        pass
    return b"".join(chunks)


async def test_one_byte_per_interval_is_cut_off(server: tuple[RunningServer, Paths]) -> None:
    running, paths = server
    ctx = ssl.create_default_context(cafile=str(paths.cert_dir / "ca.crt"))
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", running.ports[0], ssl=ctx, server_hostname="127.0.0.1"
    )
    request = f"GET /v1beta1/ca HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
    started = time.monotonic()
    cut = False
    for byte in request:
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            cut = True
            break
        if reader.at_eof():
            cut = True
            break
        await asyncio.sleep(0.1)
        if time.monotonic() - started > 20 * LIMITS.connection_deadline:
            break
    answer = await _read_all(reader, 5)
    writer.close()
    assert cut or reader.at_eof()
    assert b"HTTP/1.1 500" not in answer and b"PRIVATE KEY" not in answer
    assert b"HTTP/1.1 200" not in answer


async def test_a_client_that_never_handshakes_is_dropped(server: tuple[RunningServer, Paths]) -> None:
    running, _paths = server
    reader, writer = await asyncio.open_connection("127.0.0.1", running.ports[0])
    data = await asyncio.wait_for(
        reader.read(), 20 * LIMITS.handshake_timeout
    )  # EOF once the server gives up
    writer.close()
    assert data == b""


async def test_a_stalled_body_is_cut_off(server: tuple[RunningServer, Paths]) -> None:
    running, paths = server
    ctx = ssl.create_default_context(cafile=str(paths.cert_dir / "ca.crt"))
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", running.ports[0], ssl=ctx, server_hostname="127.0.0.1"
    )
    writer.write(
        f"POST /v1beta1/etcd/members HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Content-Length: 1000\r\n\r\n{".encode()
    )
    await writer.drain()
    answer = await _read_all(reader, 20 * LIMITS.connection_deadline)
    writer.close()
    assert answer == b"" and reader.at_eof()  # aborted while waiting for the body: no answer at all
