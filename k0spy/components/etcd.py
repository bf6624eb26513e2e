"""etcd's command line (k0s pkg/component/controller/etcd.go), rendered for the etcd actually staged.

k0s always passes `--tls-min-version=TLS1.2`; etcd 3.4 (what Debian ships, and what CI runs) does not know
that flag and exits 2, while it enforces TLS >= 1.2 on its own. So the renderer takes the staged etcd's
(major, minor) and leaves the flag out below 3.5, after it has served its purpose in k0s's rule "add the
TLS 1.2 cipher list unless the minimum version is TLS 1.3". Every other k0s flag exists in 3.4.

Joining an existing cluster is an input (`EtcdJoin`, from the join API), never looked up here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from k0spy.components.flags import (
    TLS12_CIPHER_SUITES,
    ComponentSpec,
    DirSpec,
    ProbeSpec,
    merge_extra_args,
    render_args,
)
from k0spy.fsutil import ETCD_CERT_DIR_MODE, ETCD_DATA_DIR_MODE
from k0spy.paths import Paths

if TYPE_CHECKING:
    from k0spy.config.model import ClusterConfig

ETCD_USER = "etcd"
DEFAULT_CLIENT_URL = "https://127.0.0.1:2379"
PEER_PORT = 2380
TLS_MIN_VERSION_SINCE = (3, 5)
PROBE_TIMEOUT = 1.0


@dataclass(frozen=True)
class EtcdJoin:
    """What the join API answered: the `name=peerURL` members of the cluster to join."""

    initial_cluster: tuple[str, ...]


def join_host_port(host: str, port: int) -> str:
    """Go's net.JoinHostPort: brackets around IPv6 literals."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def peer_url(cfg: ClusterConfig) -> str:
    """`https://<storage.etcd.peerAddress>:2380` (k0s's GetPeerURL)."""
    return f"https://{join_host_port(cfg.spec.storage.etcd.peer_address, PEER_PORT)}"


def member_name(cfg: ClusterConfig, hostname: str) -> str:
    """`extraArgs.name` when given (even empty, as k0s's `ok` test), else the host name."""
    extra = cfg.spec.storage.etcd.extra_args
    return extra.get("name", hostname)


def client_url(cfg: ClusterConfig) -> str:
    """The URL kube-apiserver and the probe use for the etcd this controller runs.

    k0s hard-codes https://127.0.0.1:2379. k0spy follows an `advertise-client-urls` extraArg (its first
    URL) so that an etcd moved off 2379 (tests on free ports, a second instance) is still reachable.
    """
    advertised = cfg.spec.storage.etcd.extra_args.get("advertise-client-urls", "")
    first = advertised.split(",")[0].strip()
    return first or DEFAULT_CLIENT_URL


def etcd_arg_map(
    cfg: ClusterConfig, paths: Paths, *, log_level: str, hostname: str, etcd_version: tuple[int, int],
    join: EtcdJoin | None = None, jwt: bool = True,
) -> tuple[dict[str, str], tuple[str, ...]]:
    """The merged map (dash-less keys) and the k0s keys extraArgs overrode."""
    certs = paths.etcd_cert_dir
    url = peer_url(cfg)
    base = {
        "data-dir": str(paths.etcd_data_dir),
        "listen-client-urls": DEFAULT_CLIENT_URL,
        "advertise-client-urls": DEFAULT_CLIENT_URL,
        "client-cert-auth": "true",
        "listen-peer-urls": url,
        "initial-advertise-peer-urls": url,
        "name": member_name(cfg, hostname),
        "tls-min-version": "TLS1.2",
        "trusted-ca-file": str(certs / "ca.crt"),
        "cert-file": str(certs / "server.crt"),
        "key-file": str(certs / "server.key"),
        "peer-trusted-ca-file": str(certs / "ca.crt"),
        "peer-key-file": str(certs / "peer.key"),
        "peer-cert-file": str(certs / "peer.crt"),
        "log-level": log_level,
        "peer-client-cert-auth": "true",
        "enable-pprof": "false",
    }
    if join is not None:
        base["initial-cluster"] = ",".join(join.initial_cluster)
        base["initial-cluster-state"] = "existing"
    if jwt:
        base["auth-token"] = (f"jwt,pub-key={certs / 'jwt.pub'},priv-key={certs / 'jwt.key'},"
                              "sign-method=RS512,ttl=10m")
    args, overridden = merge_extra_args(base, cfg.spec.storage.etcd.extra_args)
    if not args.get("cipher-suites") and args.get("tls-min-version") != "TLS1.3":
        args["cipher-suites"] = TLS12_CIPHER_SUITES
    if etcd_version < TLS_MIN_VERSION_SINCE:
        args.pop("tls-min-version", None)
    return args, overridden


def etcd_args(
    cfg: ClusterConfig, paths: Paths, *, log_level: str, hostname: str, etcd_version: tuple[int, int],
    join: EtcdJoin | None = None, jwt: bool = True,
) -> list[str]:
    """The full argument list: sorted `--k=v`, then `storage.etcd.rawArgs`. See `etcd_arg_map`."""
    args, _ = etcd_arg_map(cfg, paths, log_level=log_level, hostname=hostname, etcd_version=etcd_version,
                           join=join, jwt=jwt)
    return render_args(args) + list(cfg.spec.storage.etcd.raw_args)


def etcd_spec(
    cfg: ClusterConfig, paths: Paths, *, log_level: str, hostname: str, etcd_version: tuple[int, int],
    join: EtcdJoin | None = None, jwt: bool = True,
) -> ComponentSpec:
    args, overridden = etcd_arg_map(cfg, paths, log_level=log_level, hostname=hostname,
                                    etcd_version=etcd_version, join=join, jwt=jwt)
    return ComponentSpec(
        name="etcd", component="etcd", binary=str(paths.bin_dir / "etcd"),
        args=tuple(render_args(args) + list(cfg.spec.storage.etcd.raw_args)),
        user=ETCD_USER, keep_env_prefix=True, overridden=overridden,
        dirs=(DirSpec(str(paths.etcd_data_dir), ETCD_DATA_DIR_MODE, ETCD_USER, recursive=True),
              DirSpec(str(paths.etcd_cert_dir), ETCD_CERT_DIR_MODE, ETCD_USER, recursive=True)),
        probe=ProbeSpec("etcd", client_url(cfg), ca_file=str(paths.etcd_cert_dir / "ca.crt"),
                        cert_file=str(paths.cert_dir / "apiserver-etcd-client.crt"),
                        key_file=str(paths.cert_dir / "apiserver-etcd-client.key"), timeout=PROBE_TIMEOUT),
    )
