"""The pinned component manifest renders URLs per arch, takes versions from pins.py, parses checksums."""

from __future__ import annotations

import pytest

from k0spy.errors import K0spyError
from k0spy.pins import COMPONENT_VERSIONS
from tests.support import bundle  # noqa: F401  (puts packaging/ on sys.path)

from k0spy_bundle import components  # isort: skip

REQUIRED = {"kube-apiserver", "kube-scheduler", "kube-controller-manager", "kubelet", "etcd", "kine",
            "konnectivity-server", "containerd", "containerd-shim-runc-v2", "runc",
            "xtables-legacy-multi", "xtables-nft-multi"}


@pytest.mark.parametrize("arch", components.ARCHES)
def test_every_required_binary_is_in_the_manifest(arch: str) -> None:
    names = {b.name for b in components.binaries(arch, sums={})}
    assert names >= REQUIRED


def test_urls_use_the_pinned_versions_and_arch() -> None:
    by_name = {b.name: b for b in components.binaries("arm64", sums={})}
    k8s = COMPONENT_VERSIONS["kubernetes"]
    apiserver = by_name["kube-apiserver"].artifact
    assert apiserver is not None
    assert apiserver.url == f"https://dl.k8s.io/release/v{k8s}/bin/linux/arm64/kube-apiserver"
    etcd = by_name["etcd"]
    assert etcd.version == COMPONENT_VERSIONS["etcd"]
    assert etcd.member == f"etcd-v{etcd.version}-linux-arm64/etcd"
    assert etcd.artifact is not None and etcd.artifact.sha256 is None


def test_binaries_without_upstream_release_come_from_k0s() -> None:
    by_name = {b.name: b for b in components.binaries("amd64", sums={})}
    for name in ("kine", "konnectivity-server", "xtables-nft-multi"):
        assert by_name[name].source == "k0s"
        assert by_name[name].artifact is None


def test_containerd_and_shim_share_one_pinned_archive() -> None:
    by_name = {b.name: b for b in components.binaries("amd64", sums={})}
    shim, containerd = by_name["containerd-shim-runc-v2"].artifact, by_name["containerd"].artifact
    assert shim is not None and containerd is not None
    assert shim.key == containerd.key
    sums = {containerd.key: "0" * 64}
    pinned = {b.name: b for b in components.binaries("amd64", sums=sums)}
    assert pinned["containerd-shim-runc-v2"].artifact.sha256 == "0" * 64  # type: ignore[union-attr]


def test_unknown_arch_is_an_error() -> None:
    with pytest.raises(K0spyError, match="unknown arch 'riscv64'"):
        components.binaries("riscv64", sums={})


def test_parse_checksum_files() -> None:
    digest = "a" * 64
    assert components.parse_checksum_file(f"{digest}\n", "bare", None) == digest
    assert components.parse_checksum_file(f"{digest}  kubelet\n", "bare", None) == digest
    sums = f"{'b' * 64}  runc.arm64\n{digest} *runc.amd64\n"
    assert components.parse_checksum_file(sums, "sums", "runc.amd64") == digest
    with pytest.raises(K0spyError, match=r"no sha256 for runc\.s390x"):
        components.parse_checksum_file(sums, "sums", "runc.s390x")


def test_checked_in_checksums_file_loads() -> None:
    assert isinstance(components.load_checksums(), dict)
