from pathlib import Path

from k0spy.paths import Paths


def test_root_run_dir_is_run_k0s() -> None:
    p = Paths.build("/var/lib/k0s", euid=0)
    assert p.run_dir == Path("/run/k0s")
    assert p.status_socket == Path("/run/k0s/status.sock")
    assert p.kine_socket == Path("/run/k0s/kine/kine.sock:2379")


def test_non_root_run_dir_is_under_data() -> None:
    p = Paths.build("/home/u/k0s", euid=1000)
    assert p.run_dir == Path("/home/u/k0s/run")


def test_relative_data_dir_made_absolute(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    p = Paths.build("data", euid=0)
    assert p.data_dir == tmp_path / "data"
    assert p.cert_dir == tmp_path / "data" / "pki"
    assert p.admin_kubeconfig == tmp_path / "data" / "pki" / "admin.conf"
    assert p.kubelet_root_dir == tmp_path / "data" / "kubelet"


def test_overrides() -> None:
    p = Paths.build("/d", run_dir="/r", etc_dir="/e", kubelet_root_dir="/k", status_socket="/s.sock")
    assert (p.run_dir, p.etc_dir, p.kubelet_root_dir, p.status_socket) == (
        Path("/r"), Path("/e"), Path("/k"), Path("/s.sock"))
    assert p.containerd_config == Path("/e/containerd.toml")
    assert p.pid_file("etcd") == Path("/r/etcd.pid")
    assert p.as_k0s_vars()["DataDir"] == "/d"
