"""The joining controller's side: fetch the CA material, ask for etcd membership (k0s JoinClient).

The base URL is the token's kubeconfig server (its path kept as a prefix), the server is verified
against the CA embedded in the token, and the bootstrap token goes in the Authorization header.
Retries follow k0s: the CA with retry-go's defaults (10 attempts, exponential from 100 ms plus jitter,
10 s per try), the etcd membership with 10 attempts from 1 s doubling up to 60 s. A 401 is final:
a wrong or expired token does not get better by waiting. Files are written with k0s's modes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import random
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from k0spy.errors import K0spyError
from k0spy.fsutil import CERT_MODE, CERT_SECURE_MODE, ETCD_CERT_DIR_MODE, atomic_write, ensure_dir
from k0spy.joinapi.token import ROLE_CONTROLLER, JoinToken, load_join_token
from k0spy.log import get_logger
from k0spy.paths import Paths

T = TypeVar("T")


class JoinError(K0spyError):
    """Joining failed; `final` when retrying cannot help (bad token, bad answer)."""

    def __init__(self, message: str, hint: str | None = None, *, final: bool = False) -> None:
        super().__init__(message, hint)
        self.final = final


@dataclass(frozen=True)
class Retry:
    attempts: int
    first_delay: float
    max_delay: float
    per_try: float
    jitter: bool

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (0-based); pure but for the jitter."""
        base = min(self.first_delay * float(2 ** attempt), self.max_delay)
        return base + (random.uniform(0, self.first_delay) if self.jitter else 0.0)


CA_RETRY = Retry(attempts=10, first_delay=0.1, max_delay=60.0, per_try=10.0, jitter=True)
ETCD_RETRY = Retry(attempts=10, first_delay=1.0, max_delay=60.0, per_try=10.0, jitter=False)


@dataclass(frozen=True)
class CaBundle:
    key: bytes
    cert: bytes
    sa_key: bytes | None
    sa_pub: bytes | None


@dataclass(frozen=True)
class EtcdJoinAnswer:
    ca: CaBundle
    initial_cluster: list[str]


def _bytes(doc: dict[str, Any], key: str, required: bool = True) -> bytes | None:
    value = doc.get(key)
    if value is None and not required:
        return None
    try:
        return base64.b64decode(str(value), validate=True) if value else b""
    except (binascii.Error, ValueError) as err:
        raise JoinError(f"join API answer: field {key!r} is not base64", final=True) from err


def parse_ca(doc: Any) -> CaBundle:
    if not isinstance(doc, dict) or not doc.get("key") or not doc.get("cert"):
        raise JoinError("join API answer holds no CA key and certificate", final=True)
    return CaBundle(_bytes(doc, "key") or b"", _bytes(doc, "cert") or b"",
                    _bytes(doc, "saKey", False), _bytes(doc, "saPub", False))


class JoinClient:
    def __init__(self, token: JoinToken, *, retry_ca: Retry = CA_RETRY,
                 retry_etcd: Retry = ETCD_RETRY) -> None:
        self.token = token
        self.base = token.server.rstrip("/")
        self.retry_ca, self.retry_etcd = retry_ca, retry_etcd
        self.log = get_logger(component="join")

    @classmethod
    def from_token_text(cls, text: str, **kwargs: Any) -> JoinClient:
        return cls(load_join_token(text, ROLE_CONTROLLER), **kwargs)

    def _ssl(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cadata=self.token.ca_pem.decode(errors="replace") or None)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    async def _call(self, method: str, path: str, body: Any, per_try: float) -> Any:
        headers = {"Authorization": f"Bearer {self.token.token}", "Accept": "application/json"}
        timeout = aiohttp.ClientTimeout(total=per_try)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session, session.request(
                method, self.base + path, json=body, headers=headers, ssl=self._ssl()
            ) as resp:
                text = await resp.text(errors="replace")
        except (aiohttp.ClientError, TimeoutError) as err:
            raise JoinError(f"{method} {self.base}{path}: {err or type(err).__name__}") from err
        if resp.status == 401:
            raise JoinError(f"the join API at {self.base} refused the token (401)",
                            hint="the token is invalid, expired or not a controller token: create a new one",
                            final=True)
        if resp.status != 200:
            raise JoinError(f"{method} {self.base}{path}: HTTP {resp.status}: {text.strip()[:200]}",
                            final=resp.status in (400, 404, 405))
        try:
            import json

            return json.loads(text)
        except ValueError as err:
            raise JoinError(f"{method} {self.base}{path}: the answer is not JSON", final=True) from err

    async def _retrying(self, what: str, retry: Retry, call: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(retry.attempts):
            try:
                return await call()
            except JoinError as err:
                if err.final or attempt == retry.attempts - 1:
                    raise
                delay = retry.delay(attempt)
                self.log.warning("join.retry", what=what, attempt=attempt + 1, error=err.message,
                                 delay=round(delay, 3))
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def get_ca(self) -> CaBundle:
        async def once() -> CaBundle:
            return parse_ca(await self._call("GET", "/v1beta1/ca", None, self.retry_ca.per_try))

        return await self._retrying("ca", self.retry_ca, once)

    async def join_etcd(self, node: str, peer_address: str) -> EtcdJoinAnswer:
        async def once() -> EtcdJoinAnswer:
            body = {"node": node, "peerAddress": peer_address}
            doc = await self._call("POST", "/v1beta1/etcd/members", body, self.retry_etcd.per_try)
            cluster = doc.get("initialCluster") if isinstance(doc, dict) else None
            if not isinstance(cluster, list) or not all(isinstance(x, str) for x in cluster):
                raise JoinError("join API answer holds no initialCluster list", final=True)
            return EtcdJoinAnswer(parse_ca(doc.get("ca")), list(cluster))

        return await self._retrying("etcd", self.retry_etcd, once)


def write_ca_bundle(paths: Paths, ca: CaBundle) -> None:
    """ca.key 0640, ca.crt 0644, sa.key 0640, sa.pub 0644 in PKI (k0s's modes)."""
    d = paths.cert_dir
    ensure_dir(d, 0o751)
    atomic_write(d / "ca.key", ca.key, CERT_SECURE_MODE)
    atomic_write(d / "ca.crt", ca.cert, CERT_MODE)
    if ca.sa_key is not None:
        atomic_write(d / "sa.key", ca.sa_key, CERT_SECURE_MODE)
    if ca.sa_pub is not None:
        atomic_write(d / "sa.pub", ca.sa_pub, CERT_MODE)


def write_etcd_ca(paths: Paths, ca: CaBundle) -> bool:
    """etcd/ca.key and etcd/ca.crt (0640), only when not already present; True if written."""
    d = paths.etcd_cert_dir
    key, cert = d / "ca.key", d / "ca.crt"
    if key.exists() and cert.exists():
        return False
    ensure_dir(d, ETCD_CERT_DIR_MODE)
    atomic_write(key, ca.key, CERT_SECURE_MODE)
    atomic_write(cert, ca.cert, CERT_SECURE_MODE)
    return True
