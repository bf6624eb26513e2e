"""Renewal without a restart, the daemon's part: a component that renews due leaves while the daemon runs.

k0s renews leaves only when it restarts (k0s issue 7812). `CertRenewer` is the last controller component;
it has no process of its own. It sleeps until a leaf enters the renewal window (never longer than an hour,
so a changed clock or a file replaced by hand is noticed), renews the due leaves in a thread
(`k0spy.pki.renew`: key generation blocks), then restarts the components that read them, one at a time,
each stopped, started and waited for before the next, so that a renewal never takes the whole control
plane down at once. Its last run shows in `/components` (its row) and `/metrics`.

    start -> [sleep until due -> renew in a thread -> restart users one by one -> log pki.renewed]* -> stop

Two guards keep this from turning into a restart storm: renewals are at least `min_interval` apart (a
window as long as the leaf validity would otherwise make every freshly renewed leaf due again at once),
and a failed check is retried after `retry` instead of in a loop. The timing decision is `plan_delay`,
pure and tested without a clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from k0spy.components.base import Component, NotReady
from k0spy.log import get_logger
from k0spy.paths import Paths
from k0spy.pki.renew import DEFAULT_RENEW_WINDOW, LeafExpiry, next_check_delay

if TYPE_CHECKING:
    from k0spy.pki.settings import PKISettings

NAME = "cert-renewer"
CHECK_CEILING = dt.timedelta(hours=1)
MIN_INTERVAL = dt.timedelta(minutes=10)
RETRY_DELAY = dt.timedelta(minutes=5)
RESTART_READY_TIMEOUT = 120.0
READY_POLL = 0.2
# The leaf table names readers after their binaries; the components are called differently.
COMPONENT_NAMES = {"konnectivity-server": "konnectivity", "k0s-api": "k0s-control-api"}


def log() -> Any:
    return get_logger(component=NAME)


def plan_delay(expiries: Iterable[LeafExpiry], now: dt.datetime, window: dt.timedelta, *,
               last_renewal: dt.datetime | None = None, failed: bool = False,
               min_interval: dt.timedelta = MIN_INTERVAL, retry: dt.timedelta = RETRY_DELAY,
               ceiling: dt.timedelta = CHECK_CEILING) -> dt.timedelta:
    """How long to sleep before the next check.

    Until the soonest leaf enters the window (at most `ceiling`); after a failed check, `retry` (the due
    leaf is still due: without it the loop would spin); never sooner than `min_interval` after the last
    renewal.
    """
    delay = retry if failed else next_check_delay(expiries, now, window, ceiling)
    if last_renewal is not None:
        delay = max(delay, last_renewal + min_interval - now)
    return max(delay, dt.timedelta(0))


def earliest_expiry(expiries: Iterable[LeafExpiry]) -> dt.datetime | None:
    return min((item.not_after for item in expiries if item.not_after is not None), default=None)


@dataclass(frozen=True)
class CheckResult:
    """One check, done in a thread: the leaves and kubeconfigs renewed, who to restart, expiries after."""

    renewed: list[str]
    kubeconfigs: list[str]
    restart: list[str]
    expiries: list[LeafExpiry]


def run_check(paths: Paths, settings: PKISettings, window: dt.timedelta, now: dt.datetime) -> CheckResult:
    """Renew the leaves within `window` of expiry (blocking: key generation and fsync)."""
    from k0spy.pki.ensure import renew_leaves
    from k0spy.pki.renew import components_to_restart, due_for_renewal, read_expiries

    expiries = read_expiries(paths, settings)
    due = due_for_renewal(expiries, now, window)
    if not due:
        return CheckResult([], [], [], expiries)
    result = renew_leaves(paths, settings, frozenset(due), now=now)
    restart = [COMPONENT_NAMES.get(name, name) for name in components_to_restart(result.renewed)]
    return CheckResult(result.renewed, result.kubeconfigs, restart, read_expiries(paths, settings))


@dataclass
class RenewalState:
    """What `/components` and `/metrics` show about renewal (wall-clock timestamps)."""

    window: float
    last_check: float | None = None
    last_renewal: float | None = None
    renewed: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    next_check: float | None = None
    earliest_expiry: float | None = None
    renewals: dict[str, int] = field(default_factory=dict)  # leaf -> times renewed by this daemon
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"window": self.window, "lastCheck": self.last_check, "lastRenewal": self.last_renewal,
                "renewed": self.renewed, "restarted": self.restarted, "nextCheck": self.next_check,
                "earliestExpiry": self.earliest_expiry, "renewals": dict(self.renewals), "error": self.error}


class CertRenewer:
    """The renewal component; `components` returns the controller's components (restart targets)."""

    def __init__(self, paths: Paths, settings: PKISettings, components: Callable[[], Sequence[Component]], *,
                 window: dt.timedelta = DEFAULT_RENEW_WINDOW, min_interval: dt.timedelta = MIN_INTERVAL,
                 ceiling: dt.timedelta = CHECK_CEILING, retry: dt.timedelta = RETRY_DELAY,
                 ready_timeout: float = RESTART_READY_TIMEOUT) -> None:
        self.name = NAME
        self.paths = paths
        self.settings = settings
        self.components = components
        self.window = window
        self.min_interval = min_interval
        self.ceiling = ceiling
        self.retry = retry
        self.ready_timeout = ready_timeout
        self.state = RenewalState(window=window.total_seconds())
        self._expiries: list[LeafExpiry] = []
        self._last_renewal: dt.datetime | None = None
        self._failed = False
        self._task: asyncio.Task[None] | None = None

    async def init(self) -> None:
        validity = min(self.settings.cert_validity, self.settings.etcd_cert_validity)
        if self.window >= validity:
            log().warning("pki.renewal_window_too_long", window=str(self.window), validity=str(validity),
                          detail=f"leaves are due as soon as they are renewed; renewals stay at least "
                                 f"{self.min_interval} apart")

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name=f"{NAME}:loop")

    async def ready(self) -> None:
        if self._task is None or self._task.done():
            raise NotReady("renewal loop is not running")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def details(self) -> dict[str, Any]:
        """Merged into this component's `/components` row; the probe column shows the last check."""
        state = self.state
        probe = None if state.last_check is None else {
            "ok": state.error is None, "message": state.error or "checked", "at": state.last_check}
        return {"probe": probe, "renewal": state.to_json()}

    # --- the loop ------------------------------------------------------------------------------------
    async def _loop(self) -> None:
        await self.check()  # the leaves were renewed at start-up: this only reads their expiries
        while True:
            now = dt.datetime.now(dt.UTC)
            delay = plan_delay(self._expiries, now, self.window, last_renewal=self._last_renewal,
                               failed=self._failed, min_interval=self.min_interval, retry=self.retry,
                               ceiling=self.ceiling)
            self.state.next_check = time.time() + delay.total_seconds()
            log().debug("pki.renewal_next_check", seconds=round(delay.total_seconds(), 3))
            await asyncio.sleep(delay.total_seconds())
            await self.check()

    def _set_expiries(self, expiries: list[LeafExpiry]) -> None:
        self._expiries = expiries
        soonest = earliest_expiry(expiries)
        self.state.earliest_expiry = soonest.timestamp() if soonest is not None else None

    async def check(self) -> CheckResult | None:
        """One check: renew what is due, then restart its readers one at a time."""
        now = dt.datetime.now(dt.UTC)
        self.state.last_check = time.time()
        try:
            result = await asyncio.to_thread(run_check, self.paths, self.settings, self.window, now)
        except Exception as err:  # a failed renewal must not stop the daemon: report it and retry later
            self._failed = True
            self.state.error = f"renewal failed: {getattr(err, 'message', None) or err}"
            log().error("pki.renewal_failed", error=self.state.error, hint=getattr(err, "hint", None))
            return None
        self._failed = False
        self.state.error = None
        self._set_expiries(result.expiries)
        if not result.renewed:
            return result
        self._last_renewal = now
        for name in result.renewed:
            self.state.renewals[name] = self.state.renewals.get(name, 0) + 1
        restarted = await self._restart(result.restart)
        self.state.last_renewal = time.time()
        self.state.renewed, self.state.restarted = list(result.renewed), restarted
        files = [str(self.paths.cert_dir / f"{name}.{ext}") for name in result.renewed
                 for ext in ("crt", "key")]
        log().info("pki.renewed", leaves=result.renewed, files=files, kubeconfigs=result.kubeconfigs,
                   restarted=restarted)
        return result

    async def _restart(self, names: list[str]) -> list[str]:
        """Stop, start and wait for each named component in turn; the ones restarted, in order."""
        present = {component.name: component for component in self.components()}
        restarted = []
        for name in names:
            component = present.get(name)
            if component is None:
                log().debug("pki.restart_skipped", target=name, detail="not running on this node")
                continue
            log().info("pki.restarting", target=name)
            await component.stop()
            await component.start()
            try:
                await self._wait_ready(component)
            except TimeoutError:
                self.state.error = f"{name} not ready {self.ready_timeout:g}s after its restart"
                log().error("pki.restart_not_ready", target=name, timeout=self.ready_timeout)
            restarted.append(name)
        return restarted

    async def _wait_ready(self, component: Component) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while True:
            try:
                await component.ready()
                return
            except NotReady:
                if time.monotonic() >= deadline:
                    raise TimeoutError from None
            await asyncio.sleep(READY_POLL)
