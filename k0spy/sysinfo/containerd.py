"""Containerd drop-in files: a worker rejects any that the bundled containerd (config version 3) cannot use.

As k0s (`internal/pkg/sysinfo/probes/containerd.go`, `pkg/component/worker/containerd/configurer.go`):
every `*.toml` in the drop-in dir is parsed; a `version` other than 3, or a
`[plugins."io.containerd.grpc.v1.cri"]` section (the containerd 1.x CRI format), rejects the file. No dir
or no files is a pass.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from k0spy.sysinfo.model import ProbeResult, Status

PROBE_ID = "containerd:configSnippets"


def config_problems(data: str) -> list[str]:
    """Why containerd's v3 configuration would not accept this file (empty when it would)."""
    try:
        tree: dict[str, Any] = tomllib.loads(data)
    except tomllib.TOMLDecodeError as err:
        return [f"failed to parse TOML: {err}"]
    problems = []
    if "version" in tree:
        version = tree["version"]
        if not isinstance(version, int) or isinstance(version, bool):
            problems.append(f"unexpected type for version field: expected int64, got {_go_type(version)}")
        elif version != 3:
            problems.append(f"unsupported configuration version: expected 3, got {version}")
    plugins = tree.get("plugins")
    if isinstance(plugins, dict) and "io.containerd.grpc.v1.cri" in plugins:
        problems.append('configuration contains a [plugins."io.containerd.grpc.v1.cri"] section which is '
                        "the containerd v1 CRI plugin format")
    return problems


def _go_type(value: object) -> str:
    names = {str: "string", bool: "bool", float: "float64", list: "[]interface {}", dict: "*toml.Tree"}
    return names.get(type(value), type(value).__name__)


def probe_config_snippets(dropin_dir: Path) -> list[ProbeResult]:
    shown = f"{dropin_dir}/"
    group = ProbeResult((PROBE_ID,), f"Containerd config snippets in {shown}", Status.PASS)
    try:
        files = sorted(p for p in dropin_dir.glob("*.toml"))
    except OSError as err:
        return [ProbeResult(group.path, group.name, Status.ERROR,
                            reason=f'failed to scan containerd import directory "{shown}": {err}')]
    if not files:
        return [ProbeResult(group.path, group.name, Status.PASS, "no config snippets found")]
    results = [ProbeResult(group.path, group.name, Status.PASS, shown)]
    for file in files:
        path = (PROBE_ID, f"file:{file.name}")
        name = f"Containerd config snippet: {file.name}"
        try:
            text = file.read_text()
        except (OSError, UnicodeDecodeError) as err:
            results.append(ProbeResult(path, name, Status.ERROR,
                                       reason=f"failed to read containerd config snippet: {err}"))
            continue
        problems = config_problems(text)
        status = Status.FAIL if problems else Status.PASS
        results.append(ProbeResult(path, name, status, str(file), "\n".join(problems)))
    return results
