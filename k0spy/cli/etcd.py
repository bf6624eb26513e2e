"""`k0spy etcd member-list|leave`: the running controller's etcd cluster membership.

Both need the running controller (its runtime config names the data dir and the node config) and talk
to its etcd with the apiserver-etcd-client certificate. aiohttp and pydantic load inside the commands.
"""

from __future__ import annotations

import asyncio
from typing import Any

import click

from k0spy.cli.options import common_options, configure_logging, global_options


def _access() -> tuple[Any, Any]:
    """(EtcdAccess, ClusterConfig) of the running controller's internal etcd."""
    from k0spy.config.load import build_cluster_config
    from k0spy.errors import K0spyError, NotRunningError
    from k0spy.joinapi.settings import settings_from
    from k0spy.paths import Paths
    from k0spy.runtime import read_runtime_config

    paths = global_options().paths()
    doc = read_runtime_config(paths)
    if doc is None:
        raise NotRunningError("k0spy is not running",
                              hint=f"start the controller first (no daemon holds {paths.runtime_lock})")
    spec = doc.get("spec") or {}
    k0s_vars = spec.get("k0sVars") or {}
    running = Paths.build(k0s_vars.get("DataDir", str(paths.data_dir)), run_dir=k0s_vars.get("RunDir"),
                          status_socket=k0s_vars.get("StatusSocketPath"))
    cfg, _ = build_cluster_config(spec.get("nodeConfig") or {}, "runtime config nodeConfig",
                                  data_dir=running.data_dir)
    access = settings_from(running, cfg).etcd
    if access is None:
        raise K0spyError("this controller does not run etcd itself (kine or external etcd storage)",
                         hint="etcd membership is managed only for k0s-managed etcd")
    return access, cfg


@click.group("etcd")
@common_options
def etcd() -> None:
    """Manage the etcd cluster of the running controller."""


@etcd.command("member-list")
@common_options
def member_list() -> None:
    """Print the etcd members as JSON: {"members": {name: peerURL}}."""
    import json

    from k0spy.etcd.members import list_members, members_doc

    configure_logging()
    access, _ = _access()
    click.echo(json.dumps(members_doc(asyncio.run(list_members(access)))))


@etcd.command("leave")
@click.option("--peer-address", default=None, metavar="ADDR",
              help="Peer address (or peer URL) of the member to remove [default: this node's].")
@common_options
def leave(peer_address: str | None) -> None:
    """Remove this node (or the member with --peer-address) from the etcd cluster."""
    from k0spy.etcd.members import peer_url_of, remove_member
    from k0spy.roles.join import configured_peer_url

    configure_logging()
    access, cfg = _access()
    url = peer_url_of(peer_address) if peer_address else configured_peer_url(cfg)
    member = asyncio.run(remove_member(access, url))
    click.echo(f"etcd member {member.name or member.id} ({url}) removed from the cluster")
