"""The environment a child gets, as k0s builds it (pkg/supervisor getEnv), minus secrets.

Rules, in order:
* the marker `_K0S_MANAGED=yes` comes first: k0s and k0spy recognise each other's children by it;
* `PREFIX_X=v` (prefix = upper(name) + "_") overrides `X` and is passed as `X=v`; always for the proxy
  variables, for every other name only when `keep_prefix` is false (etcd keeps its `ETCD_*` variables);
* `PATH` gets `DATA/bin` in front;
* secrets (`K0S_TOKEN` and any prefixed form of it) are dropped: a join token must never show up in
  `/proc/<pid>/environ` of a child.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

MANAGED_MARKER = "_K0S_MANAGED"
MANAGED_VALUE = "yes"
PROXY_VARS = frozenset({"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"})
SECRET_VARS = frozenset({"K0S_TOKEN", "K0SPY_TOKEN"})


def env_prefix(name: str) -> str:
    return name.upper() + "_"


def build_env(
    environ: Mapping[str, str], data_dir: Path, name: str, *, keep_prefix: bool = False,
    secrets: frozenset[str] = SECRET_VARS,
) -> dict[str, str]:
    """The child's environment as an ordered dict (marker first, then the inherited order)."""
    prefix = env_prefix(name)
    overrides: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith(prefix):
            bare = key[len(prefix):]
            if bare and (bare in PROXY_VARS or not keep_prefix):
                overrides[bare] = value
    out: dict[str, str] = {MANAGED_MARKER: MANAGED_VALUE}
    for key, value in environ.items():
        if key.startswith(prefix) and key[len(prefix):] in overrides:
            continue
        out[key] = value
    out.update(overrides)
    for key in [k for k in out if k in secrets or k.removeprefix(prefix) in secrets]:
        del out[key]
    out[MANAGED_MARKER] = MANAGED_VALUE
    path = out.get("PATH")
    bin_dir = str(data_dir / "bin")
    out["PATH"] = f"{bin_dir}:{path}" if path else bin_dir
    return out
