"""`k0spy install` into a temp root: files, modes, users, kept flags, token file, --force, reset.

Every install goes to a root under tmp_path whose /etc is a minimal skeleton (`useradd --root` writes
there), with `--init-system` given so nothing is detected from, or done to, the machine's init.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import run_k0spy
from tests.support.service import make_root, passwd_names, write_sleeper

USERS = ["etcd", "konnectivity-server", "kube-apiserver", "kube-scheduler"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_root(tmp_path / "root")


def _install(root: Path, exe: Path, *args: str, cwd: Path | None = None,
             init: str = "systemd") -> subprocess.CompletedProcess[str]:
    return run_k0spy(["install", *args[:1], "--root", str(root), "--init-system", init,
                      "--executable", str(exe), *args[1:]], cwd=cwd)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_install_controller_files_modes_users_flags(root: Path, tmp_path: Path) -> None:
    exe = write_sleeper(tmp_path / "bin" / "k0spy")
    token = tmp_path / "join.token"
    token.write_text("H4sIAAAAAAAC/secret\n")
    (tmp_path / "work").mkdir()
    proc = _install(root, exe, "controller", "--data-dir", "rel/data", "--single",
                    "--token-file=../join.token", "-e", "HTTPS_PROXY=http://proxy:3128", "--labels=a=b", "-d",
                    cwd=tmp_path / "work")
    assert proc.returncode == 0, proc.stderr
    unit = root / "etc/systemd/system/k0scontroller.service"
    env_file = root / "etc/k0s/k0scontroller.env"
    token_copy = root / "etc/k0s/k0scontroller.token"
    assert (_mode(unit), _mode(env_file), _mode(token_copy)) == (0o644, 0o600, 0o600)
    assert token_copy.read_text() == "H4sIAAAAAAAC/secret\n"
    text = unit.read_text()
    data_dir = tmp_path / "work" / "rel" / "data"
    assert (f"ExecStart={exe} controller --data-dir={data_dir} --single=true "
            "--token-file=/etc/k0s/k0scontroller.token --labels=a=b --debug=true") in text
    assert "EnvironmentFile=-/etc/k0s/k0scontroller.env" in text
    assert "proxy" not in text and "secret" not in text  # values stay out of the world-readable unit
    assert 'HTTPS_PROXY="http://proxy:3128"' in env_file.read_text()
    for line in ("KillMode=process", "Delegate=yes", "Restart=always", "RestartSec=10"):
        assert line in text.splitlines()
    wants = root / "etc/systemd/system/multi-user.target.wants/k0scontroller.service"
    assert wants.is_symlink()
    names = passwd_names(root)
    assert all(user in names for user in USERS), names
    entry = next(line for line in (root / "etc/passwd").read_text().splitlines() if line.startswith("etcd:"))
    assert entry.split(":")[5] == str(data_dir)  # home is the data dir, as in k0s


def test_rendered_unit_passes_systemd_analyze_verify(root: Path, tmp_path: Path) -> None:
    exe = write_sleeper(tmp_path / "bin dir" / "k0spy")  # a space in the executable's path
    proc = _install(root, exe, "worker", "--data-dir", str(tmp_path / "d"), "--labels=x=it's 50% \"$HOME\"",
                    "-e", "K=v")
    assert proc.returncode == 0, proc.stderr
    unit = root / "etc/systemd/system/k0sworker.service"
    verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                            check=False)
    assert verify.returncode == 0 and verify.stderr == "", verify.stderr
    assert '--labels=x=it\'s 50%% \\"$$HOME\\""' in unit.read_text()


def test_install_refuses_positional_token_and_writes_nothing(root: Path, tmp_path: Path) -> None:
    exe = write_sleeper(tmp_path / "k0spy")
    proc = _install(root, exe, "worker", "--data-dir=/x", "H4sIAAAAAAAC/some-token")
    assert proc.returncode == 1
    assert "--token-file" in proc.stderr
    assert not (root / "etc/systemd").exists() and not (root / "etc/k0s").exists()


def test_install_twice_needs_force(root: Path, tmp_path: Path) -> None:
    exe = write_sleeper(tmp_path / "k0spy")
    assert _install(root, exe, "worker", "--data-dir=/a", "-e", "A=1").returncode == 0
    again = _install(root, exe, "worker", "--data-dir=/b")
    assert again.returncode == 1 and "already installed" in again.stderr and "--force" in again.stderr
    unit = root / "etc/systemd/system/k0sworker.service"
    assert "--data-dir=/a" in unit.read_text()
    forced = _install(root, exe, "worker", "--data-dir=/b", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "--data-dir=/b" in unit.read_text() and "--data-dir=/a" not in unit.read_text()
    assert not (root / "etc/k0s/k0sworker.env").exists()  # the old environment went with the old unit


def test_install_openrc_script_mode_and_runlevel(root: Path, tmp_path: Path) -> None:
    exe = write_sleeper(tmp_path / "k0spy")
    proc = _install(root, exe, "worker", "--data-dir=/d", init="openrc")
    assert proc.returncode == 0, proc.stderr
    script = root / "etc/init.d/k0sworker"
    assert _mode(script) == 0o755
    assert script.read_text().startswith("#!/sbin/openrc-run\n")
    assert "command_args=\"'worker' '--data-dir=/d'\"" in script.read_text()  # k0s's layout
    assert (root / "etc/runlevels/default/k0sworker").is_symlink()


def test_reset_uninstalls_service_and_users(root: Path, tmp_path: Path) -> None:
    exe = write_sleeper(tmp_path / "k0spy")
    data, run, etc = tmp_path / "data", tmp_path / "run", tmp_path / "etc"
    assert _install(root, exe, "controller", f"--data-dir={data}", "-e", "A=1").returncode == 0
    data.mkdir()
    (data / "pki").mkdir()
    cni = root / "etc/cni/net.d"
    cni.mkdir(parents=True)
    (cni / "10-kuberouter.conflist").write_text("{}")
    (cni / "99-other.conflist").write_text("{}")  # not k0s's: stays
    proc = run_k0spy(["reset", "--data-dir", str(data), "--run-dir", str(run), "--etc-dir", str(etc),
                      "--root", str(root), "--init-system", "systemd"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (root / "etc/systemd/system/k0scontroller.service").exists()
    assert not (root / "etc/systemd/system/multi-user.target.wants/k0scontroller.service").is_symlink()
    assert not (root / "etc/k0s/k0scontroller.env").exists()
    assert not any(user in passwd_names(root) for user in USERS)
    assert not data.exists()
    assert "user etcd: deleted" in proc.stdout
    assert not (cni / "10-kuberouter.conflist").exists() and (cni / "99-other.conflist").exists()


def test_start_and_stop_without_an_installed_service(root: Path) -> None:
    for command in ("start", "stop"):
        proc = run_k0spy([command, "--root", str(root), "--init-system", "systemd"])
        assert proc.returncode == 1
        assert "k0spy is not installed as a systemd service" in proc.stderr
        assert "k0spy install controller" in proc.stderr


def test_systemd_cannot_be_started_inside_an_install_root(root: Path, tmp_path: Path) -> None:
    exe = write_sleeper(tmp_path / "k0spy")
    assert _install(root, exe, "worker", "--data-dir=/d").returncode == 0
    proc = run_k0spy(["start", "--root", str(root), "--init-system", "systemd"])
    assert proc.returncode == 1 and "only be started on the live system" in proc.stderr


def test_install_needs_root_only_for_the_live_system() -> None:
    assert os.geteuid() == 0  # the suite runs as root (common rules); install --root / is allowed then
    proc = run_k0spy(["install", "worker", "--init-system", "bogus"])
    assert proc.returncode == 2 and "bogus" in proc.stderr


def test_failed_force_reinstall_keeps_the_old_service(root: Path, tmp_path: Path) -> None:
    exe = write_sleeper(tmp_path / "k0spy")
    assert _install(root, exe, "controller", "--data-dir=/a").returncode == 0
    unit = root / "etc/systemd/system/k0scontroller.service"
    before = unit.read_text()
    bad = tmp_path / "k0s.yaml"
    bad.write_text("apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  nope: 1\n")
    proc = _install(root, exe, "controller", "--force", "--data-dir=/b", "-c", str(bad))
    assert proc.returncode == 1 and str(bad) in proc.stderr
    assert unit.read_text() == before
