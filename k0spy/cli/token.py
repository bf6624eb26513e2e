"""`k0spy token create|list|invalidate`: join tokens, through the running controller's admin.conf.

Every sub-command needs the running controller: its runtime config (trusted only while the lock is
held) says which data dir, admin.conf and status socket to use. aiohttp, yaml and pydantic are imported
inside the commands.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import click

from k0spy.cli.options import common_options, configure_logging, global_options

WAIT_TRIES = 120
WAIT_INTERVAL = 1.0


def _running() -> tuple[dict[str, str], dict[str, Any]]:
    """(k0sVars, nodeConfig) of the running controller; NotRunningError otherwise."""
    from k0spy.errors import NotRunningError
    from k0spy.runtime import read_runtime_config

    paths = global_options().paths()
    doc = read_runtime_config(paths)
    if doc is None:
        raise NotRunningError("k0spy is not running",
                              hint=f"start the controller first (no daemon holds {paths.runtime_lock})")
    spec = doc.get("spec") or {}
    return dict(spec.get("k0sVars") or {}), dict(spec.get("nodeConfig") or {})


@click.group("token")
@common_options
def token() -> None:
    """Manage join tokens (bootstrap-token Secrets in kube-system)."""


def _create_once(role: str, expiry: Any) -> str:
    from k0spy.joinapi import manage
    from k0spy.status.client import get_json

    k0s_vars, node = _running()
    status = get_json(Path(k0s_vars["StatusSocketPath"]), "/status")
    manage.check_acceptable(status, role)
    api = ((status.get("ClusterConfig") or node).get("spec") or {}).get("api") or {}
    return asyncio.run(manage.create(Path(k0s_vars["AdminKubeConfigPath"]),
                                     Path(k0s_vars["CertRootDir"]) / "ca.crt", api, role, expiry))


@token.command("create")
@common_options
@click.option("--role", type=click.Choice(["worker", "controller"]), default="worker", show_default=True,
              help="Either worker or controller.")
@click.option("--expiry", default="0s", show_default=True,
              help="Expiration time of the token (Go duration, e.g. 24h, 1.5h, 10m); 0s never expires.")
@click.option("--wait", is_flag=True, help="Retry every second for two minutes until ready.")
def create(role: str, expiry: str, wait: bool) -> None:
    """Create a join token and print it (keep it secret: it lets a node join)."""
    from k0spy.config.durations import parse_go_duration
    from k0spy.errors import K0spyError

    configure_logging()
    try:
        valid_for = parse_go_duration(expiry)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--expiry") from err
    for attempt in range(WAIT_TRIES if wait else 1):
        try:
            click.echo(_create_once(role, valid_for))
            return
        except K0spyError as err:
            if not wait or err.message.startswith("refusing") or attempt == WAIT_TRIES - 1:
                raise
            time.sleep(WAIT_INTERVAL)


@token.command("list")
@common_options
@click.option("--role", type=click.Choice(["worker", "controller"]), default=None,
              help="Only tokens of this role.")
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_cmd(role: str | None, output: str) -> None:
    """List join tokens: id, role, created, expires, description (never the secret)."""
    from k0spy.joinapi import manage

    configure_logging()
    k0s_vars, _node = _running()
    tokens = asyncio.run(manage.list_(Path(k0s_vars["AdminKubeConfigPath"])))
    rows = manage.token_rows(tokens, role)
    click.echo(manage.render_json(rows) if output == "json" else manage.render_table(rows), nl=False)


@token.command("invalidate")
@common_options
@click.argument("ids", nargs=-1, required=True)
def invalidate(ids: tuple[str, ...]) -> None:
    """Invalidate (delete) join tokens by id; an unknown id is not an error."""
    from k0spy.joinapi import manage

    configure_logging()
    k0s_vars, _node = _running()
    for token_id in asyncio.run(manage.invalidate(Path(k0s_vars["AdminKubeConfigPath"]), list(ids))):
        click.echo(f"token {token_id} deleted successfully")
