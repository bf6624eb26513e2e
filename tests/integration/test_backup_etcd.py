"""Backup and restore against a real etcd 3.4, through the `k0spy` CLI as an operator runs it.

Until the controller command and the apiserver double exist, the "controller" is `tests.support.backup`:
a k0s-shaped data dir (PKI from k0spy.pki, etcd data in DATA/etcd, certs in PKI/etcd), real etcd, and the
runtime lock + RUN/k0s.yaml held by the test. Objects are written as etcd keys, as the apiserver would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from k0spy.paths import Paths
from tests.support.backup import (
    BOOTSTRAP_KEY,
    Controller,
    make_controller,
    member_names,
    objects,
    only_archive,
    tree_snapshot,
)
from tests.support.cli import run_k0spy


@pytest.fixture
def controller(paths: Paths) -> Iterator[Controller]:
    ctl = make_controller(paths)
    try:
        ctl.client().put_many(objects())
        ctl.hold_lock()
        yield ctl
    finally:
        ctl.stop()


def _backup(ctl: Controller, save: Path) -> Path:
    save.mkdir(exist_ok=True)
    proc = run_k0spy(["backup", "--save-path", str(save), *ctl.cli_dirs()])
    assert proc.returncode == 0, proc.stderr
    return only_archive(save)


def test_round_trip_brings_back_every_object_the_token_and_the_ca(controller: Controller,
                                                                  tmp_path: Path) -> None:
    before = controller.client().range_prefix("/registry/")
    old_cluster = controller.client().cluster_id()
    pki = controller.paths.cert_dir
    ca = (pki / "ca.crt").read_bytes(), (pki / "ca.key").read_bytes()
    archive = _backup(controller, tmp_path / "backups")
    names = member_names(archive)
    assert names[0] == "etcd-snapshot.db" and names[-2:] == ["k0s.yaml", "k0spy-backup-manifest.json"]
    expected = {"pki", "pki/ca.crt", "pki/etcd/ca.crt", "manifests/coredns/coredns.yaml", "helmhome"}
    assert expected <= set(names)
    assert oct(archive.stat().st_mode & 0o777) == "0o600"

    controller.stop()
    controller.wipe()
    out = tmp_path / "restored.yaml"
    proc = run_k0spy(["restore", str(archive), "--config-out", str(out), *controller.cli_dirs()])
    assert proc.returncode == 0, proc.stderr
    assert "restored etcd-snapshot.db as a new one-member etcd" in proc.stderr
    assert out.read_bytes() == controller.config_path.read_bytes()
    assert (controller.paths.cert_dir / "ca.crt").read_bytes() == ca[0]
    assert (controller.paths.cert_dir / "ca.key").read_bytes() == ca[1]
    assert os.stat(controller.paths.cert_dir).st_mode & 0o777 == 0o751
    assert os.stat(controller.paths.etcd_data_dir).st_mode & 0o777 == 0o700

    controller.start_etcd()
    after = controller.client().range_prefix("/registry/")
    assert after == before and len(after) == 2001
    assert BOOTSTRAP_KEY in after
    assert controller.client().cluster_id() != old_cluster


def test_stdout_backup_restores_from_stdin(controller: Controller, tmp_path: Path) -> None:
    archive = tmp_path / "piped.tar.gz"
    with archive.open("wb") as out:
        proc = subprocess.run([sys.executable, "-m", "k0spy", "backup", "--save-path", "-",
                               *controller.cli_dirs()], stdout=out, stderr=subprocess.PIPE, timeout=120,
                              check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    before = controller.client().range_prefix("/registry/")
    controller.stop()
    controller.wipe()
    with archive.open("rb") as stdin:
        restored = subprocess.run([sys.executable, "-m", "k0spy", "restore", "-", *controller.cli_dirs()],
                                  stdin=stdin, capture_output=True, timeout=120, check=False)
    assert restored.returncode == 0, restored.stderr.decode()
    assert restored.stdout == controller.config_path.read_bytes()  # config goes to stdout, as in k0s
    controller.start_etcd()
    assert controller.client().range_prefix("/registry/") == before


def test_verify_and_dry_run_change_nothing(controller: Controller, tmp_path: Path) -> None:
    archive = _backup(controller, tmp_path / "b")
    verify = run_k0spy(["backup", "--verify", str(archive)])
    assert verify.returncode == 0, verify.stderr
    assert "manifest:" in verify.stdout and "pki/ca.key matches pki/ca.crt" in verify.stdout
    assert "etcd-snapshot.db: opens with etcdctl" in verify.stdout
    controller.stop()
    controller.wipe()
    dry = run_k0spy(["restore", str(archive), "--dry-run", "--config-out", str(tmp_path / "c.yaml"),
                     *controller.cli_dirs()])
    assert dry.returncode == 0, dry.stderr
    assert "would write pki/ (" in dry.stderr and f"-> {controller.paths.etcd_data_dir}" in dry.stderr
    assert not controller.paths.data_dir.exists() and not (tmp_path / "c.yaml").exists()


def test_restore_while_running_is_refused_and_changes_nothing(controller: Controller, tmp_path: Path) -> None:
    archive = _backup(controller, tmp_path / "b")
    before = tree_snapshot(controller.paths.data_dir)
    proc = run_k0spy(["restore", str(archive), "--config-out", str(tmp_path / "c.yaml"),
                      *controller.cli_dirs()])
    assert proc.returncode == 1
    assert f"k0spy is running on this node (the lock {controller.paths.runtime_lock} is held)" in proc.stderr
    assert tree_snapshot(controller.paths.data_dir) == before
    assert not (tmp_path / "c.yaml").exists()


def test_restore_over_existing_data_is_refused(controller: Controller, tmp_path: Path) -> None:
    archive = _backup(controller, tmp_path / "b")
    controller.stop()
    before = tree_snapshot(controller.paths.data_dir)
    proc = run_k0spy(["restore", str(archive), "--config-out", str(tmp_path / "c.yaml"),
                      *controller.cli_dirs()])
    assert proc.returncode == 1
    assert f"restore would overwrite existing data: {controller.paths.etcd_data_dir}" in proc.stderr
    assert "k0spy reset" in proc.stderr
    assert tree_snapshot(controller.paths.data_dir) == before
    siblings = controller.paths.data_dir.parent.iterdir()
    assert not any(p.name.startswith(".data.k0spy-restore-") for p in siblings)


def test_save_path_that_does_not_exist_is_refused(controller: Controller, tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    proc = run_k0spy(["backup", "--save-path", str(missing), *controller.cli_dirs()])
    assert proc.returncode == 1
    assert f"Error: the save path {missing} does not exist" in proc.stderr
    assert not missing.exists()


def test_backup_without_a_running_daemon_is_refused(paths: Paths, tmp_path: Path) -> None:
    proc = run_k0spy(["backup", "--save-path", str(tmp_path), "--data-dir", str(paths.data_dir),
                      "--run-dir", str(paths.run_dir)])
    assert proc.returncode == 1
    assert f"k0spy is not running on this node (no daemon holds {paths.runtime_lock})" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_backup_of_external_etcd_is_refused(paths: Paths, tmp_path: Path) -> None:
    from k0spy.runtime import runtime_lock

    config = {"spec": {"storage": {"type": "etcd", "etcd": {"externalCluster": {
        "endpoints": ["https://10.0.0.1:2379"], "etcdPrefix": "k0s"}}}}}
    paths.data_dir.mkdir(parents=True)
    save = tmp_path / "save"
    save.mkdir()
    with runtime_lock(paths, config):
        proc = run_k0spy(["backup", "--save-path", str(save), "--data-dir", str(paths.data_dir),
                          "--run-dir", str(paths.run_dir)])
    assert proc.returncode == 1
    assert "k0spy backup does not support an external etcd cluster" in proc.stderr
    assert list(save.iterdir()) == []


def _partial_size(save: Path) -> int:
    return sum(p.stat().st_size for p in save.glob(".k0spy-backup-*/*.partial"))


@pytest.mark.parametrize("written", [0, 8 << 20])
def test_killed_backup_leaves_no_file_that_looks_complete(controller: Controller, tmp_path: Path,
                                                          written: int) -> None:
    big = {f"/registry/blobs/{i}": os.urandom(1 << 19) for i in range(96)}  # incompressible: a slow archive
    controller.client().put_many(big)
    save = tmp_path / "save"
    save.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "k0spy", "backup", "--save-path", str(save),
                             *controller.cli_dirs()], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while (not list(save.glob(".k0spy-backup-*/*.partial")) or _partial_size(save) < written) \
                and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert list(save.glob("k0s_backup_*")) == []
    partial = list(save.glob(".k0spy-backup-*/*.partial"))
    assert partial
    for leftover in partial:  # the archive being written does not verify
        check = run_k0spy(["backup", "--verify", str(leftover)])
        assert check.returncode == 1 and "truncated or corrupt" in check.stderr
