"""kine's command line (k0s pkg/component/controller/kine.go): the etcd API over SQL, on a unix socket.

kine runs as the kube-apiserver user (both must reach the socket and the SQLite file). Its metrics port is
`:2380` on every address, as in k0s; an extraArg `metrics-bind-address` moves it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from k0spy.components.flags import ComponentSpec, DirSpec, ProbeSpec, merge_extra_args, render_args
from k0spy.fsutil import KINE_DB_DIR_MODE, RUN_DIR_MODE
from k0spy.paths import Paths

if TYPE_CHECKING:
    from k0spy.config.model import ClusterConfig

KINE_USER = "kube-apiserver"
PROBE_TIMEOUT = 1.0


def data_source(cfg: ClusterConfig, paths: Paths) -> str:
    """`storage.kine.dataSource`, or k0s's default SQLite file under DATA/db."""
    kine = cfg.spec.storage.kine
    if kine is not None and kine.data_source:
        return kine.data_source
    return f"sqlite://file:{paths.kine_db_path}?mode=rwc&_journal=WAL"


def sqlite_dir(source: str) -> str | None:
    """The directory of a `sqlite://file:/abs/path?...` data source (k0s creates it), else None."""
    backend, sep, dsn = source.partition("://")
    if not sep or backend != "sqlite":
        return None
    path = dsn.removeprefix("file:").split("?", 1)[0]
    if not path.startswith("/"):
        return None
    return path.rsplit("/", 1)[0] or "/"


def kine_arg_map(cfg: ClusterConfig, paths: Paths) -> tuple[dict[str, str], tuple[str, ...]]:
    base = {
        "endpoint": data_source(cfg, paths),
        "listen-address": f"unix://{paths.kine_socket}",
        "metrics-bind-address": ":2380",
        "compact-interval": "0",
    }
    kine = cfg.spec.storage.kine
    return merge_extra_args(base, kine.extra_args if kine is not None else {})


def kine_args(cfg: ClusterConfig, paths: Paths) -> list[str]:
    args, _ = kine_arg_map(cfg, paths)
    kine = cfg.spec.storage.kine
    return render_args(args) + list(kine.raw_args if kine is not None else [])


def kine_spec(cfg: ClusterConfig, paths: Paths) -> ComponentSpec:
    _, overridden = kine_arg_map(cfg, paths)
    dirs = [DirSpec(str(paths.kine_socket_dir), RUN_DIR_MODE, KINE_USER)]
    db_dir = sqlite_dir(data_source(cfg, paths))
    if db_dir is not None:
        dirs.append(DirSpec(db_dir, KINE_DB_DIR_MODE, KINE_USER))
    return ComponentSpec(
        name="kine", component="kine", binary=str(paths.bin_dir / "kine"), args=tuple(kine_args(cfg, paths)),
        user=KINE_USER, dirs=tuple(dirs), overridden=overridden,
        probe=ProbeSpec("kine", f"unix:{paths.kine_socket}", timeout=PROBE_TIMEOUT),
    )
