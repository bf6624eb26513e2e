"""What a config's spec.storage means for backup and restore, decided once, purely.

etcd: the member k0s runs (client URL https://127.0.0.1:2379 unless etcd's extraArgs move it, peer URL
https://<peerAddress>:2380). kine: a SQLite file can be copied; other kine backends are the operator's
job (k0s warns and goes on without the database). External etcd is refused, as k0s refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from k0spy.backup.etcd_snapshot import DEFAULT_ENDPOINT
from k0spy.backup.kine import sqlite_path
from k0spy.errors import K0spyError

if TYPE_CHECKING:
    from k0spy.config.model import ClusterConfig

PEER_PORT = 2380


@dataclass(frozen=True)
class StoragePlan:
    kind: str  # "etcd", "kine" or "none" (a kine backend other than SQLite)
    etcd_endpoint: str = DEFAULT_ENDPOINT
    peer_address: str = ""
    kine_db: Path | None = None
    note: str = ""
    advertise_peer_url: str = ""  # etcd extraArgs initial-advertise-peer-urls, when set

    @property
    def peer_url(self) -> str:
        """The restored member's URL: k0s's `https://<peerAddress>:2380` unless extraArgs moved it."""
        if self.advertise_peer_url:
            return self.advertise_peer_url
        host = f"[{self.peer_address}]" if ":" in self.peer_address else self.peer_address
        return f"https://{host}:{PEER_PORT}"


def external_etcd_error(action: str) -> K0spyError:
    return K0spyError(
        f"k0spy {action} does not support an external etcd cluster "
        "(spec.storage.etcd.externalCluster is set)",
        hint="back up and restore the external cluster with its own tools (etcdctl snapshot save/restore)",
    )


def _first_url(extra_args: dict[str, str], *keys: str) -> str:
    for key in keys:
        value = extra_args.get(key, "")
        if value:
            return value.split(",")[0].strip()
    return ""


def storage_plan(config: ClusterConfig, data_dir: Path, action: str) -> StoragePlan:
    """The plan for `action` ("backup" or "restore"); K0spyError for external etcd."""
    storage = config.spec.storage
    if storage.type == "etcd":
        if storage.etcd.is_external():
            raise external_etcd_error(action)
        extra = dict(storage.etcd.extra_args)
        client = _first_url(extra, "advertise-client-urls", "listen-client-urls") or DEFAULT_ENDPOINT
        peer = storage.etcd.peer_address or "127.0.0.1"
        return StoragePlan("etcd", etcd_endpoint=client, peer_address=peer,
                           advertise_peer_url=_first_url(extra, "initial-advertise-peer-urls"))
    source = storage.kine.data_source if storage.kine is not None else ""
    path = sqlite_path(source, data_dir)
    if path is None:
        backend = source.partition("://")[0] or "unknown"
        return StoragePlan("none", note=f"the {backend!r} kine data source is not part of the backup: "
                                        f"{action} it by hand")
    return StoragePlan("kine", kine_db=path)
