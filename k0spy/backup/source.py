"""Find what to back up from the running daemon's runtime config (RUN/k0s.yaml), as k0s does.

The runtime config is trusted only while the daemon holds its lock (`k0spy.runtime`). It gives the data
dir the controller really uses (`spec.k0sVars`) and the node config it runs with (`spec.nodeConfig`).
The config archived as `k0s.yaml` is the file the controller was started with when it can be found
(k0sVars `StartupConfigPath`, else `-c`, else the default file); otherwise the running node config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from k0spy.backup.create import BackupSource
from k0spy.backup.storage import storage_plan
from k0spy.errors import K0spyError, NotRunningError
from k0spy.fsutil import OWNER_ONLY_MODE
from k0spy.paths import Paths
from k0spy.runtime import API_VERSION, read_runtime_config


def _paths(paths: Paths, k0s_vars: dict[str, Any]) -> Paths:
    def get(key: str) -> str | None:
        value = k0s_vars.get(key)
        return str(value) if value else None

    return Paths.build(get("DataDir") or paths.data_dir, run_dir=get("RunDir") or paths.run_dir,
                       etc_dir=paths.etc_dir, kubelet_root_dir=get("KubeletRootDir"),
                       status_socket=get("StatusSocketPath"))


def _node_doc(node_config: Any) -> dict[str, Any]:
    doc = dict(node_config) if isinstance(node_config, dict) else {}
    if doc and "spec" not in doc and "apiVersion" not in doc:
        doc = {"spec": doc}
    return {"apiVersion": API_VERSION, "kind": "ClusterConfig", **doc}


def _config_file(k0s_vars: dict[str, Any], config_option: str | None, paths: Paths) -> Path | None:
    for candidate in (k0s_vars.get("StartupConfigPath"), config_option, paths.default_config):
        if candidate and candidate != "-" and Path(str(candidate)).is_file():
            return Path(str(candidate))
    return None


def backup_source(paths: Paths, config_option: str | None = None) -> BackupSource:
    """The running controller's BackupSource; NotRunningError when no daemon holds the lock."""
    import yaml

    from k0spy.config.load import build_cluster_config

    doc = read_runtime_config(paths)
    if doc is None:
        raise NotRunningError(
            f"k0spy is not running on this node (no daemon holds {paths.runtime_lock})",
            hint="a backup is taken from the running controller: start it, or pass the --run-dir it uses")
    spec = doc.get("spec") or {}
    k0s_vars = spec.get("k0sVars") or {}
    live = _paths(paths, k0s_vars if isinstance(k0s_vars, dict) else {})
    node_doc = _node_doc(spec.get("nodeConfig"))
    config, _warnings = build_cluster_config(node_doc, f"{paths.runtime_config} (spec.nodeConfig)",
                                             data_dir=live.data_dir)
    plan = storage_plan(config, live.data_dir, "backup")
    source_file = _config_file(k0s_vars if isinstance(k0s_vars, dict) else {}, config_option, live)
    if source_file is not None:
        try:
            data = source_file.read_bytes()
        except OSError as err:
            raise K0spyError(f"reading the controller's config {source_file}: {err.strerror}") from err
        return BackupSource(live, plan, data, source_file.stat().st_mode & 0o777)
    data = yaml.safe_dump(node_doc, sort_keys=False).encode()
    return BackupSource(live, plan, data, OWNER_ONLY_MODE)
