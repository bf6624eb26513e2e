"""A generic component that is one supervised child process, optionally with a readiness probe.

Later components (etcd, kube-apiserver, kubelet, ...) are ProcessComponents with their own arguments,
user and probe. `init` resolves the system user (k0s's rule: run as that user with gid 0 when the daemon is
root and the user exists, as root with a warning otherwise) and checks the binary; `start` spawns;
`ready` runs the probe (or trusts a running process when there is none); after start-up a light prober
keeps the "last probe" in status fresh and marks a restarted child ready again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from k0spy.components.base import NotReady
from k0spy.errors import K0spyError
from k0spy.log import get_logger
from k0spy.paths import Paths
from k0spy.supervisor.backoff import DEFAULT_BACKOFF, BackoffPolicy
from k0spy.supervisor.output import BatchRenderer
from k0spy.supervisor.privileges import find_setpriv, needs_capability
from k0spy.supervisor.process import ProcessSpec, ProcessStatus, SupervisedProcess

Probe = Callable[[], Awaitable[None]]  # raises (NotReady or anything) while not healthy
PROBE_TIMEOUT = 5.0
PROBE_INTERVAL_READY = 10.0
PROBE_INTERVAL_NOT_READY = 0.5


def resolve_user(user: str | None) -> tuple[int | None, str | None]:
    """(uid, warning): the uid to drop to, or None with a reason when the child stays root."""
    if user is None or os.geteuid() != 0:
        return None, None
    try:
        return pwd.getpwnam(user).pw_uid, None
    except KeyError:
        return None, f"system user {user} does not exist, running as root"


class ProcessComponent:
    """One binary under supervision; see the module docstring."""

    def __init__(
        self, name: str, binary: str | Path, args: Sequence[str], paths: Paths, *,
        user: str | None = None, keep_env_prefix: bool = False, stop_timeout: float = 5.0,
        probe: Probe | None = None, stdin: bytes | None = None, backoff: BackoffPolicy = DEFAULT_BACKOFF,
        renderer: BatchRenderer | None = None, probe_interval: float = PROBE_INTERVAL_READY,
        ready_in_background: bool = False, binds_privileged_ports: bool = False,
    ) -> None:
        self.name = name
        self.binds_privileged_ports = binds_privileged_ports
        self.ready_in_background = ready_in_background  # see Manager.start
        self.binary = str(binary)
        self.args = list(args)
        self.paths = paths
        self.user = user
        self.keep_env_prefix = keep_env_prefix
        self.stop_timeout = stop_timeout
        self.probe = probe
        self.stdin = stdin
        self.backoff = backoff
        self.renderer = renderer
        self.probe_interval = probe_interval
        self.process: SupervisedProcess | None = None
        self._prober: asyncio.Task[None] | None = None
        self.log = get_logger(component=name)

    async def init(self) -> None:
        if not os.access(self.binary, os.X_OK):
            raise K0spyError(f"{self.name}: binary {self.binary} is missing or not executable",
                             hint="stage the component binaries into DATA/bin")
        uid, warning = resolve_user(self.user)
        if warning:
            self.log.warning("component.user_missing", user=self.user)
        setpriv = None
        if needs_capability(self.binds_privileged_ports, uid):
            setpriv = find_setpriv()
            if setpriv is None:
                raise K0spyError(
                    f"{self.name} binds a port below 1024 as user {self.user}, which needs "
                    "CAP_NET_BIND_SERVICE, granted through setpriv, and setpriv was not found",
                    hint="install util-linux (setpriv), or use a port of 1024 or above")
        self.process = SupervisedProcess(ProcessSpec(
            name=self.name, argv=(self.binary, *self.args), data_dir=self.paths.data_dir,
            pid_file=self.paths.pid_file(self.name), stdin=self.stdin, uid=uid, gid=0 if uid is not None
            else None, keep_env_prefix=self.keep_env_prefix, stop_timeout=self.stop_timeout,
            backoff=self.backoff, ready_on_spawn=self.probe is None, setpriv=setpriv,
        ), self.renderer)

    async def start(self) -> None:
        assert self.process is not None, "init() first"
        await self.process.start()
        if self.probe is not None:
            self._prober = asyncio.create_task(self._probe_loop(), name=f"probe:{self.name}")

    async def _run_probe(self) -> None:
        assert self.process is not None and self.probe is not None
        try:
            await asyncio.wait_for(self.probe(), PROBE_TIMEOUT)
        except Exception as err:
            reason = str(err) or type(err).__name__
            self.process.record_probe(False, reason)
            raise NotReady(reason) from err
        self.process.record_probe(True, "ok")

    async def ready(self) -> None:
        process = self.process
        if process is None or not process.state.alive or process.pid is None:
            raise NotReady(f"{self.name} is {process.state.value if process else 'not initialised'}")
        if self.probe is not None:
            await self._run_probe()

    async def _probe_loop(self) -> None:
        assert self.process is not None
        while True:
            ready = self.process.state.value == "ready"
            await asyncio.sleep(self.probe_interval if ready else PROBE_INTERVAL_NOT_READY)
            if self.process.pid is not None:
                with contextlib.suppress(NotReady):
                    await self._run_probe()

    async def stop(self) -> None:
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
            self._prober = None
        if self.process is not None:
            await self.process.stop()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def status(self) -> ProcessStatus | None:
        return self.process.status() if self.process is not None else None

    def history(self, count: int) -> dict[str, list[dict[str, Any]]]:
        """The last `count` probe results and events, newest first (`/components?maxCount=N`)."""
        if self.process is None:
            return {"probes": [], "events": []}
        return self.process.history.latest(count)
