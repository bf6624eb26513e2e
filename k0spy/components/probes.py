"""Readiness probes for the control-plane children, built from a `ProbeSpec`; each raises NotReady(reason).

The supervising process should not pay aiohttp's ~250 ms import for a handful of GETs, so the HTTP(S)
probes speak HTTP/1.0 over `asyncio.open_connection` (one request, the server closes, no chunking). The
etcd probe is k0s's `Get("health")` sent to etcd's JSON gateway (`POST /v3/kv/range`, same port and
mTLS), where "permission denied" (auth enabled, cert-only client) also means healthy, as does the
gateway's own form of that answer (it refuses certificate common names once auth is on). kine has no JSON
gateway, so its probe speaks the etcd gRPC API over the unix socket with hand-encoded protobuf (the few
etcdserverpb messages it needs, below) through `k0spy.worker.h2grpc`, the small asyncio HTTP/2 client
the worker uses for containerd: no grpcio (about 50 ms and 20 MiB) in the supervising process.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import ssl
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from k0spy import protowire
from k0spy.components.base import NotReady
from k0spy.components.flags import ProbeSpec

Probe = Callable[[], Awaitable[None]]
HEALTH_KEY = b"health"
KINE_KEY = b"/k0s-health-check"
KINE_VALUE = b"value"
KINE_LEASE_TTL = 64
MAX_BODY = 1 << 20
# What etcd answers a cert-only client once auth is enabled: through gRPC "permission denied" (k0s counts
# it as healthy: the request went through consensus); through the gateway, the CommonName refusal.
AUTH_ENABLED_ANSWERS = (b"permission denied", b"CommonName of client sending a request against gateway")


def client_tls(spec: ProbeSpec) -> ssl.SSLContext:
    """Verify the server against `ca_file` (or not at all for https-insecure), present the client cert."""
    if spec.kind == "https-insecure":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx = ssl.create_default_context(cafile=spec.ca_file)
    if spec.cert_file and spec.key_file:
        ctx.load_cert_chain(spec.cert_file, spec.key_file)
    return ctx


async def http_request(url: str, *, method: str = "GET", body: bytes = b"", tls: ssl.SSLContext | None = None,
                       content_type: str = "application/json") -> tuple[int, bytes]:
    """One HTTP/1.0 exchange: (status, body). Raises OSError / ssl.SSLError / ValueError on failure."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    use_tls = tls if parts.scheme == "https" else None
    reader, writer = await asyncio.open_connection(host, port, ssl=use_tls,
                                                   server_hostname=host if use_tls else None)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        head = f"{method} {target or '/'} HTTP/1.0\r\nHost: {parts.netloc}\r\nAccept: */*\r\n"
        if body:
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        writer.write(head.encode() + b"\r\n" + body)
        await writer.drain()
        raw = await reader.read(MAX_BODY)
        while chunk := await reader.read(MAX_BODY):
            raw += chunk
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    header, _, payload = raw.partition(b"\r\n\r\n")
    status_line = header.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[1].isdigit():
        raise ValueError(f"malformed HTTP response from {url}: {header[:80]!r}")
    return int(status_line[1]), payload


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def http_probe(spec: ProbeSpec) -> Probe:
    """GET `spec.url`; only 200 is ready (kube-apiserver /readyz, konnectivity /healthz, scheduler, KCM)."""
    tls = client_tls(spec) if spec.url.startswith("https:") else None

    async def probe() -> None:
        try:
            status, body = await asyncio.wait_for(http_request(spec.url, tls=tls), spec.timeout)
        except (OSError, ssl.SSLError, ValueError, TimeoutError) as err:
            raise NotReady(f"GET {spec.url}: {_describe(err)}") from err
        if status != 200:
            last = body.decode(errors="replace").strip().splitlines()[-3:]
            raise NotReady(f"GET {spec.url}: HTTP {status}" + (f": {' | '.join(last)}" if last else ""))

    return probe


