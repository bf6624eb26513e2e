"""Lay the doubles out as a directory of executables under the real names:

    python -m tests.doubles.layout DIR [--python /path/to/python3]

Each executable is a self-contained zipapp (a `#!python` line plus a zip of this package and its flag
lists), so it runs from any working directory and keeps working when copied alone (as k0spy stages
binaries one by one into DATA/bin).  The interpreter must have aiohttp, cryptography and pyyaml (k0spy's
own dependencies) and grpcio (the kubelet double's CRI call); it defaults to the one running this.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import zipapp
from pathlib import Path

PACKAGE = "k0spy_doubles"
BINARIES = {
    "kube-apiserver": "apiserver.main",
    "kube-scheduler": "scheduler",
    "kube-controller-manager": "controller_manager",
    "kubelet": "kubelet",
    "kine": "kine",
    "konnectivity-server": "konnectivity",
}


def _stage_package(staging: Path) -> None:
    source = Path(__file__).resolve().parent
    shutil.copytree(source, staging / PACKAGE, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def build(directory: Path, python: str | None = None) -> dict[str, Path]:
    """Write one executable per component into `directory`; returns name -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    interpreter = python or sys.executable
    out: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="doubles-layout-") as tmp:
        staging = Path(tmp, "src")
        staging.mkdir()
        _stage_package(staging)
        for name, module in BINARIES.items():
            (staging / "__main__.py").write_text(
                f"import sys\nfrom {PACKAGE}.{module} import main\nsys.exit(main())\n"
            )
            target = directory / name
            zipapp.create_archive(staging, target, interpreter=interpreter)
            target.chmod(0o755)
            out[name] = target
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Lay out the k0spy test doubles as executables.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--python", help="interpreter for the #! line (default: this one)")
    opts = parser.parse_args(argv)
    for name, path in build(opts.directory, opts.python).items():
        print(f"{name}\t{path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
