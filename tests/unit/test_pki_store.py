"""Pair commits: staging then renames, and recovery from every point a crash can stop them at."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from k0spy.pki.store import FileData, commit_pair, recover, staging_path


def pair(tmp_path: Path, tag: str) -> tuple[FileData, FileData]:
    return (FileData(tmp_path / "server.key", f"key-{tag}".encode(), 0o640),
            FileData(tmp_path / "server.crt", f"crt-{tag}".encode(), 0o644))


def contents(tmp_path: Path) -> tuple[str, str]:
    return (tmp_path / "server.key").read_text(), (tmp_path / "server.crt").read_text()


def test_commit_writes_both_with_modes_and_leaves_no_staging(tmp_path: Path) -> None:
    commit_pair(*pair(tmp_path, "new"))
    assert contents(tmp_path) == ("key-new", "crt-new")
    assert (tmp_path / "server.key").stat().st_mode & 0o777 == 0o640
    assert sorted(os.listdir(tmp_path)) == ["server.crt", "server.key"]


def stage(tmp_path: Path, *, key: bool, crt: bool, renamed_key: bool = False) -> None:
    commit_pair(*pair(tmp_path, "old"))
    if key:
        staging_path(tmp_path / "server.key").write_text("key-new")
    if crt:
        staging_path(tmp_path / "server.crt").write_text("crt-new")
    if renamed_key:
        os.replace(staging_path(tmp_path / "server.key"), tmp_path / "server.key")


@pytest.mark.parametrize(("key", "crt", "renamed", "expected"), [
    (True, False, False, ("key-old", "crt-old")),  # died before the certificate was staged
    (True, True, False, ("key-new", "crt-new")),  # both staged, no rename yet
    (True, True, True, ("key-new", "crt-new")),  # key renamed, certificate not
])
def test_recover_leaves_a_matching_pair(tmp_path: Path, key: bool, crt: bool, renamed: bool,
                                        expected: tuple[str, str]) -> None:
    stage(tmp_path, key=key, crt=crt, renamed_key=renamed)
    assert recover(tmp_path)
    assert contents(tmp_path) == expected
    assert sorted(os.listdir(tmp_path)) == ["server.crt", "server.key"]


def test_recover_removes_temp_files_and_finishes_pub_pairs(tmp_path: Path) -> None:
    (tmp_path / ".sa.key.0123456789ab.tmp").write_text("partial")
    staging_path(tmp_path / "sa.key").write_text("k")
    staging_path(tmp_path / "sa.pub").write_text("p")
    actions = recover(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["sa.key", "sa.pub"]
    assert "completed sa" in actions


def test_recover_on_a_clean_or_missing_dir_does_nothing(tmp_path: Path) -> None:
    assert recover(tmp_path / "absent") == []
    commit_pair(*pair(tmp_path, "x"))
    assert recover(tmp_path) == []
