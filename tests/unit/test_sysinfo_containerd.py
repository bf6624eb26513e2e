"""Containerd drop-in files: version 3 only, no containerd 1.x CRI section."""

from __future__ import annotations

from pathlib import Path

from k0spy.sysinfo.containerd import config_problems, probe_config_snippets
from k0spy.sysinfo.model import Status


def test_config_problems() -> None:
    assert config_problems('version = 3\n[plugins."io.containerd.cri.v1.images"]\nx = 1\n') == []
    assert config_problems("[plugins]\n") == []  # no version is fine
    assert config_problems("version = 2\n") == ["unsupported configuration version: expected 3, got 2"]
    assert config_problems('version = "3"\n') == [
        "unexpected type for version field: expected int64, got string"]
    both = config_problems('version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\nx = 1\n')
    assert len(both) == 2 and "containerd v1 CRI plugin format" in both[1]
    assert config_problems("version = = 3")[0].startswith("failed to parse TOML: ")


def test_no_dir_or_no_files_passes(tmp_path: Path) -> None:
    [result] = probe_config_snippets(tmp_path / "containerd.d")
    assert (result.status, result.value) == (Status.PASS, "no config snippets found")
    assert result.path == ("containerd:configSnippets",)
    assert result.name == f"Containerd config snippets in {tmp_path / 'containerd.d'}/"


def test_each_file_is_judged(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text("version = 3\n")
    (tmp_path / "b.toml").write_text("version = 2\n")
    (tmp_path / "ignored.conf").write_text("version = 1\n")
    group, a, b = probe_config_snippets(tmp_path)
    assert (group.status, group.value) == (Status.PASS, f"{tmp_path}/")
    assert (a.path, a.status, a.value) == (("containerd:configSnippets", "file:a.toml"), Status.PASS,
                                           str(tmp_path / "a.toml"))
    assert (b.status, b.reason) == (Status.FAIL, "unsupported configuration version: expected 3, got 2")
    assert b.name == "Containerd config snippet: b.toml"
