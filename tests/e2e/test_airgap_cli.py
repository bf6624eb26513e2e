"""`k0spy airgap list-images` as an operator runs it."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import run_k0spy


def test_list_images_for_a_config_with_repository(tmp_path: Path) -> None:
    config = tmp_path / "k0s.yaml"
    config.write_text("apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n"
                      "spec:\n  images:\n    repository: mirror.example.com\n")
    result = run_k0spy(["airgap", "list-images", "-c", str(config), "--etc-dir", str(tmp_path),
                        "--platform", "linux/amd64"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "mirror.example.com/k0sproject/pause:3.10.2-0"
    assert len(lines) == 7 and all(line.startswith("mirror.example.com/") for line in lines)


def test_list_images_all_without_a_config_uses_defaults(tmp_path: Path) -> None:
    result = run_k0spy(["airgap", "list-images", "--all", "--etc-dir", str(tmp_path),
                        "--platform", "linux/amd64"])
    assert result.returncode == 0, result.stderr
    assert "quay.io/k0sproject/pushgateway-ttl:1.4.0-k0s.2" in result.stdout.splitlines()


def test_invalid_config_fails_with_the_field(tmp_path: Path) -> None:
    config = tmp_path / "k0s.yaml"
    config.write_text("spec:\n  network:\n    provider: flannel\n")
    result = run_k0spy(["airgap", "list-images", "-c", str(config), "--etc-dir", str(tmp_path)])
    assert result.returncode == 1
    assert "spec.network.provider" in result.stderr
