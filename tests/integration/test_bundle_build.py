"""Building bundles from a directory and from a k0s-style executable; the single-file artifact."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from k0spy.assets.payload import MANIFEST_NAME, Bundle, describe
from k0spy.assets.stage import stage_binaries
from k0spy.paths import Paths
from tests.support.bundle import PACKAGING, dummy_binary, make_bundle, run_binary

from k0spy_bundle.zipbundle import extract_k0s_payload  # isort: skip

REPO = PACKAGING.parent


def build_py(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(PACKAGING / "build.py"), *args], capture_output=True,
                          text=True, check=False, timeout=300, cwd=REPO, env=env)


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "bins"
    directory.mkdir()
    for i, name in enumerate(["kubelet", "etcd", "containerd"]):
        dummy_binary(directory, name, 50_000 + i)
    (directory / "README").write_text("not executable: skipped")
    return directory


def test_build_from_directory_writes_manifest_readable_by_unzip(bin_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundle.zip"
    result = build_py("bundle", "--dir", str(bin_dir), "-o", str(out), "--dev", "--description", "dummies")
    assert result.returncode == 0, result.stderr
    listing = subprocess.run(["unzip", "-Z1", str(out)], capture_output=True, text=True, check=True).stdout
    assert listing.split() == ["containerd", "etcd", "kubelet", MANIFEST_NAME]
    manifest = json.loads(zipfile.ZipFile(out).read(MANIFEST_NAME))
    assert manifest["kind"] == "dev" and manifest["description"] == "dummies"
    for name in ("containerd", "etcd", "kubelet"):
        data = (bin_dir / name).read_bytes()
        assert manifest["binaries"][name]["sha256"] == hashlib.sha256(data).hexdigest()
        assert manifest["binaries"][name]["size"] == len(data)
    assert manifest["binaries"]["kubelet"]["version"] == "1.35.0"  # from k0spy/pins.py
    extracted = tmp_path / "unzipped"
    subprocess.run(["unzip", "-q", str(out), "-d", str(extracted)], check=True)
    assert (extracted / "etcd").read_bytes() == (bin_dir / "etcd").read_bytes()


def test_build_without_sources_fails_with_a_hint(tmp_path: Path) -> None:
    result = build_py("bundle", "-o", str(tmp_path / "b.zip"))
    assert result.returncode == 1
    assert "no binaries to bundle" in result.stderr and "--dir" in result.stderr


def test_payload_appended_to_an_executable_is_read(bin_dir: Path, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "bundle.zip", {"etcd": bin_dir / "etcd"})
    exe = tmp_path / "k0s"
    exe.write_bytes(b"\x7fELF" + os.urandom(300_000) + bundle.read_bytes())
    with Bundle(exe) as opened:
        assert set(opened.entries) == {"etcd"}
        assert opened.zip.read("etcd") == (bin_dir / "etcd").read_bytes()


def test_k0s_executable_payload_without_manifest(bin_dir: Path, tmp_path: Path, paths: Paths) -> None:
    payload = tmp_path / "payload.zip"
    with zipfile.ZipFile(payload, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("kine", "konnectivity-server"):
            archive.write(dummy_binary(bin_dir, name), name)
    k0s = tmp_path / "k0s-v1.35.0+k0s.0-amd64"
    k0s.write_bytes(b"\x7fELF" + os.urandom(100_000) + payload.read_bytes())
    out = tmp_path / "out"
    out.mkdir()
    assert set(extract_k0s_payload(k0s, out)) == {"kine", "konnectivity-server"}
    assert run_binary(out / "kine") == "kine v1"
    assert "no k0spy manifest" in describe(k0s)


async def test_k0s_executable_stages_directly(bin_dir: Path, tmp_path: Path, paths: Paths) -> None:
    payload = tmp_path / "payload.zip"
    with zipfile.ZipFile(payload, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(dummy_binary(bin_dir, "kine"), "kine")
    k0s = tmp_path / "k0s"
    k0s.write_bytes(b"\x7fELF" + os.urandom(100_000) + payload.read_bytes())
    staged = await stage_binaries(paths, ["kine"], bundle=k0s)
    assert staged["kine"].extracted and run_binary(staged["kine"].path) == "kine v1"


@pytest.mark.slow
async def test_single_file_artifact_runs_and_stages(bin_dir: Path, tmp_path: Path, paths: Paths) -> None:
    bundle = tmp_path / "dev.zip"
    assert build_py("bundle", "--dir", str(bin_dir), "-o", str(bundle), "--dev",
                    "--description", "dummies").returncode == 0
    artifact = tmp_path / "k0spy"
    result = build_py("artifact", "--bundle", str(bundle), "-o", str(artifact))
    assert result.returncode == 0, result.stderr
    env = {"PATH": os.environ["PATH"], "K0SPY_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    for _ in range(2):  # first run unpacks the code, the second reuses it
        run = subprocess.run([str(artifact), "version"], capture_output=True, text=True, env=env,
                             cwd=tmp_path, check=False, timeout=60)
        assert run.returncode == 0, run.stderr
        assert f"bundle:       dev (dummies), linux-amd64, {artifact}" in run.stdout
    assert len(list((tmp_path / "cache").iterdir())) == 1
    listing = subprocess.run(["unzip", "-Z1", str(artifact)], capture_output=True, text=True).stdout.split()
    assert {"kubelet", "etcd", "containerd", MANIFEST_NAME, "__main__.py"} <= set(listing)
    staged = await stage_binaries(paths, ["kubelet"], bundle=artifact)
    assert run_binary(staged["kubelet"].path) == "kubelet v1"


@pytest.mark.slow
def test_dev_bundle_holds_debian_binaries_and_doubles(tmp_path: Path) -> None:
    result = build_py("dev-bundle", "-o", str(tmp_path), "--no-artifact", "--compression", "stored")
    assert result.returncode == 0, result.stderr
    (bundle,) = tmp_path.glob("k0spy-dev-bundle-linux-*.zip")
    with Bundle(bundle) as opened:
        assert opened.kind == "dev"
        assert {"etcd", "containerd", "containerd-shim-runc-v2", "runc"} <= set(opened.entries)
        assert opened.manifest["binaries"]["etcd"]["source"] == "debian:/usr/bin/etcd"
        doubles = {"kube-apiserver", "kube-scheduler", "kube-controller-manager", "kubelet", "kine",
                   "konnectivity-server"}
        assert doubles <= set(opened.entries)
        assert opened.manifest["description"] == "Debian etcd/containerd/runc + test doubles"
    assert describe(bundle).startswith("dev (Debian etcd/containerd/runc + test doubles)")
