"""What the join server needs to know, derived once from the runtime config (k0s cmd/api buildServer).

Bind address: `api.extraArgs["bind-address"]` if set, else `api.address` with `onlyBindToAddress`, else
every interface. `/v1beta1/ca` is mounted only when the storage is joinable, `/v1beta1/etcd/members` only
for etcd that k0s runs itself. Limits and timeouts are fields so tests can shrink them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from k0spy.errors import K0spyError
from k0spy.paths import Paths

API_VERSION = "k0s.k0sproject.io/v1beta1"
KIND = "RuntimeConfig"
# The k0s TLS 1.2 cipher list (constant.AllowedTLS12CipherSuiteIDs) in OpenSSL's names.
OPENSSL_TLS12_CIPHERS = ":".join((
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-CHACHA20-POLY1305",
))


@dataclass(frozen=True)
class EtcdAccess:
    """How the server reaches the local etcd to add members (the apiserver-etcd-client identity)."""

    url: str
    ca_file: Path
    cert_file: Path
    key_file: Path
    etcd_cert_dir: Path


@dataclass(frozen=True)
class Limits:
    """Slow and large clients: Go's 15 s read/write timeouts, a small body cap, short keep-alive."""

    read_timeout: float = 15.0
    write_timeout: float = 15.0
    handshake_timeout: float = 10.0
    keepalive_timeout: float = 5.0
    max_body: int = 64 * 1024
    shutdown_grace: float = 3.0
    # least time between two reads of one token's Secret (auth.FreshReader.spacing): bounds the load a
    # flood of joiners puts on kube-apiserver, at the cost of at most this much latency per request
    token_read_spacing: float = 0.02

    @property
    def connection_deadline(self) -> float:
        return self.read_timeout + self.write_timeout


@dataclass(frozen=True)
class JoinApiSettings:
    host: str | None
    port: int
    cert_dir: Path
    tls_cert: Path
    tls_key: Path
    admin_kubeconfig: Path
    joinable: bool
    etcd: EtcdAccess | None
    limits: Limits = field(default_factory=Limits)


def settings_from(paths: Paths, cfg: Any, *, limits: Limits | None = None) -> JoinApiSettings:
    """Settings from a validated ClusterConfig (`k0spy.config.model.ClusterConfig`) and Paths."""
    from k0spy.components.etcd import client_url

    api, storage = cfg.spec.api, cfg.spec.storage
    host = api.extra_args.get("bind-address") or (api.address if api.only_bind_to_address else "") or None
    etcd = None
    if storage.type == "etcd" and not storage.etcd.is_external():
        etcd = EtcdAccess(
            url=client_url(cfg),
            ca_file=paths.etcd_cert_dir / "ca.crt",
            cert_file=paths.cert_dir / "apiserver-etcd-client.crt",
            key_file=paths.cert_dir / "apiserver-etcd-client.key",
            etcd_cert_dir=paths.etcd_cert_dir,
        )
    return JoinApiSettings(
        host=host, port=int(api.k0s_api_port), cert_dir=paths.cert_dir,
        tls_cert=paths.cert_dir / "k0s-api.crt", tls_key=paths.cert_dir / "k0s-api.key",
        admin_kubeconfig=paths.admin_kubeconfig, joinable=bool(storage.is_joinable()), etcd=etcd,
        limits=limits or Limits(),
    )


def settings_from_runtime_config(text: str, *, limits: Limits | None = None) -> JoinApiSettings:
    """Parse the RuntimeConfig `k0spy api` reads on stdin (apiVersion/kind checked, node config required)."""
    import yaml

    from k0spy.config.load import build_cluster_config

    def bad(why: str) -> K0spyError:
        return K0spyError(f"invalid runtime config on standard input: {why}",
                          hint="`k0spy api` is started by the controller, which feeds it RUN/k0s.yaml")

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise bad(f"not YAML ({err})") from err
    if not isinstance(doc, dict) or doc.get("apiVersion") != API_VERSION or doc.get("kind") != KIND:
        raise bad(f"expected apiVersion {API_VERSION} and kind {KIND}")
    spec = doc.get("spec") or {}
    node, k0s_vars = spec.get("nodeConfig"), spec.get("k0sVars") or {}
    if not isinstance(node, dict) or not node:
        raise bad("node config missing")
    if not k0s_vars.get("DataDir"):
        raise bad("spec.k0sVars.DataDir missing")
    paths = Paths.build(k0s_vars["DataDir"], run_dir=k0s_vars.get("RunDir"),
                        status_socket=k0s_vars.get("StatusSocketPath"))
    cfg, _warnings = build_cluster_config(node, "runtime config nodeConfig", data_dir=paths.data_dir)
    return settings_from(paths, cfg, limits=limits)
