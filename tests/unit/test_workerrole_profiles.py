"""Worker profiles: what the controller publishes (k0spy.components.workerconfig) and how the worker reads
and caches them (k0spy.worker.profile)."""

from __future__ import annotations

import json

import pytest

from k0spy.components import workerconfig as wc
from k0spy.errors import K0spyError
from k0spy.paths import Paths
from k0spy.worker import profile as wp
from tests.support.config import load_text

CONFIG = """
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec:
  api: {address: 10.0.0.5, port: 6443}
  network: {serviceCIDR: 10.100.0.0/16}
  featureGates: [{name: Foo, enabled: true, components: [kubelet]}]
  workerProfiles:
  - name: edge
    values: {maxPods: 42, authentication: {webhook: {cacheTTL: 1m}}}
"""


def objects(text: str = CONFIG, konnectivity: bool = True) -> dict[str, dict]:  # type: ignore[type-arg]
    cfg = load_text(text).config
    return {f"{o['kind']}/{o['metadata']['name']}": o
            for o in wc.build_objects(cfg, konnectivity=konnectivity, version="1.2.3+k0spy", minor="1.35")}


def test_configmaps_for_default_windows_and_each_profile_plus_rbac() -> None:
    got = objects()
    assert sorted(got) == ["ConfigMap/worker-config-default-1.35",
                           "ConfigMap/worker-config-default-windows-1.35",
                           "ConfigMap/worker-config-edge-1.35",
                           "Role/system:bootstrappers:worker-config-1.35",
                           "RoleBinding/system:bootstrappers:worker-config-1.35"]
    role = got["Role/system:bootstrappers:worker-config-1.35"]
    names = ["worker-config-default-1.35", "worker-config-default-windows-1.35", "worker-config-edge-1.35"]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"],
                              "verbs": ["get", "list", "watch"], "resourceNames": names}]
    binding = got["RoleBinding/system:bootstrappers:worker-config-1.35"]
    assert [s["name"] for s in binding["subjects"]] == ["system:bootstrappers", "system:nodes"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": "system:bootstrappers:worker-config-1.35"}


def test_labels_and_data_keys_are_k0s_s() -> None:
    cm = objects()["ConfigMap/worker-config-edge-1.35"]
    assert cm["metadata"]["namespace"] == "kube-system"
    assert cm["metadata"]["labels"] == {
        "app.kubernetes.io/name": "k0s", "app.kubernetes.io/component": "worker-config",
        "app.kubernetes.io/version": "1.2.3-k0spy", "app.kubernetes.io/managed-by": "k0s",
        "k0s.k0sproject.io/worker-profile": "edge"}
    data = {key: json.loads(value) for key, value in cm["data"].items()}
    assert sorted(data) == ["apiServerAddresses", "konnectivity", "kubeletConfiguration", "pauseImage"]
    assert data["apiServerAddresses"] == ["10.0.0.5:6443"]
    assert data["konnectivity"] == {"enabled": True, "agentPort": 8132}
    assert data["pauseImage"] == {"image": "quay.io/k0sproject/pause", "version": "3.10.2-0"}
    kubelet = data["kubeletConfiguration"]
    assert kubelet["maxPods"] == 42 and kubelet["clusterDNS"] == ["10.100.0.10"]
    assert kubelet["authentication"]["webhook"]["cacheTTL"] == "1m"
    assert kubelet["featureGates"] == {"Foo": True}


def test_default_windows_has_no_qos_cgroups_and_zero_values_are_left_out() -> None:
    got = objects(konnectivity=False)
    windows = json.loads(got["ConfigMap/worker-config-default-windows-1.35"]["data"]["kubeletConfiguration"])
    assert windows["cgroupsPerQOS"] is False and "kubeletCgroups" not in windows
    assert "konnectivity" not in got["ConfigMap/worker-config-default-1.35"]["data"]


def test_a_profile_named_default_changes_the_default() -> None:
    text = CONFIG.replace("name: edge", "name: default")
    data = objects(text)["ConfigMap/worker-config-default-1.35"]["data"]
    default = json.loads(data["kubeletConfiguration"])
    assert default["maxPods"] == 42


def test_forbidden_profile_fields_are_refused() -> None:
    text = CONFIG.replace("maxPods: 42", "clusterDNS: [1.1.1.1]")
    with pytest.raises(K0spyError, match="clusterDNS"):
        objects(text)


def test_object_paths() -> None:
    got = objects()
    assert wc.object_path(got["ConfigMap/worker-config-edge-1.35"]) == \
        "/api/v1/namespaces/kube-system/configmaps/worker-config-edge-1.35"
    assert wc.object_path(got["Role/system:bootstrappers:worker-config-1.35"], named=False) == \
        "/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/roles"


# --- the worker side -------------------------------------------------------------------------------------
DATA = {"kubeletConfiguration": '{"maxPods":42}', "pauseImage": '{"image":"reg/pause","version":"1"}',
        "apiServerAddresses": '["10.0.0.5:6443"]'}


def test_profile_decodes_its_json_values() -> None:
    profile = wp.WorkerProfile.from_data("edge", DATA)
    assert profile.kubelet_configuration == {"maxPods": 42}
    assert profile.pause_image == "reg/pause:1"
    assert profile.api_server_addresses == ["10.0.0.5:6443"]
    assert wp.configmap_path("edge", "1.35") == \
        "/api/v1/namespaces/kube-system/configmaps/worker-config-edge-1.35"
    with pytest.raises(K0spyError, match="data key pauseImage is not JSON"):
        wp.WorkerProfile.from_data("edge", {"pauseImage": "{"})


def test_cache_round_trip_is_per_profile_name(paths: Paths) -> None:
    paths.data_dir.mkdir(parents=True)
    paths.worker_profile_cache.write_text(wp.render_cache(wp.WorkerProfile.from_data("edge", DATA)))
    cached = wp.read_cache(paths.worker_profile_cache, "edge")
    assert cached is not None and cached.source == "cache" and cached.data == DATA
    assert wp.read_cache(paths.worker_profile_cache, "default") is None
    assert wp.read_cache(paths.data_dir / "missing.yaml", "edge") is None
