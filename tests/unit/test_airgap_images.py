"""The air-gap image list per config and platform (k0s pkg/airgap GetImageURIs and its tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from k0spy.assets.airgap import Platform, image_uris
from k0spy.config.load import load_cluster_config
from k0spy.config.model import ClusterConfig
from k0spy.config.model_images import (
    CALICO_CNI,
    CALICO_CNI_WINDOWS,
    COREDNS,
    ENVOY_PROXY,
    KONNECTIVITY,
    KUBE_PROXY,
    KUBE_PROXY_WINDOWS,
    KUBE_ROUTER_CNI,
    KUBE_ROUTER_CNI_INSTALLER,
    METRICS_SERVER,
    PAUSE,
    PAUSE_WINDOWS,
    PUSHGATEWAY,
    TRAEFIK,
)
from k0spy.errors import K0spyError

LINUX = Platform("linux", "amd64")


def uri(pair: tuple[str, str]) -> str:
    return f"{pair[0]}:{pair[1]}"


def config(tmp_path: Path, text: str = "{}") -> ClusterConfig:
    path = tmp_path / "k0s.yaml"
    path.write_text(text)
    return load_cluster_config(str(path), data_dir=tmp_path / "data", address="10.0.0.1").config


def test_default_linux_list_in_k0s_order(tmp_path: Path) -> None:
    assert image_uris(config(tmp_path), LINUX) == [
        uri(PAUSE), uri(KONNECTIVITY), uri(KUBE_PROXY), uri(COREDNS), uri(METRICS_SERVER),
        uri(KUBE_ROUTER_CNI_INSTALLER), uri(KUBE_ROUTER_CNI),
    ]


def test_all_on_linux_amd64(tmp_path: Path) -> None:
    listed = image_uris(config(tmp_path), LINUX, all_images=True)
    for pair in (KUBE_PROXY, PAUSE, KUBE_ROUTER_CNI, CALICO_CNI, PUSHGATEWAY, ENVOY_PROXY, TRAEFIK):
        assert uri(pair) in listed
    assert uri(KUBE_PROXY_WINDOWS) not in listed


def test_all_on_arm_v7_has_no_envoy(tmp_path: Path) -> None:
    listed = image_uris(config(tmp_path), Platform.parse("linux/arm/v7"), all_images=True)
    assert uri(PUSHGATEWAY) in listed and uri(ENVOY_PROXY) not in listed


def test_all_on_windows(tmp_path: Path) -> None:
    listed = image_uris(config(tmp_path), Platform.parse("windows/amd64"), all_images=True)
    for pair in (KUBE_PROXY_WINDOWS, PAUSE_WINDOWS, CALICO_CNI_WINDOWS):
        assert uri(pair) in listed
    for pair in (KUBE_PROXY, PAUSE, COREDNS, KUBE_ROUTER_CNI, ENVOY_PROXY):
        assert uri(pair) not in listed


def test_calico_and_repository_rewrite(tmp_path: Path) -> None:
    cfg = config(tmp_path, "spec:\n  images:\n    repository: registry.local:5000\n"
                           "  network:\n    provider: calico\n")
    listed = image_uris(cfg, LINUX)
    assert "registry.local:5000/k0sproject/calico-cni:v3.32.1-2" in listed
    assert "registry.local:5000/k0sproject/pause:3.10.2-0" in listed
    assert not any("kube-router" in item for item in listed)
    assert all(item.startswith("registry.local:5000/") for item in listed)


@pytest.mark.parametrize(("backend", "expected", "absent"), [
    ("EnvoyProxy", ENVOY_PROXY, TRAEFIK), ("Traefik", TRAEFIK, ENVOY_PROXY),
])
def test_node_local_load_balancing_backend(
    tmp_path: Path, backend: str, expected: tuple[str, str], absent: tuple[str, str]
) -> None:
    cfg = config(tmp_path, f"spec:\n  network:\n    nodeLocalLoadBalancing:\n      enabled: true\n"
                           f"      type: {backend}\n")
    listed = image_uris(cfg, LINUX)
    assert uri(expected) in listed and uri(absent) not in listed


def test_disabled_nllb_lists_no_proxy(tmp_path: Path) -> None:
    cfg = config(tmp_path, "spec:\n  network:\n    nodeLocalLoadBalancing:\n      enabled: false\n")
    listed = image_uris(cfg, LINUX)
    assert uri(ENVOY_PROXY) not in listed and uri(TRAEFIK) not in listed


@pytest.mark.parametrize("text", ["linux", "linux/", "/amd64", "a/b/c/d"])
def test_bad_platform(text: str) -> None:
    with pytest.raises(K0spyError, match="invalid platform"):
        Platform.parse(text)
