"""The watch-backed token cache against the kube-apiserver double and real etcd: revocation is seen within
the watch delivery latency, and a broken watch sends every request back to direct Secret reads.
"""

from __future__ import annotations

import asyncio
import dataclasses
import http.client
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from k0spy.joinapi.auth import Authenticator
from k0spy.joinapi.run import authenticator, running_cache
from k0spy.joinapi.secretcache import FIELD_SELECTOR, SecretCache
from k0spy.joinapi.tokens import NAMESPACE
from k0spy.kube.client import KubeClient, credentials_from_kubeconfig, secrets_path
from k0spy.supervisor.backoff import BackoffPolicy
from tests.support.doubles import apiserver_args, doubles_bin, wait_http_ok  # noqa: F401  (fixture)
from tests.support.doubles_pki import DoublesPki
from tests.support.join import (
    CONTROLLER_USAGE,
    JoinBed,
    join_bed,  # noqa: F401  (fixture)
    secret_doc,
)
from tests.support.net import free_port


def get_ca(bed: JoinBed, token: str) -> int:
    conn = http.client.HTTPSConnection("127.0.0.1", bed.api_port, context=bed.ca_context(), timeout=10)
    try:
        conn.request("GET", "/v1beta1/ca", headers={"Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


@pytest.fixture
async def kube(join_bed: JoinBed) -> AsyncIterator[KubeClient]:  # noqa: F811
    async with KubeClient(credentials_from_kubeconfig(join_bed.paths.admin_kubeconfig)) as client:
        yield client


async def test_requests_after_the_delete_event_are_refused(join_bed: JoinBed, kube: KubeClient) -> None:  # noqa: F811
    """End to end through `k0spy api`: once a watcher has seen DELETED, the join server refuses too."""
    bed, token = join_bed, "wcache.0123456789abcdef"
    await asyncio.to_thread(bed.put_secret, secret_doc(token, usages=CONTROLLER_USAGE))
    assert await asyncio.to_thread(get_ca, bed, token) == 200
    _, version = await kube.list_versioned(secrets_path(NAMESPACE), field_selector=FIELD_SELECTOR)
    events = kube.watch(secrets_path(NAMESPACE), version, field_selector=FIELD_SELECTOR, timeout_seconds=30)
    deleting = asyncio.create_task(asyncio.to_thread(bed.delete_secret, "wcache"))
    async for kind, obj in events:
        if kind == "DELETED" and obj["metadata"]["name"] == "bootstrap-token-wcache":
            break
    await events.aclose()  # type: ignore[attr-defined]
    assert await deleting == 200
    assert await asyncio.to_thread(get_ca, bed, token) == 401
    refused, until = 0, time.monotonic() + 1.0
    while time.monotonic() < until:
        assert await asyncio.to_thread(get_ca, bed, token) == 401
        refused += 1
    assert refused >= 1
    assert '"tokencache.synced"' in bed.api_log.read_text()  # the join server runs with the cache


async def test_revocation_window_is_the_watch_latency(join_bed: JoinBed, kube: KubeClient) -> None:  # noqa: F811
    """In process: DELETE returned -> the cache no longer holds the token; measured over 10 tokens."""
    bed = join_bed
    cache = SecretCache(kube)
    windows = []
    async with running_cache(cache):
        assert await cache.wait_for(lambda c: c.synced, 10)
        auth = authenticator(kube, cache=cache)
        for i in range(10):
            token = f"wlat{i:02d}.0123456789abcdef"
            await asyncio.to_thread(bed.put_secret, secret_doc(token, usages=CONTROLLER_USAGE))
            assert await cache.wait_for(lambda c, t=token: c.lookup(t[:6])[0], 10)
            reads = auth.reader.reads
            assert await auth.allows(f"Bearer {token}") and auth.reader.reads == reads  # from the cache
            started = time.perf_counter()
            assert await asyncio.to_thread(bed.delete_secret, token[:6]) == 200
            returned = time.perf_counter()
            assert await cache.wait_for(lambda c, t=token: not c.lookup(t[:6])[0], 10)
            windows.append(time.perf_counter() - returned)
            assert not await auth.allows(f"Bearer {token}")
            assert returned >= started
    print(f"revocation window after DELETE returned: median {statistics.median(windows) * 1000:.1f} ms, "
          f"max {max(windows) * 1000:.1f} ms")
    assert max(windows) < 1.0


async def test_a_broken_watch_falls_back_to_direct_reads(
    join_bed: JoinBed, kube: KubeClient, tmp_path: Path  # noqa: F811
) -> None:
    """The cache's API server dies: out of sync at once; a token deleted meanwhile is refused."""
    bed = join_bed
    pki = DoublesPki(bed.paths.cert_dir, None, None, None)  # type: ignore[arg-type]  # only .dir/.path
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    keep, gone = "wkeep1.0123456789abcdef", "wgone1.0123456789abcdef"
    for token in (keep, gone):
        await asyncio.to_thread(bed.put_secret, secret_doc(token, usages=CONTROLLER_USAGE))

    def start_double() -> None:
        proc = bed.procs.start("kube-apiserver", apiserver_args(pki, port, bed.etcd.url))
        wait_http_ok(url + "/readyz", bed.admin_context(), proc)
        started.append(proc)

    started: list = []
    await asyncio.to_thread(start_double)
    creds = dataclasses.replace(kube.creds, server=url)
    try:
        async with KubeClient(creds) as own:
            # no relist for a minute after a break: what answers meanwhile must be the direct read
            cache = SecretCache(own, backoff=BackoffPolicy(first=60.0, cap=60.0))
            async with running_cache(cache):
                auth: Authenticator = authenticator(own, cache=cache)
                assert await cache.wait_for(lambda c: c.lookup("wgone1")[0], 10)
                assert await auth.allows(f"Bearer {gone}") and auth.reader.reads == 0

                await asyncio.to_thread(started[0].kill)
                assert await cache.wait_for(lambda c: not c.synced, 10)
                assert cache.lookup("wgone1") == (False, None)
                await asyncio.to_thread(start_double)  # direct reads work again; the cache stays out of sync
                assert await asyncio.to_thread(bed.delete_secret, "wgone1") == 200

                assert not await auth.allows(f"Bearer {gone}")
                assert await auth.allows(f"Bearer {keep}")
                assert auth.reader.reads == 2 and not cache.synced and cache.lists == 1
    finally:
        for proc in started:
            await asyncio.to_thread(proc.stop)
