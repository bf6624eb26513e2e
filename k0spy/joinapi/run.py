"""Run the join server until told to stop: one Kubernetes client for its whole life (as k0s), then TLS."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from k0spy.joinapi.auth import Authenticator, FreshReader, SecretDoc
from k0spy.joinapi.server import USAGE, RunningServer, start_server
from k0spy.joinapi.settings import JoinApiSettings
from k0spy.joinapi.tokens import NAMESPACE, secret_name
from k0spy.kube.client import KubeClient, credentials_from_kubeconfig, secrets_path
from k0spy.log import get_logger


def secret_fetcher(kube: KubeClient) -> Callable[[str], Awaitable[SecretDoc | None]]:
    async def fetch(token_id: str) -> SecretDoc | None:
        return await kube.get(secrets_path(NAMESPACE, secret_name(token_id)),
                              what=f"reading bootstrap token {token_id}")

    return fetch


def authenticator(kube: KubeClient, spacing: float = 0.0) -> Authenticator:
    log = get_logger(component="k0s-api")

    def on_error(token_id: str, err: BaseException) -> None:
        log.error("token.lookup_failed", token_id=token_id, error=str(err))

    return Authenticator(FreshReader(secret_fetcher(kube), spacing=spacing), USAGE, on_error=on_error)


async def serve(settings: JoinApiSettings, stop: asyncio.Event,
                started: Callable[[RunningServer], None] | None = None) -> None:
    """Serve until `stop` is set, then shut down gracefully within the grace period."""
    log = get_logger(component="k0s-api")
    async with KubeClient(credentials_from_kubeconfig(settings.admin_kubeconfig)) as kube:
        running = await start_server(settings, authenticator(kube, settings.limits.token_read_spacing))
        log.info("api.listening", host=settings.host or "*", ports=running.ports,
                 ca_mounted=settings.joinable, members_mounted=settings.etcd is not None)
        try:
            if started is not None:
                started(running)
            await stop.wait()
            log.info("api.stopping")
        finally:
            await running.stop()
    log.info("api.stopped")
