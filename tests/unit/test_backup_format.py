"""Pure parts of backup/restore: names, manifest, storage plan, SQLite paths, progress."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

from k0spy.backup.archive import archive_name, default_config_out
from k0spy.backup.kine import sqlite_path
from k0spy.backup.manifest import Manifest, MemberDigest, compare
from k0spy.backup.progress import ByteProgress, human
from k0spy.backup.storage import storage_plan
from k0spy.config.load import build_cluster_config
from k0spy.errors import K0spyError


def test_archive_name_uses_k0s_layout_with_literal_000z() -> None:
    name = archive_name(dt.datetime(2021, 4, 26, 19, 51, 57, 123456))
    assert name == "k0s_backup_2021-04-26T19_51_57_000Z.tar.gz"


@pytest.mark.parametrize(("archive", "expected"), [
    ("/x/k0s_backup_2021-04-26T19_51_57_000Z.tar.gz", "k0s_2021-04-26T19_51_57_000Z.yaml"),
    ("other.tar.gz", "k0s_other.yaml"),
    ("-", "-"),
])
def test_default_config_out_follows_k0s(archive: str, expected: str) -> None:
    assert default_config_out(archive) == expected


def _manifest() -> Manifest:
    manifest = Manifest(k0spy_version="0.1.0", storage="etcd", etcd_version="3.4.23", created_at="now")
    manifest.members["pki/ca.crt"] = MemberDigest("a" * 64, 10, 0o644)
    manifest.members["k0s.yaml"] = MemberDigest("b" * 64, 5, 0o600)
    manifest.directories["pki"] = 0o751
    return manifest


def test_manifest_round_trips_through_json() -> None:
    parsed = Manifest.from_json(_manifest().to_json())
    assert parsed.members == _manifest().members
    assert parsed.directories == {"pki": 0o751}
    assert (parsed.etcd_version, parsed.storage) == ("3.4.23", "etcd")


@pytest.mark.parametrize(("data", "message"), [
    (b"not json", "not JSON"),
    (b'{"format": "other"}', "format is 'other'"),
    (b'{"format": "k0spy-backup/v1", "members": {"a": {"size": 1}}}', "malformed member list"),
])
def test_manifest_parse_errors_say_what_is_wrong(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Manifest.from_json(data)


def test_compare_reports_every_difference() -> None:
    found = {"pki/ca.crt": MemberDigest("c" * 64, 10, 0o644), "extra": MemberDigest("d" * 64, 1, 0o644)}
    problems = compare(_manifest(), found)
    assert problems == [
        "member k0s.yaml is listed in the manifest but missing from the archive",
        f"member pki/ca.crt has sha256 {'c' * 64}, the manifest says {'a' * 64}",
        "member extra is in the archive but not in the manifest",
    ]
    assert compare(_manifest(), dict(_manifest().members)) == []


def _config(storage: dict[str, object]) -> object:
    raw = {"apiVersion": "k0s.k0sproject.io/v1beta1", "kind": "ClusterConfig", "spec": {"storage": storage}}
    return build_cluster_config(raw, "test", data_dir=Path("/d"))[0]


def test_storage_plan_for_default_etcd_is_k0s_endpoint_and_peer_port() -> None:
    plan = storage_plan(_config({"type": "etcd", "etcd": {"peerAddress": "10.0.0.5"}}), Path("/d"), "backup")
    assert (plan.kind, plan.etcd_endpoint, plan.peer_url) == ("etcd", "https://127.0.0.1:2379",
                                                              "https://10.0.0.5:2380")


def test_storage_plan_follows_etcd_extra_args_and_brackets_ipv6() -> None:
    cfg = _config({"type": "etcd", "etcd": {"peerAddress": "fd00::5", "extraArgs": {
        "listen-client-urls": "https://127.0.0.1:4001,https://127.0.0.1:4002"}}})
    plan = storage_plan(cfg, Path("/d"), "backup")
    assert (plan.etcd_endpoint, plan.peer_url) == ("https://127.0.0.1:4001", "https://[fd00::5]:2380")


def test_external_etcd_is_refused_as_k0s_does() -> None:
    cfg = _config({"type": "etcd", "etcd": {"externalCluster": {"endpoints": ["https://e:2379"],
                                                                "etcdPrefix": "k0s"}}})
    with pytest.raises(K0spyError, match="does not support an external etcd cluster") as err:
        storage_plan(cfg, Path("/d"), "restore")
    assert err.value.hint and "etcdctl snapshot" in err.value.hint


def test_kine_sqlite_and_other_backends() -> None:
    plan = storage_plan(_config({"type": "kine"}), Path("/d"), "backup")
    assert (plan.kind, plan.kine_db) == ("kine", Path("/d/db/state.db"))
    mysql = _config({"type": "kine", "kine": {"dataSource": "mysql://u:p@tcp(db:3306)/k0s"}})
    other = storage_plan(mysql, Path("/d"), "backup")
    assert other.kind == "none" and "'mysql' kine data source" in other.note


@pytest.mark.parametrize(("source", "expected"), [
    ("sqlite://file:/var/lib/k0s/db/state.db?mode=rwc&_journal=WAL", Path("/var/lib/k0s/db/state.db")),
    ("sqlite://db/state.db", Path("/data/db/state.db")),
    ("postgres://x", None),
])
def test_sqlite_path(source: str, expected: Path | None) -> None:
    assert sqlite_path(source, Path("/data")) == expected


def test_sqlite_path_without_a_file_is_refused() -> None:
    with pytest.raises(K0spyError, match="names no database file"):
        sqlite_path("sqlite://file::memory:?cache=shared", Path("/data"))


def test_progress_writes_only_when_enabled() -> None:
    quiet, loud = io.StringIO(), io.StringIO()
    off = ByteProgress("etcd snapshot", quiet, enabled=False)
    on = ByteProgress("etcd snapshot", loud, enabled=True)
    for bar in (off, on):
        bar(3 * 1024 * 1024)
        bar.done()
    assert quiet.getvalue() == ""
    assert "etcd snapshot: 3.0 MiB" in loud.getvalue() and loud.getvalue().endswith("\n")
    assert (human(512), human(1536), human(5 * 1024**3)) == ("512 B", "1.5 KiB", "5.0 GiB")
