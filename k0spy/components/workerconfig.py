"""The controller's worker-config publisher: a ConfigMap per worker profile and the RBAC to read them (§7.4).

Workers read `kube-system/worker-config-<profile>-<minor>` with their bootstrap token (before they have a
certificate) or their node certificate, so the controller publishes, once kube-apiserver is ready:

* a ConfigMap for `default`, `default-windows` and every `spec.workerProfiles[].name` (a profile's
  `values` are a KubeletConfiguration fragment merged over the default; naming a profile `default` changes
  the default), data keys as k0s's (`kubeletConfiguration`, `pauseImage`, `apiServerAddresses`,
  `konnectivity`, `dualStackEnabled`, `primaryAddressFamily`, ...), each a JSON value, zero values left out;
* Role and RoleBinding `system:bootstrappers:worker-config-<minor>`: get/list/watch on exactly those
  ConfigMaps for the groups `system:bootstrappers` and `system:nodes`.

Objects carry k0s's labels. Building is pure (`build_objects`); `WorkerConfigComponent` applies them with
admin.conf (create, or replace when they exist) and is ready once all are applied. k0s runs this on the
leader only and re-applies on config changes; a k0spy controller applies at every start.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from k0spy.components.base import NotReady
from k0spy.log import get_logger
from k0spy.paths import Paths
from k0spy.pins import KUBERNETES_MINOR

if TYPE_CHECKING:
    from k0spy.config.model import ClusterConfig

NAME = "worker-config"
NAMESPACE = "kube-system"
DEFAULT = "default"
DEFAULT_WINDOWS = "default-windows"
PROFILE_LABEL = "k0s.k0sproject.io/worker-profile"
RBAC_GROUP = "rbac.authorization.k8s.io"
APPLY_ATTEMPTS = 20
APPLY_DELAY = 0.5
# The API client (aiohttp: about 150 ms of CPU to import) is loaded this long after init, while etcd and
# kube-apiserver start, instead of when kube-apiserver is ready and the publisher is on the critical path.
PRELOAD_DELAY = 0.2


def preload_api_client() -> None:
    import k0spy.kube.client  # noqa: F401


def common_labels(version: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "k0s", "app.kubernetes.io/component": NAME,
            "app.kubernetes.io/version": version.replace("+", "-"), "app.kubernetes.io/managed-by": "k0s"}


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _gates(cfg: ClusterConfig) -> dict[str, bool]:
    gates = {}
    for item in cfg.feature_gates_for("kubelet"):
        name, _, value = item.partition("=")
        gates[name] = value == "true"
    return gates


def api_server_addresses(cfg: ClusterConfig) -> list[str]:
    """Where workers may reach kube-apiserver: the api address and port (k0s: the kubernetes Endpoints)."""
    api = cfg.spec.api
    host = api.address
    return [f"[{host}]:{api.port}" if ":" in host else f"{host}:{api.port}"] if host else []


def profile_data(kubelet_configuration: Mapping[str, Any], *, pause_image: Mapping[str, str],
                 api_servers: Sequence[str], konnectivity: bool, agent_port: int, dual_stack: bool,
                 primary_family: str) -> dict[str, str]:
    """The ConfigMap data of one profile: JSON values, zero values left out (k0s ToConfigMapData)."""
    values: dict[str, Any] = {
        "apiServerAddresses": list(api_servers),
        "kubeletConfiguration": dict(kubelet_configuration),
        "konnectivity": {k: v for k, v in (("enabled", konnectivity), ("agentPort", agent_port)) if v},
        "pauseImage": dict(pause_image),
        "dualStackEnabled": dual_stack,
        "primaryAddressFamily": primary_family,
    }
    return {key: _json(value) for key, value in values.items() if value}


def profile_configs(cfg: ClusterConfig) -> dict[str, dict[str, Any]]:
    """Profile name -> KubeletConfiguration: default, default-windows, then spec.workerProfiles in order."""
    from k0spy.components.kubelet import default_kubelet_config, merge_over, profile_config, windows_overrides

    net = cfg.spec.network
    base = default_kubelet_config(service_cidr=net.service_cidr, cluster_domain=net.cluster_domain,
                                  feature_gates=_gates(cfg))
    configs = {DEFAULT: base, DEFAULT_WINDOWS: windows_overrides(base)}
    for profile in cfg.spec.worker_profiles:
        values = profile.values if isinstance(profile.values, Mapping) else {}
        start = configs.get(profile.name, base)
        profile_config(start, values, profile.name)  # validates: forbidden fields are refused
        configs[profile.name] = merge_over(start, values)
    return configs


def configmap(name: str, data: Mapping[str, str], version: str, minor: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"{NAME}-{name}-{minor}", "namespace": NAMESPACE,
                         "labels": {**common_labels(version), PROFILE_LABEL: name}},
            "data": dict(data)}


def rbac_objects(configmap_names: Sequence[str], version: str, minor: str) -> list[dict[str, Any]]:
    meta = {"name": f"system:bootstrappers:{NAME}-{minor}", "namespace": NAMESPACE,
            "labels": common_labels(version)}
    role = {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "Role", "metadata": dict(meta),
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"],
                       "resourceNames": sorted(configmap_names)}]}
    binding = {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "RoleBinding", "metadata": dict(meta),
               "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": meta["name"]},
               "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": group}
                            for group in ("system:bootstrappers", "system:nodes")]}
    return [role, binding]


def build_objects(cfg: ClusterConfig, *, konnectivity: bool, version: str,
                  minor: str = KUBERNETES_MINOR) -> list[dict[str, Any]]:
    """Every object to apply: the ConfigMaps (sorted by name), then the Role and RoleBinding."""
    images = cfg.spec.images
    net = cfg.spec.network
    maps = []
    for name, config in sorted(profile_configs(cfg).items()):
        pause = images.windows.pause if name == DEFAULT_WINDOWS else images.pause
        data = profile_data(config, pause_image={"image": pause.image, "version": pause.version},
                            api_servers=api_server_addresses(cfg), konnectivity=konnectivity,
                            agent_port=cfg.spec.konnectivity.agent_port if konnectivity else 0,
                            dual_stack=net.dual_stack.enabled, primary_family=net.primary_address_family)
        maps.append(configmap(name, data, version, minor))
    return [*maps, *rbac_objects([m["metadata"]["name"] for m in maps], version, minor)]


def object_path(obj: Mapping[str, Any], *, named: bool = True) -> str:
    """The REST path of a ConfigMap, Role or RoleBinding (the collection when `named` is false)."""
    kind, meta = obj["kind"], obj["metadata"]
    ns = meta["namespace"]
    base = {"ConfigMap": f"/api/v1/namespaces/{ns}/configmaps",
            "Role": f"/apis/{RBAC_GROUP}/v1/namespaces/{ns}/roles",
            "RoleBinding": f"/apis/{RBAC_GROUP}/v1/namespaces/{ns}/rolebindings"}[kind]
    from urllib.parse import quote

    return f"{base}/{quote(meta['name'], safe='')}" if named else base


async def apply_object(kube: Any, obj: dict[str, Any]) -> str:
    """Create, or replace the existing object (keeping its resourceVersion); returns what was done."""
    from k0spy.kube.client import KubeApiError

    what = f"applying {obj['kind']} {obj['metadata']['name']}"
    status, body = await kube.request("POST", object_path(obj, named=False), body=obj, what=what)
    if status in (200, 201):
        return "created"
    if status != 409:
        raise KubeApiError(f"{what}: {body.get('message') if isinstance(body, dict) else status}",
                           status=status)
    current = await kube.get(object_path(obj), what=what) or {}
    updated = {**obj, "metadata": {**obj["metadata"],
                                   "resourceVersion": (current.get("metadata") or {}).get("resourceVersion")}}
    status, body = await kube.request("PUT", object_path(obj), body=updated, what=what)
    if status not in (200, 201):
        raise KubeApiError(f"{what}: {body.get('message') if isinstance(body, dict) else status}",
                           status=status)
    return "updated"


class WorkerConfigComponent:
    """Applies the worker-config objects once kube-apiserver is ready (a non-process component)."""

    def __init__(self, cfg: ClusterConfig, paths: Paths, *, konnectivity: bool) -> None:
        self.name = NAME
        self.cfg = cfg
        self.paths = paths
        self.konnectivity = konnectivity
        self.objects: list[dict[str, Any]] = []
        self.applied = False
        self.log = get_logger(component=NAME)
        self._preload: asyncio.TimerHandle | None = None

    async def init(self) -> None:
        from k0spy import __version__

        self.objects = build_objects(self.cfg, konnectivity=self.konnectivity, version=__version__)
        self._preload = asyncio.get_running_loop().call_later(PRELOAD_DELAY, preload_api_client)

    async def start(self) -> None:
        from k0spy.kube.client import KubeApiError, KubeClient, credentials_from_kubeconfig

        creds = credentials_from_kubeconfig(self.paths.admin_kubeconfig)
        for attempt in range(APPLY_ATTEMPTS):
            try:
                async with KubeClient(creds) as kube:
                    for obj in self.objects:
                        done = await apply_object(kube, obj)
                        self.log.debug("workerconfig.applied", kind=obj["kind"], name=obj["metadata"]["name"],
                                       action=done)
                self.applied = True
                self.log.info("workerconfig.published", objects=len(self.objects))
                return
            except KubeApiError as err:
                if attempt == APPLY_ATTEMPTS - 1:
                    raise
                self.log.warning("workerconfig.retry", attempt=attempt + 1, error=err.message)
                await asyncio.sleep(APPLY_DELAY)

    async def ready(self) -> None:
        if not self.applied:
            raise NotReady("worker profiles not published yet")

    async def stop(self) -> None:
        """Nothing runs: the published objects stay, as k0s leaves them."""
        if self._preload is not None:
            self._preload.cancel()
