"""The Component contract and the Manager that runs a list of them in order.

    init()  ->  start()  ->  ready()?  ->  [reconcile(config)]*  ->  stop()
    fallible    returns once   raises        optional; may come    idempotent,
    preparation running in     NotReady      before or after       callable in
    never spawns the background until healthy  start               any state

The Manager is a stack (as k0s's component manager): every `init` runs concurrently and the first failure
aborts before anything is spawned; components start one after the other in insertion order, each
polled for readiness every 100 ms up to a deadline; a start failure or readiness timeout stops what was
started, in reverse; shutdown stops everything in reverse order, collecting every failure into one error.
Each step is recorded on the Timeline, so `k0spy status timeline` can show where start-up time went.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from k0spy.errors import K0spyError
from k0spy.log import get_logger
from k0spy.status.timeline import Timeline

READY_POLL_INTERVAL = 0.1
READY_FIRST_POLL = 0.01
READY_TIMEOUT = 120.0


def poll_delays(interval: float, first: float = READY_FIRST_POLL) -> Iterator[float]:
    """Delays between readiness probes: `first`, doubling, then `interval` (10, 20, 40, 80, 100, 100 ms...).

    The ramp costs four extra probes per component at most, each a cheap local request.
    """
    delay = min(first, interval)
    while True:
        yield delay
        delay = min(interval, delay * 2)


def log() -> Any:
    """Bound at call time: the daemon configures structlog after this module is imported."""
    return get_logger(component="manager")


class NotReady(Exception):
    """Raised by `ready()` while a component is not healthy yet; the message says why."""


@runtime_checkable
class Component(Protocol):
    name: str

    async def init(self) -> None: ...

    async def start(self) -> None: ...

    async def ready(self) -> None: ...

    async def stop(self) -> None: ...


class ComponentError(K0spyError):
    """A component failed to init, start, become ready or stop."""


class TaskComponent(abc.ABC):
    """A component that is one asyncio task of the daemon (no process of its own): `start` creates the
    task running `run`, it is ready while the task runs, and `stop` cancels it and waits for it to end.

    Several controller and worker parts are such loops (the learner promoter, the CSR approver, the image
    bundle importer); one shape keeps their start/stop semantics identical and cancellation-safe.

    A cancelled task may still have cleanup to await (closing an API client waits for each TLS connection
    to shut down, up to asyncio's 30 s when a peer never answers). `stop` waits for it `stop_grace`
    seconds at most, then logs and cancels it again, which interrupts that cleanup: a daemon that is
    stopping must not hang on a courtesy to a peer.
    """

    name: str
    stop_grace: float = 5.0
    _task: asyncio.Task[None] | None = None

    @abc.abstractmethod
    async def run(self) -> None:
        """The loop; runs until cancelled (returning or raising counts as not running any more)."""

    async def init(self) -> None:
        return None

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=self.name)

    async def ready(self) -> None:
        if self._task is None or self._task.done():
            raise NotReady(f"{self.name} is not running")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=self.stop_grace)
        if not done:
            log().warning("component.stop_slow", component=self.name, grace=self.stop_grace,
                          detail="its cleanup is cut short")
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=self.stop_grace)
            if not done:
                return
        with contextlib.suppress(asyncio.CancelledError):
            task.result()


class Manager:
    """Runs components: concurrent init, ordered start with readiness wait, reverse stop."""

    def __init__(self, components: list[Component], *, timeline: Timeline | None = None,
                 ready_timeout: float = READY_TIMEOUT, poll_interval: float = READY_POLL_INTERVAL) -> None:
        names = [c.name for c in components]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate component names: {names}")
        self.components = list(components)
        self.timeline = timeline or Timeline()
        self.ready_timeout = ready_timeout
        self.poll_interval = poll_interval
        self.started: list[Component] = []

    async def init(self) -> None:
        """Run every init concurrently; the first failure cancels the others and is raised."""
        async def one(component: Component) -> None:
            self.timeline.mark(component.name, "init")
            try:
                await component.init()
            except Exception as err:
                raise ComponentError(f"initialising {component.name}: {err}",
                                     getattr(err, "hint", None)) from err
            self.timeline.mark(component.name, "initialised")

        try:
            async with asyncio.TaskGroup() as group:
                for component in self.components:
                    group.create_task(one(component))
        except ExceptionGroup as eg:
            raise eg.exceptions[0] from None

    async def start(self, shutdown: asyncio.Event | None = None) -> None:
        """Start in order, waiting for each one's readiness; on failure stop what was started.

        A component with `ready_in_background = True` (nothing after it depends on it, like the join
        API) is waited for alongside the ones after it instead of before them; `start` still returns only
        once every component is ready, and its failure fails the start like any other.
        """
        pending: list[asyncio.Task[None]] = []
        try:
            for component in self.components:
                if shutdown is not None and shutdown.is_set():
                    break
                self.timeline.mark(component.name, "start")
                self.started.append(component)
                try:
                    await component.start()
                except Exception as err:
                    raise ComponentError(f"starting {component.name}: {err}",
                                         getattr(err, "hint", None)) from err
                self.timeline.mark(component.name, "spawned")
                if getattr(component, "ready_in_background", False):
                    pending.append(asyncio.create_task(self._become_ready(component, shutdown)))
                    continue
                await self._become_ready(component, shutdown)
                for task in pending:  # a background wait that already failed fails the start now
                    if task.done():
                        task.result()
            if shutdown is not None and shutdown.is_set():  # the caller stops what was started
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                return
            for task in pending:
                await task
        except BaseException:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            await self.stop()
            raise

    async def _become_ready(self, component: Component, shutdown: asyncio.Event | None) -> None:
        await self._wait_ready(component, shutdown)
        self.timeline.mark(component.name, "ready")
        log().info("component.ready", name=component.name)

    async def _wait_ready(self, component: Component, shutdown: asyncio.Event | None) -> None:
        deadline = time.monotonic() + self.ready_timeout
        reason = "not probed yet"
        delays = poll_delays(self.poll_interval)
        while True:
            try:
                await component.ready()
                return
            except NotReady as err:
                reason = str(err) or "not ready"
            if shutdown is not None and shutdown.is_set():
                raise ComponentError(f"{component.name}: start-up interrupted by shutdown")
            if time.monotonic() >= deadline:
                raise ComponentError(
                    f"{component.name} did not become ready within {self.ready_timeout:g}s: {reason}",
                    hint="look at the component's log lines above for the cause",
                )
            await asyncio.sleep(next(delays))

    async def stop(self, cause: str | None = None) -> None:
        """Stop started components in reverse; every failure is logged and collected into one error."""
        if cause:
            log().info("manager.stopping", cause=cause)
        errors: list[str] = []
        while self.started:
            component = self.started.pop()
            try:
                await component.stop()
                self.timeline.mark(component.name, "stopped")
            except Exception as err:
                log().error("component.stop_failed", name=component.name, error=str(err))
                errors.append(f"{component.name}: {err}")
        if errors:
            raise ComponentError("stopping components failed: " + "; ".join(errors))

    def kill(self) -> None:
        """The second signal: kill every component that can be killed at once."""
        for component in reversed(self.components):
            killer: Any = getattr(component, "kill", None)
            if callable(killer):
                killer()
