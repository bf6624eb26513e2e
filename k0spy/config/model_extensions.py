"""spec.extensions: Helm repositories and charts k0s installs (k0s extensions.go)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from k0spy.config.model_base import CompatDuration, K0sModel


class Repository(K0sModel):
    k0s_always = frozenset({"name", "url"})

    name: str = ""
    url: str = ""
    insecure: bool | None = None
    ca_file: str = Field("", alias="caFile")
    cert_file: str = Field("", alias="certFile")
    key_file: str = Field("", alias="keyfile")
    username: str = ""
    password: str = ""


class Chart(K0sModel):
    k0s_always = frozenset({"name", "chartname", "namespace", "timeout"})

    name: str = ""
    chart_name: str = Field("", alias="chartname")
    version: str = ""
    values: str = ""
    target_ns: str = Field("", alias="namespace")
    timeout: CompatDuration = timedelta(0)
    force_upgrade: bool | None = Field(None, alias="forceUpgrade")
    order: int = 0


class HelmExtensions(K0sModel):
    concurrency_level: int = Field(5, alias="concurrencyLevel")
    repositories: list[Repository] = Field(default_factory=list)
    charts: list[Chart] = Field(default_factory=list)


class StorageExtension(K0sModel):
    """Deprecated (k0s ignores it); still accepted so that old files load."""

    type: str = ""
    create_default_storage_class: bool = Field(False, alias="create_default_storage_class")


class ClusterExtensions(K0sModel):
    storage: StorageExtension | None = None
    helm: HelmExtensions = Field(default_factory=HelmExtensions)
