"""`k0spy api`: the join server child (`k0s-control-api`), fed the runtime config on stdin.

SIGTERM and SIGINT set the stop event (nothing else happens in the handler); the server then shuts
down gracefully within 3 s, as k0s's does.
"""

from __future__ import annotations

import asyncio
import signal
import sys

import click

from k0spy.cli.options import common_options, configure_logging


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
    asyncio.run(_main(sys.stdin.read()))
