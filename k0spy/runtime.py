"""Single instance and the runtime config: RUN/k0s.yaml.lock and RUN/k0s.yaml.

The daemon takes an exclusive, non-blocking flock on `RUN/k0s.yaml.lock` before it writes anything; a
second daemon on the same run dir fails with "another k0spy process is still running" and touches
nothing (not even the run dir's mode). Once locked, `RUN/k0s.yaml` (a RuntimeConfig, mode 0600: it holds
the whole node config) tells other commands (`token`, `kubeconfig`, `backup`, `status`) which data dir and
config the running daemon uses. Readers trust it only while the lock is held: a file left by a daemon
that was SIGKILLed describes nothing that runs.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from k0spy.errors import AlreadyRunningError
from k0spy.fsutil import OWNER_ONLY_MODE, RUN_DIR_MODE, LockHeld, atomic_write, exclusive_lock, lock_is_held
from k0spy.paths import Paths

API_VERSION = "k0s.k0sproject.io/v1beta1"
KIND = "RuntimeConfig"


def runtime_config_doc(paths: Paths, node_config: dict[str, Any] | None) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": API_VERSION, "kind": KIND, "metadata": {"creationTimestamp": now},
        "spec": {"nodeConfig": node_config or {}, "k0sVars": paths.as_k0s_vars()},
    }


@contextlib.contextmanager
def runtime_lock(paths: Paths, node_config: dict[str, Any] | None = None) -> Iterator[Path]:
    """Hold the single-instance lock and the runtime config for the duration of the block."""
    import yaml

    if not paths.run_dir.exists():
        paths.run_dir.mkdir(parents=True, mode=RUN_DIR_MODE)
    try:
        with exclusive_lock(paths.runtime_lock):
            atomic_write(paths.runtime_config, yaml.safe_dump(runtime_config_doc(paths, node_config),
                                                              sort_keys=False), OWNER_ONLY_MODE)
            try:
                yield paths.runtime_config
            finally:
                with contextlib.suppress(FileNotFoundError):
                    paths.runtime_config.unlink()
    except LockHeld as err:
        raise AlreadyRunningError(
            "another k0spy process is still running",
            hint=f"the lock {paths.runtime_lock} is held; stop that daemon first (or use another --run-dir)",
        ) from err


def read_runtime_config(paths: Paths) -> dict[str, Any] | None:
    """The running daemon's runtime config, or None when no daemon holds the lock."""
    if not lock_is_held(paths.runtime_lock):
        return None
    import yaml

    try:
        doc = yaml.safe_load(paths.runtime_config.read_text())
    except FileNotFoundError:
        return None
    return doc if isinstance(doc, dict) and doc.get("kind") == KIND else None
