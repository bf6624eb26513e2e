"""The small strict sections of spec: components' args, feature gates, worker profiles, telemetry,
install users, konnectivity and metrics-server (k0s clusterconfig_types.go, feature_gates.go, ...)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from k0spy.config.model_base import Int32, K0sModel, StrMap
from k0spy.config.model_patches import Patch

KUBERNETES_COMPONENTS = (
    "kube-apiserver",
    "kube-controller-manager",
    "kubelet",
    "kube-scheduler",
    "kube-proxy",
)


class ControllerManagerSpec(K0sModel):
    extra_args: StrMap = Field(default_factory=dict, alias="extraArgs")
    raw_args: list[str] = Field(default_factory=list, alias="rawArgs")


class SchedulerSpec(ControllerManagerSpec):
    pass


class FeatureGate(K0sModel):
    k0s_always = frozenset({"name", "enabled"})

    name: str = ""
    enabled: bool = False
    components: list[str] = Field(default_factory=list)

    def enabled_for(self, component: str) -> bool | None:
        """The gate's value for `component`, None when it does not apply to it."""
        if component in (self.components or KUBERNETES_COMPONENTS):
            return self.enabled
        return None


class WorkerProfile(K0sModel):
    """A named set of kubelet configuration values (a KubeletConfiguration subset, kept as given)."""

    k0s_always = frozenset({"name"})

    name: str = ""
    values: Any = None


class ClusterTelemetry(K0sModel):
    k0s_always = frozenset({"enabled"})

    enabled: bool | None = False


class SystemUsers(K0sModel):
    etcd_user: str = Field("etcd", alias="etcdUser")
    kine_user: str = Field("kube-apiserver", alias="kineUser")
    konnectivity_user: str = Field("konnectivity-server", alias="konnectivityUser")
    kube_api_server_user: str = Field("kube-apiserver", alias="kubeAPIserverUser")
    kube_scheduler_user: str = Field("kube-scheduler", alias="kubeSchedulerUser")


class InstallSpec(K0sModel):
    users: SystemUsers = Field(default_factory=SystemUsers)


class KonnectivitySpec(K0sModel):
    admin_port: Int32 = Field(8133, alias="adminPort")
    agent_port: Int32 = Field(8132, alias="agentPort")
    external_address: str = Field("", alias="externalAddress")


class MetricsServer(K0sModel):
    patches: list[Patch] = Field(default_factory=list)
