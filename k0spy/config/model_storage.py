"""spec.storage: etcd (managed or external) or kine (k0s pkg/apis/k0s/v1beta1/storage.go)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import Field

from k0spy.config.model_api import CA
from k0spy.config.model_base import K0sModel, StrMap

StorageType = Literal["etcd", "kine"]


class ExternalCluster(K0sModel):
    """An etcd cluster k0s does not run: endpoints, key prefix and optional client TLS."""

    k0s_always = frozenset({"endpoints"})

    endpoints: list[str] | None = None
    etcd_prefix: str = Field("", alias="etcdPrefix")
    ca_file: str = Field("", alias="caFile")
    client_cert_file: str = Field("", alias="clientCertFile")
    client_key_file: str = Field("", alias="clientKeyFile")

    def has_all_tls(self) -> bool:
        return bool(self.ca_file and self.client_cert_file and self.client_key_file)


class EtcdConfig(K0sModel):
    external_cluster: ExternalCluster | None = Field(None, alias="externalCluster")
    peer_address: str = Field("", alias="peerAddress")
    extra_args: StrMap = Field(default_factory=dict, alias="extraArgs")
    raw_args: list[str] = Field(default_factory=list, alias="rawArgs")
    ca: CA = Field(default_factory=CA)

    def is_external(self) -> bool:
        return self.external_cluster is not None


class KineConfig(K0sModel):
    data_source: str = Field("", alias="dataSource")
    extra_args: StrMap = Field(default_factory=dict, alias="extraArgs")
    raw_args: list[str] = Field(default_factory=list, alias="rawArgs")

    def is_joinable(self) -> bool:
        """Another controller can share this kine: not sqlite, not an embedded NATS."""
        backend, sep, _dsn = self.data_source.partition("://")
        if not sep or not backend or backend == "sqlite":
            return False
        if backend == "nats":
            return "noEmbed" in parse_qs(urlsplit(self.data_source).query, keep_blank_values=True)
        return True


class StorageSpec(K0sModel):
    k0s_custom_decoder = True

    etcd: EtcdConfig = Field(default_factory=EtcdConfig)
    kine: KineConfig | None = None
    type: str = "etcd"

    def is_joinable(self) -> bool:
        if self.type == "etcd":
            return True
        if self.type == "kine":
            return self.kine is not None and self.kine.is_joinable()
        return False


def default_kine_data_source(data_dir: str) -> str:
    """sqlite in DATA/db/state.db, as k0s's DefaultKineConfig."""
    return f"sqlite://file:{data_dir.rstrip('/')}/db/state.db?mode=rwc&_journal=WAL"
