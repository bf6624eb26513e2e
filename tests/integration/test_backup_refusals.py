"""Damaged and foreign archives: each refused with a precise message and nothing changed; and an archive
laid out exactly as k0s writes it (no manifest, duplicate repositories.yaml) restores with a warning.

One real backup is taken per module (real etcd, stopped before the tests run); each test derives its
archive from it and restores into its own empty data dir.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from k0spy.paths import Paths
from tests.support.backup import BOOTSTRAP_KEY, Controller, make_controller, objects, only_archive
from tests.support.cli import run_k0spy

Transform = Callable[[tarfile.TarInfo, bytes | None], tuple[tarfile.TarInfo, bytes | None] | None]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Controller]:
    base = tmp_path_factory.mktemp("origin")
    paths = Paths.build(base / "data", run_dir=base / "run", etc_dir=base / "etc")
    ctl = make_controller(paths)
    try:
        ctl.client().put_many(objects(200))
        ctl.hold_lock()
        save = base / "save"
        save.mkdir()
        proc = run_k0spy(["backup", "--save-path", str(save), *ctl.cli_dirs()])
        assert proc.returncode == 0, proc.stderr
    finally:
        ctl.stop()
    return only_archive(save), ctl


def repack(source: Path, dest: Path, transform: Transform, extra: list[tuple[str, bytes]] = ()) -> Path:
    """Rewrite an archive member by member; `transform` returns None to drop one."""
    with tarfile.open(source, "r:gz") as src, tarfile.open(dest, "w:gz", format=tarfile.GNU_FORMAT) as out:
        for info in src:
            handle = src.extractfile(info) if info.isreg() else None
            result = transform(info, handle.read() if handle else None)
            if result is None:
                continue
            new, data = result
            if data is not None:
                new.size = len(data)
            out.addfile(new, io.BytesIO(data) if data is not None else None)
        for name, data in extra:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return dest


def restore(archive: Path, paths: Paths, tmp_path: Path) -> tuple[int, str]:
    proc = run_k0spy(["restore", str(archive), "--config-out", str(tmp_path / "out.yaml"),
                      "--data-dir", str(paths.data_dir), "--run-dir", str(paths.run_dir)])
    return proc.returncode, proc.stderr


def assert_refused(archive: Path, paths: Paths, tmp_path: Path, message: str) -> None:
    code, stderr = restore(archive, paths, tmp_path)
    assert code == 1, stderr
    assert message in stderr, stderr
    assert "nothing was changed" in stderr
    assert not paths.data_dir.exists() and not (tmp_path / "out.yaml").exists()
    assert [p.name for p in paths.data_dir.parent.iterdir() if "k0spy-restore" in p.name] == []
    verify = run_k0spy(["backup", "--verify", str(archive)])
    assert verify.returncode == 1 and message in verify.stderr


def test_truncated_archive(made: tuple[Path, Controller], paths: Paths, tmp_path: Path) -> None:
    data = made[0].read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    assert_refused(cut, paths, tmp_path, f"the archive {cut} is truncated or corrupt")


def test_member_whose_checksum_does_not_match(made: tuple[Path, Controller], paths: Paths,
                                               tmp_path: Path) -> None:
    def flip(info: tarfile.TarInfo, data: bytes | None) -> tuple[tarfile.TarInfo, bytes | None]:
        if info.name == "manifests/coredns/coredns.yaml" and data is not None:
            data = data.replace(b"ConfigMap", b"ConfigMaq")
        return info, data

    bad = repack(made[0], tmp_path / "bad.tar.gz", flip)
    assert_refused(bad, paths, tmp_path, f"the archive {bad} does not match its manifest:\n"
                                         "  member manifests/coredns/coredns.yaml has sha256 ")


def test_archive_without_k0s_yaml(made: tuple[Path, Controller], paths: Paths, tmp_path: Path) -> None:
    bad = repack(made[0], tmp_path / "noconf.tar.gz", lambda i, d: None if i.name == "k0s.yaml" else (i, d))
    assert_refused(bad, paths, tmp_path, f"the archive {bad} has no k0s.yaml member")


def _k0s_layout(info: tarfile.TarInfo, data: bytes | None) -> tuple[tarfile.TarInfo, bytes | None] | None:
    return None if info.name == "k0spy-backup-manifest.json" else (info, data)


def test_corrupt_snapshot_without_manifest_fails_its_trailer(made: tuple[Path, Controller], paths: Paths,
                                                             tmp_path: Path) -> None:
    def corrupt(info: tarfile.TarInfo, data: bytes | None) -> tuple[tarfile.TarInfo, bytes | None] | None:
        if info.name == "etcd-snapshot.db" and data is not None:
            data = data[:4096] + bytes([data[4096] ^ 1]) + data[4097:]
        return _k0s_layout(info, data)

    bad = repack(made[0], tmp_path / "snap.tar.gz", corrupt)
    assert_refused(bad, paths, tmp_path, f"etcd-snapshot.db in {bad} fails its sha256 trailer check")


def test_ca_key_that_does_not_match_the_certificate(made: tuple[Path, Controller], paths: Paths,
                                                    tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption())

    def swap(info: tarfile.TarInfo, data: bytes | None) -> tuple[tarfile.TarInfo, bytes | None] | None:
        return _k0s_layout(info, other if info.name == "pki/ca.key" else data)

    bad = repack(made[0], tmp_path / "key.tar.gz", swap)
    assert_refused(bad, paths, tmp_path, f"pki/ca.key in {bad} does not belong to pki/ca.crt")


def test_k0s_layout_without_manifest_restores_with_a_warning(made: tuple[Path, Controller], paths: Paths,
                                                             tmp_path: Path) -> None:
    archive, origin = made
    repos = (origin.paths.helm_repository_config).read_bytes()
    k0s = repack(archive, tmp_path / "k0s_backup_2024-01-02T03_04_05_000Z.tar.gz", _k0s_layout,
                 extra=[("helmhome/repositories.yaml", repos)])  # k0s adds this file twice
    code, stderr = restore(k0s, paths, tmp_path)
    assert code == 0, stderr
    assert "Warning: the archive has no k0spy-backup-manifest.json (made by k0s?): its members cannot be " \
           "checksum-verified" in stderr
    assert (paths.cert_dir / "ca.crt").read_bytes() == (origin.paths.cert_dir / "ca.crt").read_bytes()
    restored = Controller(paths, origin.client_port, origin.peer_port, origin.config, origin.config_path)
    try:
        restored.start_etcd()
        keys = restored.client().range_prefix("/registry/")
    finally:
        restored.stop()
    assert len(keys) == 201 and BOOTSTRAP_KEY in keys


def test_default_config_out_is_named_after_the_archive(made: tuple[Path, Controller], paths: Paths,
                                                       tmp_path: Path) -> None:
    proc = run_k0spy(["restore", str(made[0]), "--data-dir", str(paths.data_dir), "--run-dir",
                      str(paths.run_dir)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    stamp = made[0].name.removeprefix("k0s_backup_").removesuffix(".tar.gz")
    assert (tmp_path / f"k0s_{stamp}.yaml").read_bytes() == made[1].config_path.read_bytes()


def test_snapshot_that_does_not_open_is_refused_before_anything_changes(made: tuple[Path, Controller],
                                                                        paths: Paths, tmp_path: Path) -> None:
    import hashlib

    garbage = b"not a bbolt database" * 1000
    garbage += b"\0" * (-len(garbage) % 512)
    snapshot = garbage + hashlib.sha256(garbage).digest()  # a valid trailer over a body that is no database

    def replace(info: tarfile.TarInfo, data: bytes | None) -> tuple[tarfile.TarInfo, bytes | None] | None:
        return _k0s_layout(info, snapshot if info.name == "etcd-snapshot.db" else data)

    bad = repack(made[0], tmp_path / "garbage.tar.gz", replace)
    code, stderr = restore(bad, paths, tmp_path)
    assert code == 1 and "etcdctl snapshot restore of etcd-snapshot.db failed" in stderr, stderr
    assert "nothing was changed" in stderr
    assert not paths.data_dir.exists() and not (tmp_path / "out.yaml").exists()
    verify = run_k0spy(["backup", "--verify", str(bad)])
    assert verify.returncode == 1 and "etcdctl snapshot status etcd-snapshot.db failed" in verify.stderr
