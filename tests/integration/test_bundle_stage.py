"""Staging from a real bundle into DATA/bin: idempotent, self-repairing, atomic on a full disk."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from k0spy.assets.payload import BUNDLE_ENV
from k0spy.assets.stage import Source, stage_binaries
from k0spy.errors import K0spyError
from k0spy.paths import Paths
from tests.support.bundle import dummy_binary, make_bundle, mount_tmpfs, run_binary, umount

NAMES = ["etcd", "kube-apiserver", "kubelet", "runc"]


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    binaries = {name: dummy_binary(src, name, 200_000 + i) for i, name in enumerate(NAMES)}
    return make_bundle(tmp_path / "bundle.zip", binaries)


async def test_stages_with_mode_and_bundle_mtime(paths: Paths, bundle: Path) -> None:
    staged = await stage_binaries(paths, NAMES, bundle=bundle)
    for name in NAMES:
        info = os.stat(paths.bin_dir / name)
        assert stat.S_IMODE(info.st_mode) == 0o750
        assert info.st_mtime_ns == os.stat(bundle).st_mtime_ns
        assert staged[name].source is Source.BUNDLE and staged[name].extracted
        assert staged[name].version == "1.0.0"
        assert run_binary(staged[name].path) == f"{name} v1"
    assert stat.S_IMODE(os.stat(paths.bin_dir).st_mode) == 0o755


async def test_staging_twice_leaves_inode_and_mtime_untouched(paths: Paths, bundle: Path) -> None:
    await stage_binaries(paths, NAMES, bundle=bundle)
    before = {name: os.stat(paths.bin_dir / name) for name in NAMES}
    again = await stage_binaries(paths, NAMES, bundle=bundle)
    for name in NAMES:
        after = os.stat(paths.bin_dir / name)
        assert (after.st_ino, after.st_mtime_ns, after.st_ctime_ns) == (
            before[name].st_ino, before[name].st_mtime_ns, before[name].st_ctime_ns)
        assert not again[name].extracted


async def test_concurrent_stagers_of_the_same_binaries_both_succeed(paths: Paths, bundle: Path) -> None:
    first, second = await asyncio.gather(stage_binaries(paths, NAMES, bundle=bundle),
                                         stage_binaries(paths, NAMES, bundle=bundle))
    for name in NAMES:
        assert first[name].path == second[name].path
        assert run_binary(paths.bin_dir / name) == f"{name} v1"
    assert sorted(p.name for p in paths.bin_dir.iterdir()) == sorted(NAMES)  # no temp file left


async def test_truncated_binary_is_replaced(paths: Paths, bundle: Path) -> None:
    await stage_binaries(paths, NAMES, bundle=bundle)
    target = paths.bin_dir / "kubelet"
    with open(target, "r+b") as handle:
        handle.truncate(100)
    staged = await stage_binaries(paths, ["kubelet"], bundle=bundle)
    assert staged["kubelet"].extracted
    assert run_binary(target) == "kubelet v1"
    assert target.stat().st_size > 100


async def test_modified_binary_is_replaced(paths: Paths, bundle: Path) -> None:
    await stage_binaries(paths, NAMES, bundle=bundle)
    target = paths.bin_dir / "etcd"
    size = target.stat().st_size
    target.write_bytes(b"#!/bin/sh\necho tampered\n".ljust(size, b"#"))  # same size, new mtime
    assert run_binary(target) == "tampered"
    staged = await stage_binaries(paths, ["etcd"], bundle=bundle)
    assert staged["etcd"].extracted
    assert run_binary(target) == "etcd v1"


async def test_sha256_check_catches_an_edit_that_kept_size_and_mtime(paths: Paths, bundle: Path) -> None:
    await stage_binaries(paths, ["etcd"], bundle=bundle)
    target = paths.bin_dir / "etcd"
    before = os.stat(target)
    target.write_bytes(b"#!/bin/sh\necho tampered\n".ljust(before.st_size, b"#"))
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert not (await stage_binaries(paths, ["etcd"], bundle=bundle))["etcd"].extracted
    staged = await stage_binaries(paths, ["etcd"], bundle=bundle, check="sha256")
    assert staged["etcd"].extracted
    assert run_binary(target) == "etcd v1"


async def test_new_bundle_restages(paths: Paths, bundle: Path, tmp_path: Path) -> None:
    await stage_binaries(paths, ["runc"], bundle=bundle)
    newer = tmp_path / "v2"
    newer.mkdir()
    time.sleep(0.01)
    make_bundle(bundle, {"runc": dummy_binary(newer, "runc", 200_003, tag="v2")})
    staged = await stage_binaries(paths, ["runc"], bundle=bundle)
    assert staged["runc"].extracted
    assert run_binary(paths.bin_dir / "runc") == "runc v2"


async def test_fallbacks_to_bin_dir_then_path_with_a_log_line(
    paths: Paths, bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths.bin_dir.mkdir(parents=True)
    dummy_binary(paths.bin_dir, "kine")
    on_path = tmp_path / "path"
    on_path.mkdir()
    dummy_binary(on_path, "konnectivity-server")
    monkeypatch.setenv("PATH", f"{on_path}{os.pathsep}{os.environ['PATH']}")
    with capture_logs() as logs:
        staged = await stage_binaries(paths, ["etcd", "kine", "konnectivity-server"], bundle=bundle)
    assert staged["kine"].source is Source.BIN_DIR and staged["kine"].path == paths.bin_dir / "kine"
    assert staged["konnectivity-server"].source is Source.PATH
    assert staged["konnectivity-server"].path == on_path / "konnectivity-server"
    lines = {log["binary"]: log for log in logs if log["event"] == "assets.binary"}
    assert lines["etcd"]["source"] == "bundle" and lines["etcd"]["bundle"] == str(bundle)
    assert lines["kine"]["source"] == "bin-dir"
    assert lines["konnectivity-server"]["source"] == "path"


async def test_bundle_from_environment(paths: Paths, bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BUNDLE_ENV, str(bundle))
    staged = await stage_binaries(paths, ["kubelet"])
    assert staged["kubelet"].source is Source.BUNDLE


async def test_dev_bundle_is_announced(paths: Paths, tmp_path: Path) -> None:
    src = tmp_path / "dev"
    src.mkdir()
    dev = make_bundle(tmp_path / "dev.zip", {"etcd": dummy_binary(src, "etcd")}, kind="dev",
                      description="Debian etcd + doubles")
    with capture_logs() as logs:
        await stage_binaries(paths, ["etcd"], bundle=dev)
    warning = next(log for log in logs if log["event"] == "assets.dev_bundle")
    assert warning["log_level"] == "warning" and warning["description"] == "Debian etcd + doubles"


async def test_missing_everywhere_is_an_error(paths: Paths, bundle: Path) -> None:
    with pytest.raises(K0spyError, match=r"binary no-such-binary-k0spy not found in bundle .*bundle\.zip"):
        await stage_binaries(paths, ["no-such-binary-k0spy"], bundle=bundle)


async def test_not_a_zip_is_an_error_naming_the_file(paths: Paths, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(K0spyError, match=r"bundle .*bogus is not a readable ZIP payload"):
        await stage_binaries(paths, ["etcd"], bundle=bogus)


async def test_full_disk_fails_cleanly_and_keeps_the_previous_binary(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    mount_tmpfs(disk, "1m")
    try:
        paths = Paths.build(disk / "data", run_dir=tmp_path / "run", etc_dir=tmp_path / "etc")
        src = tmp_path / "src"
        src.mkdir()
        small = make_bundle(tmp_path / "small.zip", {"kubelet": dummy_binary(src, "kubelet", 100_000)})
        await stage_binaries(paths, ["kubelet"], bundle=small)
        big_src = tmp_path / "big"
        big_src.mkdir()
        big = make_bundle(tmp_path / "big.zip",
                          {"kubelet": dummy_binary(big_src, "kubelet", 4_000_000, tag="v2")})
        with pytest.raises(K0spyError, match=r"staging kubelet into .*: no space left on device") as caught:
            await stage_binaries(paths, ["kubelet"], bundle=big)
        assert caught.value.hint is not None and "free some space" in caught.value.hint
        assert sorted(p.name for p in paths.bin_dir.iterdir()) == ["kubelet"]  # no temp file left
        assert run_binary(paths.bin_dir / "kubelet") == "kubelet v1"
    finally:
        umount(disk)
