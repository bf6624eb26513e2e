"""The kine readiness probe speaks gRPC through k0spy's own HTTP/2 client: grpcio is never imported.

The probe's behaviour against a real etcd on a unix socket is tested in test_render_probes.py; this checks,
in a fresh interpreter, that running it (here against a socket that does not exist) loads no grpc module.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import asyncio, sys
from k0spy.components.base import NotReady
from k0spy.components.flags import ProbeSpec
from k0spy.components.probes import build_probe

try:
    asyncio.run(build_probe(ProbeSpec("kine", "unix:" + sys.argv[1], timeout=1.0))())
except NotReady as err:
    print("not-ready:", err)
print("grpc-loaded:", any(name == "grpc" or name.startswith("grpc.") for name in sys.modules))
"""


def test_kine_probe_does_not_import_grpcio(tmp_path: Path) -> None:
    socket = tmp_path / "kine.sock:2379"
    got = subprocess.run([sys.executable, "-c", SCRIPT, str(socket)], capture_output=True, text=True,
                         timeout=30, check=False)
    assert got.returncode == 0, got.stderr
    assert f"not-ready: kine at unix:{socket}" in got.stdout
    assert "cannot connect" in got.stdout
    assert "grpc-loaded: False" in got.stdout
