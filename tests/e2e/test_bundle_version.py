"""`k0spy version` says which bundle is running, and stays cheap doing so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.bundle import dummy_binary, make_bundle
from tests.support.cli import run_k0spy

PROBE = (
    "import sys\nfrom k0spy.cli.main import main\n"
    "try:\n    main(['version'])\nexcept SystemExit:\n    pass\n"
    "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
)
HEAVY = ("zipfile", "asyncio", "structlog", "pydantic", "cryptography", "aiohttp", "yaml")


def test_version_names_a_dev_bundle_without_heavy_imports(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    bundle = make_bundle(tmp_path / "dev.zip", {"etcd": dummy_binary(src, "etcd")}, kind="dev",
                         description="Debian etcd/containerd/runc + test doubles")
    env = {**os.environ, "K0SPY_BUNDLE": str(bundle)}
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env,
                            check=True, timeout=60)
    assert (f"bundle:       dev (Debian etcd/containerd/runc + test doubles), linux-amd64, {bundle}"
            in result.stdout.splitlines())
    modules = set(result.stderr.split())
    assert not [name for name in HEAVY if name in modules]


def test_version_json_without_bundle(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key not in ("K0SPY_BUNDLE", "K0SPY_ARTIFACT")}
    result = run_k0spy(["version", "-o", "json"], env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["bundle"].startswith("none")
