"""The ClusterConfig root: `apiVersion`, `kind`, `metadata`, `spec` (k0s clusterconfig_types.go).

`default_cluster_config()` is k0s's DefaultClusterConfig(): the address is detected on this host unless
given. Instances are frozen; `to_k0s_dict()` gives the camelCase dict k0s would serialise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from k0spy.config.model_api import APISpec
from k0spy.config.model_base import K0sModel, StrMap
from k0spy.config.model_extensions import ClusterExtensions
from k0spy.config.model_images import ClusterImages, default_cluster_images
from k0spy.config.model_misc import (
    ClusterTelemetry,
    ControllerManagerSpec,
    FeatureGate,
    InstallSpec,
    KonnectivitySpec,
    MetricsServer,
    SchedulerSpec,
    WorkerProfile,
)
from k0spy.config.model_network import Network
from k0spy.config.model_storage import EtcdConfig, KineConfig, StorageSpec, default_kine_data_source

API_VERSION = "k0s.k0sproject.io/v1beta1"
KIND = "ClusterConfig"
DEFAULT_DATA_DIR = Path("/var/lib/k0s")


class ObjectMeta(K0sModel):
    """Kubernetes object metadata; k0s decodes it strictly, so only its real fields are allowed."""

    name: str = ""
    generate_name: str = Field("", alias="generateName")
    namespace: str = ""
    self_link: str = Field("", alias="selfLink")
    uid: str = ""
    resource_version: str = Field("", alias="resourceVersion")
    generation: int = 0
    creation_timestamp: str | None = Field(None, alias="creationTimestamp")
    deletion_timestamp: str | None = Field(None, alias="deletionTimestamp")
    deletion_grace_period_seconds: int | None = Field(None, alias="deletionGracePeriodSeconds")
    labels: StrMap = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)
    owner_references: list[Any] = Field(default_factory=list, alias="ownerReferences")
    finalizers: list[str] = Field(default_factory=list)
    managed_fields: list[Any] = Field(default_factory=list, alias="managedFields")


class ClusterConfigStatus(K0sModel):
    """Empty in k0s: any key under `status` is an unknown field."""


class ClusterSpec(K0sModel):
    """Every section is present after loading (k0s fills missing ones with defaults) but metricsServer."""

    api: APISpec = Field(default_factory=APISpec)
    controller_manager: ControllerManagerSpec = Field(
        default_factory=ControllerManagerSpec, alias="controllerManager"
    )
    scheduler: SchedulerSpec = Field(default_factory=SchedulerSpec)
    storage: StorageSpec = Field(default_factory=StorageSpec)
    network: Network = Field(default_factory=Network)
    worker_profiles: list[WorkerProfile] = Field(default_factory=list, alias="workerProfiles")
    telemetry: ClusterTelemetry = Field(default_factory=ClusterTelemetry)
    install_config: InstallSpec = Field(default_factory=InstallSpec, alias="installConfig")
    images: ClusterImages = Field(default_factory=ClusterImages)
    extensions: ClusterExtensions = Field(default_factory=ClusterExtensions)
    konnectivity: KonnectivitySpec = Field(default_factory=KonnectivitySpec)
    feature_gates: list[FeatureGate] = Field(default_factory=list, alias="featureGates")
    metrics_server: MetricsServer | None = Field(None, alias="metricsServer")

    def feature_gates_for(self, component: str) -> list[str]:
        """`Name=true` strings of the gates that apply to `component`, in file order."""
        out = []
        for gate in self.feature_gates:
            value = gate.enabled_for(component)
            if value is not None:
                out.append(f"{gate.name}={'true' if value else 'false'}")
        return out

    def feature_gate_enabled(self, name: str, component: str = "kube-apiserver") -> bool:
        return any(g.name == name and g.enabled_for(component) for g in self.feature_gates)


class ClusterConfig(K0sModel):
    k0s_always = frozenset({"metadata"})

    api_version: str = Field("", alias="apiVersion")
    kind: str = ""
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ClusterSpec = Field(default_factory=ClusterSpec)
    status: ClusterConfigStatus | None = None

    def feature_gates_for(self, component: str) -> list[str]:
        """Shortcut for `spec.feature_gates_for`: `["Name=true", ...]` for `component`."""
        return self.spec.feature_gates_for(component)

    def to_k0s_dict(self, include_images: bool = True) -> dict[str, Any]:
        """camelCase dict as k0s serialises it; without images as `k0s config create` prints it."""
        out = super().to_k0s_dict()
        if not include_images and "spec" in out:
            out["spec"].pop("images", None)
            nllb = out["spec"].get("network", {}).get("nodeLocalLoadBalancing", {})
            for proxy in ("envoyProxy", "traefik"):
                if isinstance(nllb.get(proxy), dict):
                    nllb[proxy].pop("image", None)
        return out


def default_storage(address: str, *, single: bool = False, data_dir: Path = DEFAULT_DATA_DIR) -> StorageSpec:
    if single:
        return StorageSpec(type="kine", kine=KineConfig(data_source=default_kine_data_source(str(data_dir))))
    return StorageSpec(type="etcd", etcd=EtcdConfig(peer_address=address))


def default_cluster_spec(
    address: str, *, single: bool = False, data_dir: Path = DEFAULT_DATA_DIR
) -> ClusterSpec:
    return ClusterSpec(
        api=APISpec(address=address),
        controller_manager=ControllerManagerSpec(),
        scheduler=SchedulerSpec(),
        storage=default_storage(address, single=single, data_dir=data_dir),
        network=Network(),
        telemetry=ClusterTelemetry(),
        install_config=InstallSpec(),
        images=default_cluster_images(),
        extensions=ClusterExtensions(),
        konnectivity=KonnectivitySpec(),
    )


def default_cluster_config(
    address: str | None = None, *, single: bool = False, data_dir: Path = DEFAULT_DATA_DIR
) -> ClusterConfig:
    """k0s's DefaultClusterConfig(); `address` defaults to the first public address of this host."""
    if address is None:
        from k0spy.config.address import first_public_address

        address = first_public_address()
    return ClusterConfig(
        api_version=API_VERSION,
        kind=KIND,
        metadata=ObjectMeta(name="k0s", namespace="kube-system"),
        spec=default_cluster_spec(address, single=single, data_dir=data_dir),
    )


__all__ = ["API_VERSION", "KIND", "ClusterConfig", "ClusterSpec", "ObjectMeta", "default_cluster_config"]
