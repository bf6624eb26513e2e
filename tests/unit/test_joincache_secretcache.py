"""The token-Secret cache: events applied, lookups only while synced, and decisions never cached."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from k0spy.joinapi.auth import Authenticator, FreshReader, SecretDoc
from k0spy.joinapi.secretcache import SecretCache
from k0spy.joinapi.tokens import token_secret
from k0spy.kube.client import KubeApiError, _watch_event
from k0spy.supervisor.backoff import BackoffPolicy

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TOKEN = "abcdef.0123456789abcdef"
HEADER = f"Bearer {TOKEN}"


def secret(token: str = TOKEN, role: str = "controller", rv: int = 1,
           expiry: dt.timedelta | None = dt.timedelta(hours=1)) -> SecretDoc:
    doc = token_secret(token, role, expiry, NOW)
    doc["metadata"]["resourceVersion"] = str(rv)
    return doc


@dataclass
class FakeSource:
    """An in-memory API: LIST returns `items`; each WATCH replays `queue` until a None ends it."""

    items: list[SecretDoc] = field(default_factory=list)
    queue: asyncio.Queue[tuple[str, SecretDoc] | BaseException | None] = field(default_factory=asyncio.Queue)
    lists: int = 0

    async def list_versioned(self, path: str, *, field_selector: str = "",
                             what: str = "") -> tuple[list[SecretDoc], str]:
        assert field_selector == "type=bootstrap.kubernetes.io/token"
        self.lists += 1
        return list(self.items), "7"

    async def watch(self, path: str, resource_version: str, *, field_selector: str = "",
                    timeout_seconds: int = 300, what: str = "") -> AsyncIterator[tuple[str, SecretDoc]]:
        while (item := await self.queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item


def direct(secrets: dict[str, SecretDoc]) -> FreshReader:
    async def fetch(token_id: str) -> SecretDoc | None:
        return secrets.get(token_id)

    return FreshReader(fetch)


def test_replace_and_apply_keep_only_token_secrets() -> None:
    cache = SecretCache(FakeSource())
    other = {"type": "Opaque", "metadata": {"name": "bootstrap-token-zzzzzz"}}
    cache.replace([secret(), other], "5")
    assert cache.synced and list(cache.entries) == ["bootstrap-token-abcdef"]
    known, stored = cache.lookup("abcdef")
    assert known and stored is not None and stored.secret == "0123456789abcdef"
    cache.apply("MODIFIED", secret(role="worker", rv=8))
    assert cache.resource_version == "8" and cache.lookup("abcdef")[1].role == "worker"  # type: ignore[union-attr]
    cache.apply("BOOKMARK", {"metadata": {"resourceVersion": "9"}})
    assert cache.resource_version == "9" and cache.lookup("abcdef")[0]
    cache.apply("DELETED", secret(rv=10))
    assert cache.lookup("abcdef") == (False, None)


def test_malformed_secret_is_known_and_refuses() -> None:
    cache = SecretCache(FakeSource())
    bad = secret()
    bad["data"]["token-secret"] = "!!notbase64"
    cache.replace([bad], "1")
    assert cache.lookup("abcdef") == (True, None)


def test_nothing_is_known_while_unsynced() -> None:
    cache = SecretCache(FakeSource())
    cache.replace([secret()], "1")
    cache.unsync()
    assert cache.lookup("abcdef") == (False, None)


async def test_synced_hits_need_no_read_and_decide_at_request_time() -> None:
    cache = SecretCache(FakeSource())
    cache.replace([secret(expiry=dt.timedelta(minutes=1))], "1")
    reader = direct({})
    clock = [NOW]
    auth = Authenticator(reader, "controller-join", clock=lambda: clock[0], cache=cache)
    assert await auth.allows(HEADER)
    assert not await auth.allows("Bearer abcdef.0123456789abcdeX")
    clock[0] = NOW + dt.timedelta(minutes=2)  # the same cached Secret, now expired: refused
    assert not await auth.allows(HEADER)
    assert reader.reads == 0


async def test_a_deleted_token_falls_to_an_authoritative_read() -> None:
    cache = SecretCache(FakeSource())
    cache.replace([secret()], "1")
    reader = direct({})  # the API agrees: the Secret is gone
    auth = Authenticator(reader, "controller-join", clock=lambda: NOW, cache=cache)
    assert await auth.allows(HEADER) and reader.reads == 0
    cache.apply("DELETED", secret(rv=2))
    assert not await auth.allows(HEADER) and reader.reads == 1


async def test_unsynced_and_unknown_ids_are_read_directly() -> None:
    cache = SecretCache(FakeSource())
    reader = direct({"abcdef": secret()})
    auth = Authenticator(reader, "controller-join", clock=lambda: NOW, cache=cache)
    assert await auth.allows(HEADER) and reader.reads == 1  # before the first LIST
    cache.replace([], "1")
    assert await auth.allows(HEADER) and reader.reads == 2  # created after the LIST, event not yet in
    cache.replace([secret()], "2")
    cache.unsync()
    reader_gone = direct({})
    auth.reader = reader_gone
    assert not await auth.allows(HEADER) and reader_gone.reads == 1  # stale cache is not trusted


async def test_run_lists_watches_and_relists_after_a_break() -> None:
    source = FakeSource(items=[secret()])
    events: list[str] = []
    cache = SecretCache(source, backoff=BackoffPolicy(first=0.0, initial=0.01, cap=0.01),
                        on_event=lambda event, **_f: events.append(event))
    task = asyncio.create_task(cache.run())
    try:
        assert await cache.wait_for(lambda c: c.synced, 5)
        await source.queue.put(("ADDED", secret("ghijkl.0123456789abcdef", rv=8)))
        assert await cache.wait_for(lambda c: c.lookup("ghijkl")[0], 5)
        source.items = []
        await source.queue.put(KubeApiError("watching: too old resource version", status=410))
        assert await cache.wait_for(lambda c: c.lists == 2 and c.synced, 5)
        assert cache.lookup("abcdef") == (False, None) and cache.lookup("ghijkl") == (False, None)
        await source.queue.put(None)  # the server ends the stream: out of sync, then relisted
        assert await cache.wait_for(lambda c: c.lists == 3 and c.synced, 5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert not cache.synced
    assert events.count("tokencache.watch_broken") == 1 and events.count("tokencache.watch_ended") == 1


def test_watch_event_errors_carry_the_status() -> None:
    kind, obj = _watch_event(b'{"type":"ADDED","object":{"metadata":{"name":"x"}}}\n', "w")
    assert kind == "ADDED" and obj["metadata"]["name"] == "x"
    gone: dict[str, Any] = {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired",
                                                        "message": "too old resource version"}}
    with pytest.raises(KubeApiError, match="too old") as info:
        _watch_event(json.dumps(gone).encode(), "w")
    assert info.value.status == 410 and info.value.reason == "Expired"
