"""One supervised child: spawn, forward output, restart with backoff, stop without leaving orphans.

Lifecycle (see `state`): `start()` takes over (terminates) a stale child named by the pid file, spawns the
first child and returns once it runs; a failing first exec is an error for the caller (as in k0s). A
background task then owns the child: every exit is logged in words, the pid file is removed, and the
child is respawned after `BackoffPolicy.next_delay`. `stop()` (idempotent, any state) asks that task to
stop: SIGTERM to the child, up to `stop_timeout`, then SIGKILL to its whole process group; the task is the
only code that spawns or signals, so a stop can never race a respawn. Cancelling the task stops the child
too: nothing is orphaned by an exception. `kill()` is the "second signal" path: SIGKILL to the process
group at once, the ordered stop then finds nothing left to wait for.

Each child gets its own session (so terminal and group signals aimed at the daemon do not reach it), cwd =
the data dir, stdin from /dev/null or the given bytes, the environment of `env.build_env`, and, when the
daemon runs as root and the component has a system user, that uid with gid 0 and no supplementary groups
(plus CAP_NET_BIND_SERVICE through `setpriv` for one that binds a port below 1024, see privileges.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from k0spy.errors import K0spyError
from k0spy.log import get_logger
from k0spy.supervisor.backoff import DEFAULT_BACKOFF, BackoffPolicy
from k0spy.supervisor.child import Child, kill_group
from k0spy.supervisor.env import build_env
from k0spy.supervisor.exits import describe_exit, exit_fields
from k0spy.supervisor.history import History
from k0spy.supervisor.output import BatchRenderer
from k0spy.supervisor.pidfile import PIDFILE_MARKER, remove_pid, terminate_stale, write_pid
from k0spy.supervisor.privileges import setpriv_argv
from k0spy.supervisor.state import ProcessState, check_transition

PIPE_DRAIN_TIMEOUT = 2.0


@dataclass(frozen=True)
class ProcessSpec:
    """What to run and how; built by a component, never changed while running."""

    name: str
    argv: tuple[str, ...]
    data_dir: Path
    pid_file: Path
    stdin: bytes | None = None
    uid: int | None = None
    gid: int | None = None
    keep_env_prefix: bool = False
    stop_timeout: float = 5.0
    backoff: BackoffPolicy = DEFAULT_BACKOFF
    environ: Mapping[str, str] | None = None
    ready_on_spawn: bool = True
    # run through `setpriv` with CAP_NET_BIND_SERVICE ambient when dropped to `uid` (privileges.py)
    setpriv: str | None = None


@dataclass(frozen=True)
class ProcessStatus:
    """A frozen snapshot for status and metrics; times are wall-clock epoch seconds."""

    name: str
    state: str
    pid: int | None
    started_at: float | None
    restarts: int
    last_exit: str | None
    last_exit_at: float | None
    backoff: float | None
    next_restart_at: float | None
    probe_ok: bool | None
    probe_message: str | None
    probe_at: float | None
    argv: tuple[str, ...] = field(default=())

    def uptime(self, now: float | None = None) -> float | None:
        if self.started_at is None or self.pid is None:
            return None
        return max(0.0, (now or time.time()) - self.started_at)


class SupervisedProcess:
    """Supervises one child described by a ProcessSpec; see the module docstring."""

    def __init__(self, spec: ProcessSpec, renderer: BatchRenderer | None = None,
                 rng: random.Random | None = None) -> None:
        self.spec = spec
        self.renderer = renderer or BatchRenderer()
        self.log = get_logger(component=spec.name)
        self._rng = rng or random.Random()
        self._state = ProcessState.STOPPED
        self._child: Child | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._drains: set[asyncio.Task[None]] = set()
        self.restarts = 0
        self.spawns = 0
        self.last_exit: str | None = None
        self.last_exit_at: float | None = None
        self.backoff: float | None = None
        self.next_restart_at: float | None = None
        self.probe: tuple[bool, str, float] | None = None
        self.first_spawned_mono: float | None = None
        self._env: dict[str, str] | None = None
        self.history = History()

    # --- state ------------------------------------------------------------------------------------
    @property
    def state(self) -> ProcessState:
        return self._state

    def _set(self, new: ProcessState, **fields: Any) -> None:
        old = self._state
        check_transition(old, new)
        self._state = new
        if old is not new:
            self.log.debug("process.state", old=old.value, new=new.value, **fields)
            self.history.event(time.time(), "state", **{"from": old.value, "to": new.value}, **fields)

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.pid if child is not None and not child.exited.done() else None

    def status(self) -> ProcessStatus:
        child, probe = self._child, self.probe
        return ProcessStatus(
            name=self.spec.name, state=self._state.value, pid=self.pid,
            started_at=child.started_wall if child is not None and self.pid else None,
            restarts=self.restarts, last_exit=self.last_exit, last_exit_at=self.last_exit_at,
            backoff=self.backoff if self._state is ProcessState.BACKOFF else None,
            next_restart_at=self.next_restart_at if self._state is ProcessState.BACKOFF else None,
            probe_ok=probe[0] if probe else None, probe_message=probe[1] if probe else None,
            probe_at=probe[2] if probe else None, argv=self.spec.argv,
        )

    def record_probe(self, ok: bool, message: str) -> None:
        """Store a readiness probe result; moves running <-> ready while a child is up."""
        self.probe = (ok, message, time.time())
        self.history.probe(ok, message, self.probe[2])
        if ok and self._state is ProcessState.RUNNING:
            self._set(ProcessState.READY)
        elif not ok and self._state is ProcessState.READY:
            self._set(ProcessState.RUNNING, reason=message)

    # --- spawning ---------------------------------------------------------------------------------
    def _launch(self) -> tuple[tuple[str, ...], dict[str, Any]]:
        """(argv, Popen keyword arguments); as root with a uid, either Popen or `setpriv` drops to it."""
        spec = self.spec
        if self._env is None:  # built once: about 0.1 ms that would otherwise sit on every restart's path
            self._env = build_env(spec.environ if spec.environ is not None else os.environ, spec.data_dir,
                                  spec.name, keep_prefix=spec.keep_env_prefix)
            self._env[PIDFILE_MARKER] = str(spec.pid_file)
        env = self._env
        kwargs: dict[str, Any] = {
            "stdin": subprocess.PIPE if spec.stdin is not None else subprocess.DEVNULL,
            "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "cwd": spec.data_dir, "env": env,
            "start_new_session": True,
        }
        if os.geteuid() != 0 or spec.uid is None:
            return spec.argv, kwargs
        gid = spec.gid if spec.gid is not None else 0
        if spec.setpriv is not None:
            return setpriv_argv(spec.setpriv, spec.argv, spec.uid, gid), kwargs
        kwargs.update(user=spec.uid, group=gid, extra_groups=[])
        return spec.argv, kwargs

    async def _spawn(self, previous: Child | None = None) -> Child:
        """Spawn a child; `previous`, an exited child not yet reported, is reported right after the spawn."""
        loop = asyncio.get_running_loop()
        child = Child(self.spec.name, self.renderer, loop)
        argv, kwargs = self._launch()
        transport, _ = await loop.subprocess_exec(lambda: child, *argv, **kwargs)
        child.pid = transport.get_pid()
        child.started_mono, child.started_wall = time.monotonic(), time.time()
        if self.spec.stdin is not None:
            pipe = transport.get_pipe_transport(0)
            assert isinstance(pipe, asyncio.WriteTransport)
            pipe.write(self.spec.stdin)
            pipe.close()
        self._child = child
        self.spawns += 1
        if self.first_spawned_mono is None:
            self.first_spawned_mono = child.started_mono
        try:
            write_pid(self.spec.pid_file, child.pid)
        except OSError as err:
            self.log.error("pidfile.write_failed", pid=child.pid, error=str(err))
        if previous is not None:
            self._report_exit(previous, respawned=True)
        self._set(ProcessState.READY if self.spec.ready_on_spawn else ProcessState.RUNNING)
        self.log.info("process.started", pid=child.pid, restart=self.restarts)
        return child

    async def start(self) -> None:
        """Take over a stale child, spawn the first child, and leave a task supervising it."""
        if self._task is not None and not self._task.done():
            return
        spec = self.spec
        self._stop = asyncio.Event()
        self._set(ProcessState.STARTING)
        await terminate_stale(spec.pid_file, spec.argv[0], spec.name, spec.stop_timeout)
        try:
            child = await self._spawn()
        except OSError as err:
            self._set(ProcessState.FAILED)
            raise K0spyError(
                f"starting {spec.name}: cannot execute {spec.argv[0]}: {err.strerror or err}",
                hint="check that the binary exists and is executable",
            ) from err
        self._task = asyncio.create_task(self._supervise(child), name=f"supervise:{spec.name}")
        self._task.add_done_callback(self._last_resort)
        await asyncio.sleep(0)  # let the task enter its try block: cancelling it now still stops the child

    def _last_resort(self, task: asyncio.Task[None]) -> None:
        """The supervising task ended with a child still alive (it was cancelled before it ran): kill it."""
        child = self._child
        if child is not None and not child.exited.done():
            self.log.warning("process.killed_on_cancel", pid=child.pid)
            kill_group(child.pid)

    # --- the supervising task ---------------------------------------------------------------------
    async def _supervise(self, child: Child | None) -> None:
        assert self._stop is not None
        policy, attempt = self.spec.backoff, 0
        unreported: Child | None = None  # exited, reported once its successor runs (or in `finally`)
        try:
            while True:
                if child is not None:
                    if await self._exit_or_stop(child):
                        await self._terminate(child)
                        return
                    attempt = policy.next_attempt(attempt, time.monotonic() - child.started_mono)
                    self._reaped(child)
                delay = policy.next_delay(attempt, self._rng)
                attempt += 1
                # An immediate restart reports the exit (log line, pid file, pipe drain: ~0.3 ms) only
                # once the new child runs; a delayed one reports it now.
                unreported = child if delay <= 0 else None
                if child is not None and unreported is None:
                    self._report_exit(child)
                self.backoff, self.next_restart_at = delay, time.time() + delay
                self._set(ProcessState.BACKOFF, delay=delay)
                if delay > 0:
                    self.log.info("process.backoff", delay=round(delay, 3), attempt=attempt)
                if await self._sleep_or_stop(delay):
                    return
                self._set(ProcessState.STARTING)
                self.restarts += 1
                try:
                    child = await self._spawn(unreported)  # reports `unreported` once the new child runs
                    unreported = None
                except OSError as err:
                    if unreported is not None:
                        self._report_exit(unreported)
                        unreported = None
                    child = None
                    self.last_exit, self.last_exit_at = f"exec failed: {err.strerror or err}", time.time()
                    self.log.error("process.exec_failed", error=str(err), restart=self.restarts)
        except asyncio.CancelledError:
            if self._child is not None and not self._child.exited.done():
                await self._terminate(self._child)
            raise
        finally:
            if unreported is not None:  # stopped in the instant before its successor was spawned
                self._report_exit(unreported)
            self.backoff = self.next_restart_at = None
            if self._state is not ProcessState.STOPPED:
                if self._state is not ProcessState.STOPPING and self._state.alive:
                    self._set(ProcessState.STOPPING)
                self._set(ProcessState.STOPPED)

    async def _exit_or_stop(self, child: Child) -> bool:
        """Wait for the child to exit (False) or for a stop request (True)."""
        assert self._stop is not None
        stop: asyncio.Future[Any] = asyncio.ensure_future(self._stop.wait())
        waiters: set[asyncio.Future[Any]] = {child.exited, stop}
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        return not child.exited.done()

    async def _sleep_or_stop(self, delay: float) -> bool:
        assert self._stop is not None
        if self._stop.is_set():
            return True
        if delay <= 0:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)
        return self._stop.is_set()

    def _reaped(self, child: Child) -> None:
        """What must happen before anything is respawned: the exit recorded, the orphans killed.

        The group is killed before a respawn because the old PID (and so its group id) may be reused by
        the new child once the old one is reaped.
        """
        rc = child.returncode
        assert rc is not None
        self.last_exit, self.last_exit_at = describe_exit(rc), time.time()
        child.uptime = round(time.monotonic() - child.started_mono, 3)
        kill_group(child.pid)  # anything left in the child's process group is an orphan of ours

    def _report_exit(self, child: Child, *, respawned: bool = False) -> None:
        """The exit in words, the pid file removed and the pipes drained (the group: see `_reaped`).

        `respawned=True` once a new child runs: its pid file has already replaced the old one.
        """
        rc = child.returncode
        assert rc is not None
        how = describe_exit(rc)
        self.log.warning("process.exited", pid=child.pid, how=how, uptime=child.uptime, **exit_fields(rc))
        self.history.event(time.time(), "exited", pid=child.pid, how=how)
        if not respawned:
            remove_pid(self.spec.pid_file, child.pid)
        self._drain_later(child)

    def _cleanup(self, child: Child) -> None:
        """After a stop: no survivor in the group, no pid file, the pipes drained."""
        kill_group(child.pid)
        remove_pid(self.spec.pid_file, child.pid)
        self._drain_later(child)

    def _drain_later(self, child: Child) -> None:
        task = asyncio.create_task(self._drain(child))
        self._drains.add(task)
        task.add_done_callback(self._drains.discard)

    async def _drain(self, child: Child) -> None:
        """Let the pipes deliver their last lines, then close the transport (no leaked fds)."""
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(child.closed), PIPE_DRAIN_TIMEOUT)
        if child.transport is not None:
            child.transport.close()

    async def _terminate(self, child: Child) -> None:
        """SIGTERM, wait `stop_timeout`, SIGKILL the process group; always waits for the reap."""
        self._set(ProcessState.STOPPING)
        timeout = self.spec.stop_timeout
        if not child.exited.done():
            self.log.info("process.stopping", pid=child.pid, timeout=timeout)
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(child.exited), timeout)
            except TimeoutError:
                self.log.warning("process.stop_timeout", pid=child.pid, timeout=timeout)
                kill_group(child.pid)
            await asyncio.shield(child.exited)
        rc = child.returncode
        self.last_exit, self.last_exit_at = describe_exit(rc), time.time()
        self.log.info("process.stopped", pid=child.pid, how=self.last_exit)
        self._cleanup(child)
        await asyncio.gather(*self._drains, return_exceptions=True)
        self._set(ProcessState.STOPPED)

    # --- stopping ---------------------------------------------------------------------------------
    async def stop(self) -> None:
        """Stop supervising and stop the child; safe in any state and more than once."""
        if self._stop is not None:
            self._stop.set()
        task = self._task
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)
        if self._drains:
            await asyncio.gather(*self._drains, return_exceptions=True)
        if self._state is not ProcessState.STOPPED:
            if self._state is not ProcessState.STOPPING and self._state is not ProcessState.FAILED:
                self._set(ProcessState.STOPPING)
            self._set(ProcessState.STOPPED)

    def kill(self) -> None:
        """Stop at once: SIGKILL the child's process group and request the stop (second signal)."""
        if self._stop is not None:
            self._stop.set()
        pid = self.pid
        if pid is not None:
            kill_group(pid)
