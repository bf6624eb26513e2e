"""`k0spy api`: the join server child (`k0s-control-api`), fed the runtime config on stdin.

SIGTERM and SIGINT set the stop event (nothing else happens in the handler); the server then shuts
down gracefully within 3 s, as k0s's does.

The event loop is uvloop's when it is importable, asyncio's otherwise (the `loop` field of
`api.listening` says which). Why only here: every join request is a new TLS connection, and uvloop's
transport (Cython on libuv) spends about 6 % less CPU per connection than asyncio's pure-Python one
(BENCHMARKS.md, join_bench; the handshake itself is OpenSSL's work on either loop). The supervisor daemon
keeps asyncio's loop: it serves no traffic that would gain from it.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable

import click

from k0spy.cli.options import common_options, configure_logging

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def loop_factory() -> tuple[str, LoopFactory]:
    """(name, factory) of the event loop for the join server: uvloop if it imports, else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return "asyncio", asyncio.new_event_loop
    return "uvloop", uvloop.new_event_loop


async def _main(text: str) -> None:
    from k0spy.joinapi.run import serve
    from k0spy.joinapi.settings import settings_from_runtime_config

    settings = settings_from_runtime_config(text)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop)


@click.command("api")
@common_options
def api() -> None:
    """Run the controller join API (reads the runtime configuration from standard input)."""
    configure_logging(daemon=True)
    _name, factory = loop_factory()
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(_main(sys.stdin.read()))
