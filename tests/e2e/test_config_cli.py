"""`k0spy config create|validate` as an operator runs them: real processes, exit codes, stdout/stderr."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.cli import run_k0spy
from tests.support.config import CONFIGS_DIR


def validate_file(tmp_path: Path, content: bytes | str, *extra: str) -> tuple[int, str, str]:
    path = tmp_path / "k0s.yaml"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    result = run_k0spy(
        ["config", "validate", "--data-dir", str(tmp_path / "data"), "--config", str(path), *extra],
        cwd=tmp_path,
    )
    return result.returncode, result.stdout, result.stderr


def test_create_prints_the_default_config_without_images() -> None:
    result = run_k0spy(["config", "create"])
    assert result.returncode == 0, result.stderr
    doc = yaml.safe_load(result.stdout)
    assert doc["apiVersion"] == "k0s.k0sproject.io/v1beta1" and doc["kind"] == "ClusterConfig"
    assert doc["metadata"] == {"name": "k0s", "namespace": "kube-system"}
    assert doc["spec"]["api"]["port"] == 6443
    assert doc["spec"]["storage"]["etcd"]["peerAddress"] == doc["spec"]["api"]["address"]
    assert "images" not in doc["spec"]
    assert "image" not in doc["spec"]["network"]["nodeLocalLoadBalancing"]["envoyProxy"]
    assert "quay.io/k0sproject" not in result.stdout
    assert result.stderr == ""


def test_create_include_images() -> None:
    result = run_k0spy(["config", "create", "--include-images"])
    doc = yaml.safe_load(result.stdout)
    assert doc["spec"]["images"]["pause"] == {"image": "quay.io/k0sproject/pause", "version": "3.10.2-0"}
    assert doc["spec"]["network"]["nodeLocalLoadBalancing"]["envoyProxy"]["image"]["version"] == "v1.39.0"


@pytest.mark.parametrize("flags", [[], ["--include-images"]])
def test_create_output_validates_from_stdin(flags: list[str]) -> None:
    created = run_k0spy(["config", "create", *flags])
    result = run_k0spy(["config", "validate", "--config", "-"], input=created.stdout)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_global_config_option_is_accepted(tmp_path: Path) -> None:
    path = CONFIGS_DIR / "k0s-1.25-nllb-kine.yaml"
    for args in (["-c", str(path), "config", "validate"], ["config", "-c", str(path), "validate"]):
        result = run_k0spy(args)
        assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), args


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("spec: [1, 2\n", "k0s.yaml: not valid YAML at line 2, column 1: while parsing a flow sequence"),
        (
            "just some words\n",
            "k0s.yaml: expected a mapping (apiVersion, kind, spec, ...) at the top, got a string",
        ),
        ("spec:\n\tapi: {}\n", "k0s.yaml: tab character used for indentation at line 2, column 1"),
        (
            "spec:\n  api: {}\n  api: {}\n",
            'k0s.yaml: duplicate key "api" at line 3 (first defined at line 2)',
        ),
        ("spec:\n  foo: 1\n", "k0s.yaml: spec.foo: unknown field (line 2)"),
        ("spec:\n  telemetry:\n    foo: 1\n", "k0s.yaml: spec.telemetry.foo: unknown field (line 3)"),
        (
            "spec:\n  api:\n    port: '6443'\n",
            "k0s.yaml: spec.api.port: wrong type: expected an integer, got a string (got '6443')",
        ),
        (
            "spec:\n  network:\n    podCIDR: 10.244.0.0/33\n",
            "k0s.yaml: spec.network.podCIDR: invalid CIDR address (got '10.244.0.0/33')",
        ),
        (
            "spec:\n  api:\n    address: 10.0.0.256\n",
            "k0s.yaml: spec.api.address: invalid IP address (got '10.0.0.256')",
        ),
        (
            "spec:\n  konnectivity:\n    agentPort: 0\n",
            "k0s.yaml: spec.konnectivity.agentPort: must be between 1 and 65535, inclusive (got 0)",
        ),
        (
            "spec:\n  api:\n    port: 70000\n",
            "k0s.yaml: spec.api.port: must be between 1 and 65535, inclusive (got 70000)",
        ),
        (
            b"spec:\n  api:\n    address: \xc3\x28\n",
            "k0s.yaml: not valid UTF-8: byte 0xc3 at offset 26 (line 3)",
        ),
    ],
)
def test_bad_input_fails_with_one_precise_message(tmp_path: Path, content: str | bytes, message: str) -> None:
    code, out, err = validate_file(tmp_path, content)
    assert (code, out) == (1, "")
    assert "1 error" in err
    assert message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k0s.yaml"]  # nothing written anywhere


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    code, _, err = validate_file(tmp_path, "\n".join(lines) + "\n")
    assert code == 1
    assert "YAML expands to more than 100000 nodes (an alias bomb?); refused" in err


def test_50_mb_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as handle:
        handle.write(b"spec:\n  api: {}\n")
        handle.truncate(50 * 1024 * 1024)
    result = run_k0spy(["config", "validate", "--config", str(path)])
    assert result.returncode == 1
    assert f"{path}: file is 52428800 bytes, more than the 8388608-byte limit" in result.stderr


def test_missing_file_and_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = run_k0spy(["config", "validate", "--config", str(missing)])
    assert result.returncode == 1 and f"{missing}: no such file" in result.stderr
    result = run_k0spy(["config", "validate", "--config", str(tmp_path)])
    assert result.returncode == 1 and f"{tmp_path}: is a directory, not a configuration file" in result.stderr


def test_empty_stdin(tmp_path: Path) -> None:
    result = run_k0spy(["config", "validate", "--config", "-"], input="")
    assert (result.returncode, result.stdout) == (1, "")
    assert "<stdin>: empty: no configuration found" in result.stderr


def test_all_errors_are_listed(tmp_path: Path) -> None:
    code, _, err = validate_file(
        tmp_path, "spec:\n  foo: 1\n  api:\n    port: 0x1FFFF\n  network:\n    podCIDR: x\n"
    )
    assert code == 1
    assert "3 errors" in err
    for field in ("spec.foo", "spec.api.port", "spec.network.podCIDR"):
        assert f"k0s.yaml: {field}:" in err


@pytest.mark.parametrize(
    ("content", "warning"),
    [
        (
            "apiVersion: v1\nkind: Cluster\nspec: {}\n",
            "k0s.yaml: kind: should be 'ClusterConfig' (k0s does not check it; accepted) (got 'Cluster')",
        ),
        (
            "spec:\n  network:\n    podCidrr: 10.1.0.0/16\n",
            "k0s.yaml: spec.network.podCidrr: unknown field, ignored (k0s ignores it too) (line 3)",
        ),
        (
            "spec:\n  podSecurityPolicy:\n    defaultPolicy: 00-k0s-privileged\n",
            "k0s.yaml: spec.podSecurityPolicy: field removed from k0s, ignored (line 2)",
        ),
        (
            "spec:\n  telemetry:\n    enabled: true\n    interval: 10m\n",
            "k0s.yaml: spec.telemetry.interval: field removed from k0s, ignored (line 4)",
        ),
    ],
)
def test_lenient_cases_pass_with_a_warning(tmp_path: Path, content: str, warning: str) -> None:
    code, out, err = validate_file(tmp_path, content)
    assert (code, out) == (0, "")
    assert f"Warning: {warning}" in err.splitlines() or any(warning in line for line in err.splitlines())


def test_every_example_validates() -> None:
    for path in sorted(CONFIGS_DIR.glob("*.yaml")):
        result = run_k0spy(["config", "validate", "--config", str(path)])
        assert (result.returncode, result.stdout) == (0, ""), (path, result.stderr)


def test_the_command_module_stays_cheap() -> None:
    import subprocess
    import sys

    code = "import sys, k0spy.cli.config; print(sorted(m for m in ('pydantic', 'yaml') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