def etcd_probe(spec: ProbeSpec) -> Probe:
    """Range key `health` through the JSON gateway with the apiserver-etcd-client certificate."""
    tls = client_tls(spec)
    url = spec.url.rstrip("/") + "/v3/kv/range"
    body = json.dumps({"key": base64.b64encode(HEALTH_KEY).decode()}).encode()

    async def probe() -> None:
        try:
            status, payload = await asyncio.wait_for(http_request(url, method="POST", body=body, tls=tls),
                                                     spec.timeout)
        except (OSError, ssl.SSLError, ValueError, TimeoutError) as err:
            raise NotReady(f"etcd at {spec.url}: {_describe(err)}") from err
        if status == 200 or any(marker in payload for marker in AUTH_ENABLED_ANSWERS):
            return
        raise NotReady(f"etcd at {spec.url}: HTTP {status}: {payload[:200].decode(errors='replace')}")

    return probe


def kine_probe(spec: ProbeSpec) -> Probe:
    """k0s's kine check: grant a 64 s lease, put `/k0s-health-check=value` if absent, read it back."""

    async def probe() -> None:
        try:
            await asyncio.wait_for(grpc_put_get(spec.url, KINE_KEY, KINE_VALUE, KINE_LEASE_TTL, spec.timeout),
                                   spec.timeout)
        except EtcdWireError as err:
            raise NotReady(f"kine at {spec.url}: {err}") from err
        except TimeoutError as err:
            raise NotReady(f"kine at {spec.url}: no answer within {spec.timeout:g}s") from err

    return probe


# --- the etcd gRPC API with hand-encoded protobuf -------------------------------------------------------
class EtcdWireError(Exception):
    """An etcd gRPC call failed or answered something unexpected."""


def decode_message(data: bytes) -> dict[int, list[int | bytes]]:
    try:
        return protowire.decode_message(data)
    except ValueError as err:
        raise EtcdWireError(str(err)) from err


def lease_grant_request(ttl: int) -> bytes:
    return protowire.encode_int(1, ttl)  # LeaseGrantRequest.TTL


def create_txn_request(key: bytes, value: bytes, lease: int) -> bytes:
    """Txn(If(ModRevision(key) == 0)).Then(Put(key, value, lease)): the form kine implements."""
    num, byt = protowire.encode_int, protowire.encode_bytes
    compare = num(2, 2) + byt(3, key) + num(6, 0)  # target MOD, key, mod_revision 0
    put = byt(1, key) + byt(2, value) + num(3, lease)
    return byt(1, compare) + byt(2, byt(2, put))


def range_request(key: bytes) -> bytes:
    return protowire.encode_bytes(1, key)


def range_values(response: bytes) -> list[bytes]:
    """The values of RangeResponse.kvs, in order."""
    values = []
    for kv in decode_message(response).get(2, []):
        if isinstance(kv, bytes):
            value = decode_message(kv).get(5, [b""])[0]
            values.append(value if isinstance(value, bytes) else b"")
    return values


async def grpc_put_get(target: str, key: bytes, value: bytes, ttl: int, timeout: float = 5.0) -> None:
    """The kine health check over `target` (`unix:/run/k0s/kine/kine.sock:2379`): three unary calls."""
    from k0spy.worker.h2grpc import GrpcError, unary

    socket = target.removeprefix("unix://").removeprefix("unix:")

    async def call(method: str, request: bytes) -> bytes:
        try:
            return await unary(socket, f"/etcdserverpb.{method}", request, timeout=timeout)
        except GrpcError as err:
            raise EtcdWireError(str(err)) from err

    grant = decode_message(await call("Lease/LeaseGrant", lease_grant_request(ttl)))
    if grant.get(4):
        raise EtcdWireError(f"lease grant: {grant[4][0]!r}")
    lease = grant.get(2, [0])[0]
    await call("KV/Txn", create_txn_request(key, value, int(lease)))
    values = range_values(await call("KV/Range", range_request(key)))
    if not values:
        raise EtcdWireError(f"{key.decode()} was not found after writing it")
    if values[-1] != value:
        raise EtcdWireError(f"{key.decode()} holds {values[-1]!r}, expected {value!r}")


def build_probe(spec: ProbeSpec) -> Probe:
    """The probe callable for a rendered `ProbeSpec`."""
    if spec.kind == "etcd":
        return etcd_probe(spec)
    if spec.kind == "kine":
        return kine_probe(spec)
    if spec.kind in ("https", "https-insecure", "http"):
        return http_probe(spec)
    raise ValueError(f"unknown probe kind {spec.kind!r}")
