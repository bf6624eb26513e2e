"""The payload summary in the ZIP comment, bundle location precedence and the staging check (pure)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from k0spy.assets.payload import (
    ARTIFACT_ENV,
    BUNDLE_ENV,
    Entry,
    describe,
    locate_bundle,
    parse_summary,
    read_comment,
    render_summary,
)
from k0spy.assets.stage import is_current


def test_summary_round_trips_with_spaces_in_values() -> None:
    fields = {"kind": "dev", "arch": "amd64", "description": "Debian etcd/containerd/runc + test doubles"}
    assert parse_summary(render_summary(fields)) == fields


def test_summary_of_a_foreign_comment_is_empty() -> None:
    assert parse_summary("made by zip 3.0") == {}
    assert parse_summary(None) == {}


def test_read_comment_finds_the_comment_after_prepended_bytes(tmp_path: Path) -> None:
    archive = tmp_path / "payload.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("etcd", b"x")
        zf.comment = render_summary({"kind": "dev", "arch": "amd64"}).encode()
    artifact = tmp_path / "artifact"
    artifact.write_bytes(b"#!/bin/sh\nexit 0\n" + os.urandom(4096) + archive.read_bytes())
    assert parse_summary(read_comment(artifact)) == {"kind": "dev", "arch": "amd64"}


def test_read_comment_of_a_non_zip_is_none(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(b"\x7fELF" + bytes(100))
    assert read_comment(plain) is None
    assert read_comment(tmp_path / "missing") is None


def test_locate_prefers_explicit_then_bundle_env_then_artifact(tmp_path: Path) -> None:
    env = {BUNDLE_ENV: str(tmp_path / "b.zip"), ARTIFACT_ENV: str(tmp_path / "art")}
    assert locate_bundle(tmp_path / "x.zip", env) == tmp_path / "x.zip"
    assert locate_bundle(None, env) == tmp_path / "b.zip"
    assert locate_bundle(None, {ARTIFACT_ENV: str(tmp_path / "art")}) == tmp_path / "art"
    assert locate_bundle(None, {}) is None


def test_describe_names_a_dev_bundle(tmp_path: Path) -> None:
    archive = tmp_path / "dev.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("etcd", b"x")
        fields = {"kind": "dev", "arch": "amd64", "description": "Debian + doubles"}
        zf.comment = render_summary(fields).encode()
    assert describe(archive) == f"dev (Debian + doubles), linux-amd64, {archive}"
    assert describe(None).startswith("none")
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("__main__.py", b"")
        zf.comment = render_summary({"kind": "bare", "arch": "amd64"}).encode()
    assert describe(archive).startswith("none (bare artifact")
    assert describe(tmp_path / "gone.zip") == f"missing: {tmp_path / 'gone.zip'} does not exist"


def _stat(tmp_path: Path, size: int, mtime_ns: int) -> os.stat_result:
    path = tmp_path / "bin"
    path.write_bytes(bytes(size))
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return os.stat(path)


def test_is_current_needs_same_size_and_mtime(tmp_path: Path) -> None:
    entry = Entry("etcd", 10, "ab" * 32, "3.6.14")
    mtime = 1_700_000_000_123_456_789
    assert is_current(_stat(tmp_path, 10, mtime), entry, mtime)
    assert not is_current(_stat(tmp_path, 9, mtime), entry, mtime)
    assert not is_current(_stat(tmp_path, 10, mtime + 1000), entry, mtime)
    assert not is_current(None, entry, mtime)


def test_is_current_with_digest_compares_sha256(tmp_path: Path) -> None:
    entry = Entry("etcd", 10, "ab" * 32, None)
    mtime = 1_700_000_000_000_000_000
    stat = _stat(tmp_path, 10, mtime)
    assert is_current(stat, entry, mtime, digest="ab" * 32)
    assert not is_current(stat, entry, mtime, digest="cd" * 32)


def test_role_binaries() -> None:
    from k0spy.assets.stage import role_binaries

    assert role_binaries(controller=True, worker=False, storage="kine") == [
        "kine", "kube-apiserver", "konnectivity-server", "kube-scheduler", "kube-controller-manager"]
    worker = role_binaries(controller=False, worker=True)
    assert worker == ["containerd", "containerd-shim-runc-v2", "runc", "kubelet"]
    both = role_binaries(controller=True, worker=True)
    assert both[0] == "etcd" and "kubelet" in both
