"""The offline etcd tool: `etcdutl` if the bundle stages it, else `etcdctl` (etcd 3.4 has no etcdutl).

Both take the same `snapshot status` and `snapshot restore` arguments. The staged copy in DATA/bin wins
over PATH, so a restore uses the tool that matches the bundled etcd.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from k0spy.errors import K0spyError

NAMES = ("etcdutl", "etcdctl")


@dataclass(frozen=True)
class EtcdTool:
    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    def _run(self, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "ETCDCTL_API": "3"}
        return subprocess.run([str(self.path), *args], capture_output=True, text=True, timeout=timeout,
                              env=env, check=False)

    def status(self, snapshot: Path) -> dict[str, Any]:
        """`snapshot status -w json` (hash, revision, totalKey, totalSize); raises if it does not open."""
        proc = self._run(["snapshot", "status", str(snapshot), "-w", "json"], 600)
        if proc.returncode != 0:
            raise K0spyError(f"{self.name} snapshot status {snapshot.name} failed: "
                             f"{(proc.stderr or proc.stdout).strip()}")
        try:
            doc: Any = json.loads(proc.stdout)
        except json.JSONDecodeError as err:
            raise K0spyError(f"{self.name} snapshot status printed no JSON: {proc.stdout[:200]!r}") from err
        return doc if isinstance(doc, dict) else {}

    def restore(self, snapshot: Path, data_dir: Path, *, name: str, peer_url: str, token: str) -> None:
        """Restore into `data_dir` (must not exist) as a one-member cluster; the sha256 is checked again."""
        proc = self._run(["snapshot", "restore", str(snapshot), f"--data-dir={data_dir}", f"--name={name}",
                          f"--initial-cluster={name}={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
                          f"--initial-cluster-token={token}"], 1800)
        if proc.returncode != 0:
            raise K0spyError(f"{self.name} snapshot restore of {snapshot.name} failed: "
                             f"{(proc.stderr or proc.stdout).strip()}",
                             hint="the snapshot does not restore (it was restored into a staging dir first): "
                                  "nothing was changed; use another backup")


def find_etcd_tool(bin_dir: Path) -> EtcdTool:
    """The staged tool in `bin_dir`, else the first on PATH; K0spyError if there is none."""
    for name in NAMES:
        if (bin_dir / name).is_file():
            return EtcdTool(bin_dir / name)
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return EtcdTool(Path(found))
    raise K0spyError(f"neither etcdutl nor etcdctl is in {bin_dir} or on PATH",
                     hint="install etcd's client tools (Debian: apt-get install etcd-client)")
