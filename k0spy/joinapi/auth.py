"""Who may join: bearer bootstrap tokens checked against their Secret (k0s cmd/api isValidToken).

Order of checks: the header must be `Bearer <id>.<secret>` in the bootstrap-token format before any
lookup happens (a malformed token never costs an API call); then the Secret is read; it must parse, be
unexpired, hold the same secret (compared in constant time) and carry the usage, new or legacy key.

Where the Secret comes from. With a SecretCache (secretcache.py, a LIST+WATCH informer as
kube-apiserver's own bootstrap authenticator uses), a request is decided on the Secret the cache holds
*now*; no decision is ever cached, and expiry is checked against the request's time. While the cache is
not synced (before its first LIST, or from a broken watch until the relist completes), and for ids it
does not hold, the Secret is read directly, so a stale cache never accepts a revoked token; the only
window after a revocation is the delivery of the DELETED event on a live watch (milliseconds).

Direct reads and why their sharing is safe: every request is decided on a read of its Secret that
*started after the request arrived*. What is shared is the read itself: while a read for a token id is
in flight (or spaced, see FreshReader.spacing), requests for the same id queue for the next read, which
serves all of them. A deleted token is therefore refused by every request that arrives after the DELETE
returned, while a flood of joiners (or of unknown ids) costs the API server a bounded number of reads
instead of one per request. Unknown ids leave no state behind once idle.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from k0spy.joinapi.secretcache import SecretCache
from k0spy.joinapi.token import BOOTSTRAP_TOKEN_RE
from k0spy.joinapi.tokens import BootstrapToken, SecretFormatError, parse_token_secret

SecretDoc = dict[str, Any]
Fetch = Callable[[str], Awaitable[SecretDoc | None]]
BEARER = "Bearer "


def bearer_token(header: str | None) -> tuple[str, str] | None:
    """(id, secret) of a well-formed `Bearer <id>.<secret>` header, else None (no lookup then)."""
    if not header or not header.startswith(BEARER):
        return None
    match = BOOTSTRAP_TOKEN_RE.match(header[len(BEARER):])
    return (match[1], match[2]) if match else None


def token_allows(secret: SecretDoc | None, token_id: str, token_secret: str, usage: str,
                 now: dt.datetime) -> bool:
    """The decision for one presented token and the Secret read for it (None: no such Secret)."""
    if secret is None:
        return False
    try:
        stored = parse_token_secret(secret)
    except SecretFormatError:
        return False
    return stored_allows(stored, token_id, token_secret, usage, now)


def stored_allows(stored: BootstrapToken | None, token_id: str, token_secret: str, usage: str,
                  now: dt.datetime) -> bool:
    """The decision on an already parsed Secret (None: missing or malformed), at the request's time."""
    if stored is None or stored.token_id != token_id or stored.expired(now):
        return False
    if not hmac.compare_digest(stored.secret.encode(), token_secret.encode()):
        return False
    return stored.has_usage(usage)


@dataclass
class _Slot:
    running: asyncio.Future[SecretDoc | None] | None = None
    queued: asyncio.Future[SecretDoc | None] | None = None  # the next read: not started yet, so joinable
    timer: asyncio.TimerHandle | None = None
    last_start: float = float("-inf")


@dataclass
class FreshReader:
    """Reads a Secret per token id; a request only ever shares a read that had not begun when it arrived.

    `spacing` (seconds) is the least time between the starts of two reads of the same id: under a flood
    of joiners the API server sees at most 1/spacing reads per second per id, and each request waits at
    most `spacing` longer. A lone request after a quiet period is read at once.
    """

    fetch: Fetch
    spacing: float = 0.0
    reads: int = 0
    _slots: dict[str, _Slot] = field(default_factory=dict)

    async def read(self, token_id: str) -> SecretDoc | None:
        slot = self._slots.setdefault(token_id, _Slot())
        future = slot.queued
        if future is None:
            future = slot.queued = asyncio.get_running_loop().create_future()
            if slot.running is None and slot.timer is None:
                self._schedule(token_id, slot)
        return await asyncio.shield(future)

    def _schedule(self, token_id: str, slot: _Slot) -> None:
        loop = asyncio.get_running_loop()
        delay = slot.last_start + self.spacing - loop.time()
        if delay <= 0:
            self._start(token_id, slot)
        else:
            slot.timer = loop.call_later(delay, self._start, token_id, slot)

    def _start(self, token_id: str, slot: _Slot) -> None:
        into, slot.queued, slot.timer = slot.queued, None, None
        assert into is not None
        slot.last_start = asyncio.get_running_loop().time()
        self.reads += 1
        task = asyncio.ensure_future(self.fetch(token_id))
        slot.running = task
        task.add_done_callback(lambda done: self._finished(token_id, slot, done, into))

    def _finished(self, token_id: str, slot: _Slot, done: asyncio.Future[SecretDoc | None],
                  into: asyncio.Future[SecretDoc | None]) -> None:
        error = None if done.cancelled() else done.exception()  # always retrieved
        if not into.done():
            if done.cancelled():
                into.cancel()
            elif error is not None:
                into.set_exception(error)
            else:
                into.set_result(done.result())
        slot.running = None
        if slot.queued is not None:
            self._schedule(token_id, slot)
        elif self.spacing <= 0:
            self._forget(token_id, slot)
        else:
            asyncio.get_running_loop().call_later(self.spacing, self._forget, token_id, slot)

    def _forget(self, token_id: str, slot: _Slot) -> None:
        idle = slot.running is None and slot.queued is None and slot.timer is None
        if idle and self._slots.get(token_id) is slot:
            del self._slots[token_id]


@dataclass
class Authenticator:
    """Checks an Authorization header for one usage (k0s: `controller-join`)."""

    reader: FreshReader
    usage: str
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    on_error: Callable[[str, BaseException], None] = lambda _id, _err: None
    cache: SecretCache | None = None

    async def allows(self, header: str | None) -> bool:
        parsed = bearer_token(header)
        if parsed is None:
            return False
        token_id, token_secret = parsed
        if self.cache is not None:
            known, stored = self.cache.lookup(token_id)
            if known:
                return stored_allows(stored, token_id, token_secret, self.usage, self.clock())
        try:
            secret = await self.reader.read(token_id)
        except Exception as err:  # the API is down or broken: refuse, never 500 with details
            self.on_error(token_id, err)
            return False
        return token_allows(secret, token_id, token_secret, self.usage, self.clock())
