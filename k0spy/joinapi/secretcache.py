"""A watch-backed cache of the bootstrap-token Secrets, as kube-apiserver's token authenticator keeps.

Why: deciding each join request on its own Secret read bounds the join server by the read latency of
kube-apiserver (and etcd behind it). An informer keeps every `bootstrap.kubernetes.io/token` Secret of
kube-system in memory instead: LIST once, then WATCH from the list's resourceVersion and apply
ADDED/MODIFIED/DELETED as they arrive.

What is cached is the Secret (parsed once per version), never a decision: every request is still decided
on the current entry, at the current time (auth.Authenticator). The cache answers only while it is
*synced*: from a completed LIST until its WATCH ends for any reason (error, 410 Gone, the server closing
the stream, the API server going away). Out of sync, and for ids it does not hold (a token created a
moment ago), `lookup` says "unknown" and the caller reads the Secret directly, so a stale cache can never
accept a revoked token: the only window is the delivery latency of a DELETED event on a live watch.

    start -> LIST -> synced -> WATCH ... stream ends -> unsynced -> (backoff) -> LIST -> ...
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from k0spy.joinapi.tokens import NAMESPACE, SECRET_TYPE, BootstrapToken, SecretFormatError, parse_token_secret
from k0spy.kube.client import secrets_path
from k0spy.kube.informer import RELIST_BACKOFF, WATCH_SECONDS, ListWatchSource, list_and_watch
from k0spy.supervisor.backoff import BackoffPolicy

SecretDoc = dict[str, Any]
FIELD_SELECTOR = f"type={SECRET_TYPE}"


def parsed_entry(secret: SecretDoc) -> BootstrapToken | None:
    """The token a Secret holds, None when it is not a well-formed bootstrap token (then it refuses)."""
    if secret.get("type") != SECRET_TYPE:
        return None
    try:
        return parse_token_secret(secret)
    except SecretFormatError:
        return None


@dataclass
class SecretCache:
    """name -> parsed token for every bootstrap-token Secret, kept current by a watch; see the module doc."""

    source: ListWatchSource
    backoff: BackoffPolicy = RELIST_BACKOFF
    watch_seconds: int = WATCH_SECONDS
    on_event: Callable[..., None] = lambda _event, **_fields: None
    entries: dict[str, BootstrapToken | None] = field(default_factory=dict)
    synced: bool = False
    resource_version: str = ""
    lists: int = 0
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def lookup(self, token_id: str) -> tuple[bool, BootstrapToken | None]:
        """(known, token): known only while synced and the Secret is held; token None = malformed."""
        name = "bootstrap-token-" + token_id
        if not self.synced or name not in self.entries:
            return False, None
        return True, self.entries[name]

    def replace(self, items: list[SecretDoc], version: str) -> None:
        """Install a fresh LIST: from now on the cache answers."""
        self.entries = {str(item["metadata"]["name"]): parsed_entry(item) for item in items
                        if item.get("type") == SECRET_TYPE and (item.get("metadata") or {}).get("name")}
        self.resource_version, self.synced = version, True

    def apply(self, kind: str, obj: SecretDoc) -> None:
        """One watch event; a BOOKMARK only moves the resourceVersion."""
        meta = obj.get("metadata") or {}
        self.resource_version = str(meta.get("resourceVersion") or self.resource_version)
        name = meta.get("name")
        if kind == "BOOKMARK" or not name:
            return
        if kind == "DELETED" or obj.get("type") != SECRET_TYPE:
            self.entries.pop(str(name), None)
        else:
            self.entries[str(name)] = parsed_entry(obj)
        self.on_event("tokencache.changed", change=kind, secret=str(name))

    def unsync(self) -> None:
        self.synced = False

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[SecretCache], bool], timeout: float) -> bool:
        """Wait until `predicate(self)` holds after some change (tests, start-up); False on timeout."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self)), timeout)
            return predicate(self)

    async def _listed(self, items: list[SecretDoc], version: str) -> None:
        self.lists += 1
        self.replace(items, version)
        self.on_event("tokencache.synced", tokens=len(self.entries), resource_version=version)
        await self._notify()

    async def _changed_by(self, kind: str, obj: SecretDoc) -> None:
        self.apply(kind, obj)
        await self._notify()

    async def _ended(self, error: Exception | None) -> None:
        self.unsync()
        if error is None:
            self.on_event("tokencache.watch_ended")
        else:
            self.on_event("tokencache.watch_broken", error=str(error))
        await self._notify()

    async def run(self) -> None:
        """List, watch, and on any end relist with backoff, until cancelled (then out of sync)."""
        try:
            await list_and_watch(
                self.source, secrets_path(NAMESPACE), field_selector=FIELD_SELECTOR,
                what="bootstrap token secrets", on_list=self._listed, on_event=self._changed_by,
                on_end=self._ended, backoff=self.backoff, watch_seconds=self.watch_seconds)
        finally:
            self.unsync()
