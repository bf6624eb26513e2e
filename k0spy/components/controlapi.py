"""The two join-side components of a controller: the `k0s-control-api` child and the learner promoter.

`k0s-control-api` is k0spy itself re-executed as `k0spy api` (k0s re-executes its own binary the same
way), fed the runtime config YAML on stdin; it runs only when the storage is joinable and `control-api`
is not disabled, right after kube-apiserver (it reads bootstrap-token Secrets through the API). It is
ready once it answers TLS and refuses an unauthenticated `GET /v1beta1/ca` with 401.

The learner promoter is k0s's EtcdMemberReconciler reduced to what matters: every few seconds, promote
at most one started learner that has caught up (`promote_one_learner`). It runs on every controller with
internal etcd; etcd itself refuses a promotion that is not yet safe, and a second controller promoting
the same learner first only makes this tick a no-op.

    init() -> start() -> ready() -> stop()        (the promoter: ready at once; stop cancels the loop)
"""

from __future__ import annotations

import asyncio
import os
import ssl
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from k0spy.components.base import NotReady, TaskComponent
from k0spy.log import get_logger
from k0spy.paths import Paths

if TYPE_CHECKING:
    from k0spy.components.process import ProcessComponent
    from k0spy.config.model import ClusterConfig
    from k0spy.joinapi.settings import EtcdAccess

CONTROL_API = "k0s-control-api"
PROMOTER = "etcd-learner-promoter"
PROMOTE_INTERVAL = 2.0
PROBE_TIMEOUT = 2.0


def self_command() -> list[str]:
    """How to run this k0spy again: the single-file artifact itself, else this Python with `-m k0spy`."""
    artifact = os.environ.get("K0SPY_ARTIFACT")
    if artifact and os.access(artifact, os.X_OK):
        return [artifact]
    return [sys.executable, "-m", "k0spy"]


def control_api_wanted(cfg: ClusterConfig, disabled: tuple[str, ...]) -> bool:
    return bool(cfg.spec.storage.is_joinable()) and "control-api" not in disabled


def probe_url(cfg: ClusterConfig) -> str:
    """Where the probe reaches the server: its bind address if it has one, else loopback."""
    from k0spy.components.etcd import join_host_port

    api = cfg.spec.api
    host = api.extra_args.get("bind-address") or (api.address if api.only_bind_to_address else "")
    if not host or host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"https://{join_host_port(host, int(api.k0s_api_port))}/v1beta1/ca"


def control_api_probe(url: str, ca_file: str) -> Callable[[], Awaitable[None]]:
    """Ready = TLS verified against the cluster CA and 401 for a request without a token."""
    from k0spy.components.probes import http_request

    async def probe() -> None:
        ctx = ssl.create_default_context(cafile=ca_file)
        ctx.check_hostname = False  # the certificate names the node's addresses, the probe may use loopback
        try:
            status, _ = await asyncio.wait_for(http_request(url, tls=ctx), PROBE_TIMEOUT)
        except (OSError, ssl.SSLError, ValueError, TimeoutError) as err:
            raise NotReady(f"GET {url}: {type(err).__name__}: {err}") from err
        if status != 401:
            raise NotReady(f"GET {url}: HTTP {status}, expected 401 without a token")

    return probe


def control_api_component(cfg: ClusterConfig, paths: Paths, runtime_config_yaml: str) -> ProcessComponent:
    from k0spy.components.process import ProcessComponent

    argv = self_command()
    return ProcessComponent(CONTROL_API, argv[0], [*argv[1:], "api"], paths,
                            stdin=runtime_config_yaml.encode(), stop_timeout=10.0,
                            probe=control_api_probe(probe_url(cfg), str(paths.cert_dir / "ca.crt")),
                            # Nothing on this node needs the join API (k0s does not wait for it at all):
                            # its ~0.5 s start-up overlaps the scheduler's and controller-manager's.
                            ready_in_background=True)


class LearnerPromoter(TaskComponent):
    """Promotes caught-up etcd learners, one per tick; see the module docstring."""

    def __init__(self, access: EtcdAccess, interval: float = PROMOTE_INTERVAL) -> None:
        self.name = PROMOTER
        self.access = access
        self.interval = interval
        self.promoted: list[str] = []
        self.log = get_logger(component=PROMOTER)

    async def run(self) -> None:
        import aiohttp

        from k0spy.joinapi.etcdmembers import etcd_ssl, promote_one_learner

        timeout = aiohttp.ClientTimeout(total=5)
        connector = aiohttp.TCPConnector(ssl=etcd_ssl(self.access))
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            while True:
                await asyncio.sleep(self.interval)
                await self._tick(session, promote_one_learner)

    async def _tick(self, session: Any, promote: Any) -> None:
        try:
            name = await promote(session, self.access)
        except Exception as err:  # etcd restarting, no leader for a moment: try again next tick
            self.log.debug("promote.failed", error=str(err))
            return
        if name:
            self.promoted.append(name)
            self.log.info("etcd.learner_promoted", member=name)
