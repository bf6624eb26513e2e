"""Run the join server until told to stop: one Kubernetes client for its whole life (as k0s), then TLS."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from k0spy.joinapi.auth import Authenticator, FreshReader, SecretDoc
from k0spy.joinapi.secretcache import SecretCache
from k0spy.joinapi.server import USAGE, RunningServer, start_server
from k0spy.joinapi.settings import JoinApiSettings
from k0spy.joinapi.tokens import NAMESPACE, secret_name
from k0spy.kube.client import KubeClient, credentials_from_kubeconfig, secrets_path
from k0spy.log import get_logger


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """`uvloop` or `asyncio`: which event loop implementation is running (k0spy.cli.api picks it)."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


def secret_fetcher(kube: KubeClient) -> Callable[[str], Awaitable[SecretDoc | None]]:
    async def fetch(token_id: str) -> SecretDoc | None:
        return await kube.get(secrets_path(NAMESPACE, secret_name(token_id)),
                              what=f"reading bootstrap token {token_id}")

    return fetch


def authenticator(kube: KubeClient, spacing: float = 0.0, cache: SecretCache | None = None) -> Authenticator:
    log = get_logger(component="k0s-api")

    def on_error(token_id: str, err: BaseException) -> None:
        log.error("token.lookup_failed", token_id=token_id, error=str(err))

    return Authenticator(FreshReader(secret_fetcher(kube), spacing=spacing), USAGE, on_error=on_error,
                         cache=cache)


def secret_cache(kube: KubeClient) -> SecretCache:
    """The token cache, logging its first sync and every sync after a break (not the periodic relists)."""
    log = get_logger(component="k0s-api")
    quiet = False

    def on_event(event: str, **fields: object) -> None:
        nonlocal quiet
        if event == "tokencache.watch_broken":
            log.warning(event, **fields)
            quiet = False
        elif event == "tokencache.synced" and not quiet:
            log.info(event, **fields)
            quiet = True
        else:
            log.debug(event, **fields)

    return SecretCache(kube, on_event=on_event)


@contextlib.asynccontextmanager
async def running_cache(cache: SecretCache) -> AsyncIterator[SecretCache]:
    """Keep `cache` synced in a task for the duration of the block; the task is cancelled and awaited."""
    task = asyncio.create_task(cache.run(), name="token-secret-cache")
    try:
        yield cache
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def serve(settings: JoinApiSettings, stop: asyncio.Event,
                started: Callable[[RunningServer], None] | None = None) -> None:
    """Serve until `stop` is set, then shut down gracefully within the grace period."""
    log = get_logger(component="k0s-api")
    async with (KubeClient(credentials_from_kubeconfig(settings.admin_kubeconfig)) as kube,
                running_cache(secret_cache(kube)) as cache):
        # no wait for the first sync: until then every request reads its Secret directly
        running = await start_server(settings, authenticator(kube, settings.limits.token_read_spacing, cache))
        log.info("api.listening", host=settings.host or "*", ports=running.ports,
                 ca_mounted=settings.joinable, members_mounted=settings.etcd is not None,
                 loop=loop_name(asyncio.get_running_loop()))
        try:
            if started is not None:
                started(running)
            await stop.wait()
            log.info("api.stopping")
        finally:
            await running.stop()
    log.info("api.stopped")
