"""Archive writing and unpacking on small in-memory archives: hashing, refusals, the etcd trailer."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest

from k0spy.backup.archive import ArchiveWriter, tree_entries
from k0spy.backup.extract import extract, safe_name
from k0spy.backup.manifest import Manifest
from k0spy.errors import K0spyError


def _tar_gz(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def test_writer_hashes_what_it_writes_and_extract_agrees(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "pki" / "etcd").mkdir(parents=True)
    (data / "pki" / "ca.crt").write_bytes(b"cert")
    (data / "pki" / "etcd" / "ca.key").write_bytes(b"key" * 1000)
    os.chmod(data / "pki" / "etcd" / "ca.key", 0o600)
    os.chmod(data / "pki", 0o751)
    out, manifest = io.BytesIO(), Manifest(k0spy_version="t", storage="etcd")
    writer = ArchiveWriter(out, manifest)
    for name, path in tree_entries(data, "pki"):
        writer.add_path(name, path)
    writer.close()
    assert manifest.members["pki/ca.crt"].sha256 == hashlib.sha256(b"cert").hexdigest()
    assert manifest.directories == {"pki": 0o751, "pki/etcd": 0o755}
    out.seek(0)
    found = extract(out, tmp_path / "staging", "mem")
    assert {n: d.sha256 for n, d in found.files.items()} == {n: d.sha256 for n, d in manifest.members.items()}
    assert found.meta["pki/etcd/ca.key"].mode == 0o600
    assert (tmp_path / "staging" / "pki" / "etcd" / "ca.key").read_bytes() == b"key" * 1000


def test_tree_entries_of_a_missing_tree_is_empty(tmp_path: Path) -> None:
    assert list(tree_entries(tmp_path, "images")) == []


@pytest.mark.parametrize("name", ["/etc/passwd", "../x", "pki/../../x", "", "./"])
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(K0spyError, match="unsafe name"):
        safe_name(name)


def test_leading_dot_slash_is_accepted() -> None:
    assert safe_name("./pki/ca.crt") == "pki/ca.crt"


def test_symlink_member_is_refused(tmp_path: Path) -> None:
    link = tarfile.TarInfo("pki/ca.key")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
    with pytest.raises(K0spyError, match="symbolic link to /etc/shadow"):
        extract(io.BytesIO(_tar_gz([(link, None)])), tmp_path, "a.tar.gz")


@pytest.mark.parametrize("cut", [0.5, 0.9, 0.999])
def test_truncated_archive_is_refused_wherever_it_is_cut(tmp_path: Path, cut: float) -> None:
    blob = _tar_gz([_file("k0s.yaml", os.urandom(50_000)), _file("pki/ca.crt", b"x" * 1000)])
    cut_at = max(1, int(len(blob) * cut)) if cut < 0.999 else len(blob) - 3
    with pytest.raises(K0spyError, match="truncated or corrupt") as err:
        extract(io.BytesIO(blob[:cut_at]), tmp_path / str(cut), "b.tar.gz")
    assert err.value.hint and "nothing was changed" in err.value.hint


def test_not_gzip_is_refused(tmp_path: Path) -> None:
    with pytest.raises(K0spyError, match=r"x\.tar\.gz is truncated or corrupt"):
        extract(io.BytesIO(b"hello, this is not an archive"), tmp_path, "x.tar.gz")


def test_etcd_trailer_is_checked_while_unpacking(tmp_path: Path) -> None:
    body = os.urandom(4096)
    good = body + hashlib.sha256(body).digest()
    bad = body[:-1] + b"\0" + hashlib.sha256(body).digest()
    found = extract(io.BytesIO(_tar_gz([_file("etcd-snapshot.db", good)])), tmp_path / "g", "g")
    assert found.snapshot_trailer_ok is True
    assert found.files["etcd-snapshot.db"].sha256 == hashlib.sha256(good).hexdigest()
    assert extract(io.BytesIO(_tar_gz([_file("etcd-snapshot.db", bad)])), tmp_path / "b",
                   "b").snapshot_trailer_ok is False


def test_snapshot_sink_checks_the_trailer_across_message_boundaries() -> None:
    from k0spy.backup.etcd_snapshot import _Sink

    body = os.urandom(100_000)
    stream = body + hashlib.sha256(body).digest()
    for sizes in ([32768] * 4, [10, 20, 99_000, 1002], [len(stream) - 5, 5]):
        sink, at = _Sink(None), 0
        for size in sizes:
            sink.feed(stream[at:at + size])
            at += size
        sink.feed(stream[at:])
        assert sink.trailer_ok() and sink.size == len(stream)
    bad = _Sink(None)
    bad.feed(stream[:-1] + b"x")
    assert not bad.trailer_ok()
