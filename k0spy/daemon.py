"""Run a role: lock, runtime config, status socket, components in order, signals, ordered stop.

`run(paths, components, info)` is the one call the controller and worker commands make. Signal semantics:

* first SIGINT or SIGTERM: the cause ("signal received: SIGTERM") is logged and the components are
  stopped in reverse start order, each child with SIGTERM then, after its timeout, SIGKILL to its group;
* a second SIGINT or SIGTERM during that stop: every child's process group is SIGKILLed at once; the
  daemon still reaps them, removes its pid files and runtime config, and exits;
* SIGHUP: logged and ignored (k0s dies on it and leaves its children running).

Exit code: 0 after a signal-driven stop, 1 when a component failed to init, start or become ready.
Signal handlers only record the cause and set an event: no component code runs in them.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from k0spy.components.base import READY_TIMEOUT, Component, Manager
from k0spy.errors import K0spyError
from k0spy.log import get_logger
from k0spy.paths import Paths
from k0spy.runtime import runtime_lock
from k0spy.status.server import StatusInfo, StatusServer
from k0spy.status.timeline import Timeline


def log() -> Any:
    """Bound at call time: the daemon configures structlog after this module is imported."""
    return get_logger(component="daemon")


def install_child_watcher() -> None:
    """Python 3.11 watches children with a thread each by default; a pidfd per child is thread-free."""
    if sys.version_info < (3, 12):
        asyncio.set_child_watcher(asyncio.PidfdChildWatcher())


class Shutdown:
    """The shutdown event and its cause; the second stop signal escalates to a kill."""

    def __init__(self, manager: Manager) -> None:
        self.event = asyncio.Event()
        self.cause: str | None = None
        self.manager = manager
        self.signals = 0

    def on_stop_signal(self, sig: signal.Signals) -> None:
        self.signals += 1
        if self.signals == 1:
            self.cause = f"signal received: {sig.name}"
            log().info("daemon.shutdown_requested", cause=self.cause)
            self.event.set()
        else:
            log().warning("daemon.kill_requested", cause=f"second signal received: {sig.name}")
            self.manager.kill()

    def on_hangup(self) -> None:
        log().info("daemon.sighup_ignored")


Prepare = Callable[[Timeline], Awaitable[list[Component]]]
AfterReady = Callable[[], Coroutine[Any, Any, Any]]


async def serve(paths: Paths, components: list[Component], info: StatusInfo, *,
                node_config: dict[str, Any] | None = None, ready_timeout: float = READY_TIMEOUT,
                prepare: Prepare | None = None, after_ready: AfterReady | None = None) -> int:
    """The daemon's body, inside a running loop.

    `prepare`, when given, runs once the lock is held and before any component's init: it does the
    preparation that must never run twice at once on a data dir (PKI, staging) and returns more
    components, appended after `components`. `after_ready`, when given, runs as a background task once
    every component is ready (idle-time work such as the spare-key refill) and is cancelled at shutdown.
    """
    loop = asyncio.get_running_loop()
    timeline = Timeline()
    manager = Manager(components, timeline=timeline, ready_timeout=ready_timeout)
    shutdown = Shutdown(manager)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, shutdown.on_stop_signal, sig)
    loop.add_signal_handler(signal.SIGHUP, shutdown.on_hangup)
    try:
        with runtime_lock(paths, node_config):
            server = StatusServer(paths.status_socket, info, lambda: manager.components, timeline)
            await server.start()
            try:
                return await _run_components(manager, shutdown, prepare, timeline, after_ready)
            finally:
                await server.stop()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)


async def _run_components(manager: Manager, shutdown: Shutdown, prepare: Prepare | None = None,
                          timeline: Timeline | None = None, after_ready: AfterReady | None = None) -> int:
    code = 0
    background: asyncio.Task[Any] | None = None
    try:
        if prepare is not None:
            assert timeline is not None
            manager.components.extend(await prepare(timeline))
        await manager.init()
        await manager.start(shutdown.event)
        if not shutdown.event.is_set():
            log().info("daemon.ready", components=len(manager.components))
            if after_ready is not None:
                background = asyncio.create_task(after_ready())
            await shutdown.event.wait()
    except K0spyError as err:
        if shutdown.event.is_set():  # a signal interrupted the start-up: an ordinary stop
            log().info("daemon.startup_interrupted", error=err.message)
        else:
            log().error("daemon.failed", error=err.message)
            code = 1
    if background is not None:  # idle-time work never delays or fails a stop
        background.cancel()
        try:
            await background
        except asyncio.CancelledError:
            pass
        except Exception as err:
            log().warning("daemon.after_ready_failed", error=str(err))
    try:
        await manager.stop(shutdown.cause or ("start-up failed" if code else "stopping"))
    except K0spyError as err:
        log().error("daemon.stop_failed", error=err.message)
        code = code or 1
    log().info("daemon.stopped", cause=shutdown.cause, exit_code=code)
    return code


def run(paths: Paths, components: list[Component], info: StatusInfo, *,
        node_config: dict[str, Any] | None = None, ready_timeout: float = READY_TIMEOUT,
        prepare: Prepare | None = None, after_ready: AfterReady | None = None) -> int:
    """Run the daemon until a signal stops it; returns the process exit code."""
    install_child_watcher()
    return asyncio.run(serve(paths, components, info, node_config=node_config, ready_timeout=ready_timeout,
                             prepare=prepare, after_ready=after_ready))
