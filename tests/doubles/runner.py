"""The life of every double: parse flags, check files, honour the fault knob, serve until SIGTERM, exit.

Exit codes follow the real binaries: a flag error or a start-up failure exits 1 (cobra/klog), help and
version exit 0, SIGTERM exits 0 promptly.  Components supply `prepare` (synchronous, raises StartupError,
never listens) and `serve` (async, opens listeners, returns when the stop event is set).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiohttp import web

from . import fault as faultmod
from .flagparse import FlagError, ParsedArgs, parse
from .klog import Klog
from .tlsfiles import StartupError

T = TypeVar("T")
KUBE_VERSION = "v1.35.0"


@dataclass
class Component(Generic[T]):
    """What a double plugs into the runner."""

    name: str
    source: str
    prepare: Callable[[ParsedArgs, Klog], T]
    serve: Callable[[T, asyncio.Event, Klog], Coroutine[Any, Any, None]]
    version_text: str = f"Kubernetes {KUBE_VERSION}"
    log_style: str = "klog"


def _flag_error(comp: Component[Any], message: str) -> int:
    if comp.name == "kine":
        sys.stderr.write(f"Incorrect Usage: {message}\n\n")
        Klog(comp.source, style="logrus").error(message)
    elif comp.name == "kubelet":
        Klog(comp.source).error("Failed to parse kubelet flag", err=message)
    else:
        sys.stderr.write(
            f"Error: {message}\nUsage:\n  {comp.name} [flags]\n\nRun '{comp.name} --help' "
            "for the flag list (this is a k0spy test double).\n"
        )
    return 1


def _usage(comp: Component[Any]) -> str:
    from .flagparse import load_flag_names

    lines = [f"Usage:\n  {comp.name} [flags]\n\n(k0spy test double of {comp.name})\n\nFlags:"]
    lines += [f"      --{name}" for name, deprecated in load_flag_names(comp.name).items() if not deprecated]
    return "\n".join(lines) + "\n"


def main(comp: Component[T], argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    try:
        args = parse(comp.name, args_in)
    except FlagError as err:
        return _flag_error(comp, err.message)
    if args.bool("help"):
        sys.stdout.write(_usage(comp))
        return 0
    if args.has("version") and args.get("version") not in ("false", "0"):
        sys.stdout.write(comp.version_text + "\n")
        return 0
    if args.positional:
        return _flag_error(comp, f'"{comp.name}" does not take any arguments, got {args.positional!r}')
    try:
        injected = faultmod.fault_for(comp.name)
    except ValueError as err:
        sys.stderr.write(f"{err}\n")
        return 2
    verbosity = int(args.get("v", "0") or 0) if comp.name != "kine" else (2 if args.bool("debug") else 0)
    log = Klog(comp.source, verbosity, style=comp.log_style)
    try:
        prepared = comp.prepare(args, log)
    except StartupError as err:
        return _startup_failed(comp, log, err)
    if injected is not None and injected.kind == "crash":
        log.error("Injected fault: crashing at start-up", env=faultmod.ENV)
        return 1
    return asyncio.run(_run(comp, prepared, log, injected))


def _startup_failed(comp: Component[Any], log: Klog, err: StartupError) -> int:
    log.error(err.context or "Error starting " + comp.name, err=err.message)
    if comp.name not in ("kine", "kubelet"):
        sys.stderr.write(f"Error: {err.message}\n")
    return 1


async def _run(comp: Component[T], prepared: T, log: Klog, injected: faultmod.Fault | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    kind = injected.kind if injected else ""
    if kind == "hang":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        loop.add_signal_handler(signal.SIGINT, stop.set)
    else:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    if kind in ("slow-start", "stall"):
        log.info("Injected fault: delaying start-up", fault=kind, seconds=injected.seconds if injected else 0)
        delay = None if kind == "stall" else (injected.seconds if injected else 0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        if stop.is_set():
            return 0
    serving = asyncio.create_task(comp.serve(prepared, stop, log))
    crash_after = injected.seconds if kind == "crash-after" and injected else None
    done, _ = await asyncio.wait({serving}, timeout=crash_after)
    if not done:
        log.error("Injected fault: crashing", env=faultmod.ENV)
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await serving
        return 1
    try:
        serving.result()
    except StartupError as err:
        return _startup_failed(comp, log, err)
    log.info("Shutdown complete")
    return 0


async def start_site(runner: web.AppRunner, host: str, port: int, ssl_ctx: Any = None) -> web.TCPSite:
    """Open one listener; a bind failure reads like Go's net.Listen error."""
    site = web.TCPSite(runner, host or None, port, ssl_context=ssl_ctx, shutdown_timeout=0.5)
    try:
        await site.start()
    except OSError as err:
        shown = f"{host or '0.0.0.0'}:{port}"
        reason = "bind: address already in use" if err.errno == 98 else (err.strerror or str(err))
        raise StartupError(f"failed to listen on {shown}: listen tcp {shown}: {reason}") from None
    return site


async def app_runner(app: web.Application) -> web.AppRunner:
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    return runner


def split_host_port(addr: str, default_port: int) -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep:
        return addr, default_port
    return host.strip("[]"), int(port)
