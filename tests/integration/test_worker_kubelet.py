"""The kubelet double started with k0spy's rendered KubeletConfiguration and argv, against real containerd
1.6 started with k0spy's rendered config and argv, and the apiserver double on real etcd: the double's
strict decoder accepts every field, its flag parser every flag, and the node registers Ready with the
labels and taints k0spy rendered."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from k0spy.components import containerd as c
from k0spy.components import kubelet as k
from k0spy.paths import Paths
from tests.support.doubles import (
    ApiServer,
    Procs,
    api,
    apiserver,
    client_ssl,
    doubles_bin,
    etcd,
    pki,
    procs,
    wait_http_ok,
    wait_until,
)
from tests.support.doubles_pki import DoublesPki, make_leaf
from tests.support.net import free_port
from tests.support.worker import (
    Daemon,
    private_worker_paths,
    start_containerd,
)

__all__ = ["apiserver", "doubles_bin", "etcd", "pki", "procs"]

pytestmark = pytest.mark.slow
CONTAINERD = shutil.which("containerd") or "/usr/bin/containerd"


@pytest.fixture
def paths() -> Iterator[Paths]:
    with private_worker_paths("kk") as private:
        yield private


@pytest.fixture
def containerd(paths: Paths) -> Iterator[Daemon]:
    spec = c.containerd_spec(paths, version=(1, 6), pause_image="example.com/pause:1", existing_config=None,
                             binary=CONTAINERD)
    c.apply_files_and_dirs(spec)
    daemon = start_containerd([spec.binary, *spec.args], paths.run_dir / "containerd.log",
                              paths.containerd_socket)
    try:
        yield daemon
    finally:
        daemon.stop()


def test_kubelet_double_accepts_rendered_config_and_args(
    procs: Procs, pki: DoublesPki, apiserver: ApiServer, containerd: Daemon, paths: Paths,
) -> None:
    node = k.node_name("K0spy-Worker-1", k.parse_extra_args("--max-pods=42"))
    kubeconfig = Path(pki.kubeconfig(f"kubelet-{node}.conf", apiserver.url,
                                     make_leaf(pki.ca, f"system:node:{node}", ("system:nodes",))))
    opts = k.KubeletOptions(
        node_name=node, kubeconfig=kubeconfig, labels=k.parse_labels(["zone=a,role=edge"]),
        taints=("dedicated=infra:NoSchedule",), extra_args=k.parse_extra_args("--max-pods=42"),
    )
    port = free_port()
    values = {"healthzPort": port, "healthzBindAddress": "127.0.0.1", "nodeStatusUpdateFrequency": "1s"}
    profile = k.profile_config(k.default_kubelet_config(service_cidr="10.96.0.0/12"), values)
    resolv = Path("/etc/resolv.conf")
    config = k.kubelet_config(profile, paths, opts,
                              resolv_conf=k.resolv_conf_path(resolv.read_text() if resolv.exists() else None))
    spec = k.kubelet_spec(paths, opts, config, binary=str(procs.bin_dir / "kubelet"))
    c.apply_files_and_dirs(spec)
    paths.kubelet_client_ca.write_bytes(Path(pki.path("ca.crt")).read_bytes())

    proc = procs.start("kubelet", list(spec.args))
    assert wait_http_ok(f"http://127.0.0.1:{port}/healthz", None, proc) == "ok"

    def registered() -> dict | None:
        status, body = api(f"{apiserver.url}/api/v1/nodes/{node}", ctx=client_ssl(pki))
        if status != 200:
            return None
        ready = [x for x in body["status"]["conditions"] if x["type"] == "Ready" and x["status"] == "True"]
        return body if ready else None

    body = wait_until(registered, proc=proc)
    assert body["metadata"]["labels"]["zone"] == "a" and body["metadata"]["labels"]["role"] == "edge"
    assert body["metadata"]["labels"]["kubernetes.io/hostname"] == "k0spy-worker-1"
    assert {"key": "dedicated", "value": "infra", "effect": "NoSchedule"} in body["spec"]["taints"]
    assert proc.popen.poll() is None
    assert "Error" not in proc.output()
