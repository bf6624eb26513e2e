"""Real-world configurations of several k0s releases (tests/data/configs) load, with the expected warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from k0spy.config.load import load_cluster_config
from tests.support.config import ADDRESS, CONFIGS_DIR

EXAMPLES = sorted(CONFIGS_DIR.glob("*.yaml"))

EXPECTED_WARNINGS = {
    "k0s-0.x-telemetry-interval.yaml": {"spec.podSecurityPolicy", "spec.telemetry.interval", "kind"},
    "k0s-1.21-docs.yaml": {"spec.network.calico.withWindowsNodes", "spec.podSecurityPolicy", "kind"},
    "k0s-1.22-kuberouter.yaml": {"spec.api.tunneledNetworkingMode", "spec.podSecurityPolicy"},
    "minimal-no-typemeta.yaml": {"apiVersion", "kind"},
}


def test_there_are_many_examples() -> None:
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_loads(path: Path) -> None:
    loaded = load_cluster_config(path, address=ADDRESS)
    assert {w.field for w in loaded.warnings} == EXPECTED_WARNINGS.get(path.name, set())
    assert loaded.config.spec.api.port == 6443


def test_k0s_1_21_docs_values() -> None:
    spec = load_cluster_config(CONFIGS_DIR / "k0s-1.21-docs.yaml", address=ADDRESS).config.spec
    assert spec.api.address == "192.168.68.104"
    assert spec.api.external_address == "my-lb-address.example.com"
    assert spec.network.provider == "calico" and spec.network.kuberouter is None
    assert spec.telemetry.enabled is True
    assert spec.images.kube_proxy.uri == "k8s.gcr.io/kube-proxy:v1.21.1"
    chart = spec.extensions.helm.charts[0]
    assert chart.values == "storageSpec:\n  emptyDir:\n    medium: Memory\n"  # `|2` is relative to the parent
    assert chart.target_ns == "default"


def test_lowercase_keys_example() -> None:
    spec = load_cluster_config(CONFIGS_DIR / "lowercase-keys.yaml", address=ADDRESS).config.spec
    assert (spec.api.address, spec.network.pod_cidr, spec.network.service_cidr) == (
        "10.20.30.40",
        "10.50.0.0/16",
        "10.60.0.0/16",
    )


def test_external_etcd_example() -> None:
    etcd = load_cluster_config(
        CONFIGS_DIR / "k0s-1.30-external-etcd.yaml", address=ADDRESS
    ).config.spec.storage.etcd
    assert etcd.external_cluster is not None and etcd.external_cluster.has_all_tls()
    assert etcd.external_cluster.etcd_prefix == "k0s-tenant-1"
