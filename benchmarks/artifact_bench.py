"""Start-up of the single-file artifact vs the venv install: `k0spy version` and `--help`.

    .venv/bin/python benchmarks/artifact_bench.py [--artifact FILE] [--python PY] [--write BENCHMARKS.md]

Builds a bare artifact (no bundle) unless one is given. Runs each command 20 times with a clean
environment (PATH=/usr/bin:/bin, a private HOME), as on a fresh machine, and reports medians.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "packaging")]

from k0spy_bundle.artifact import build_artifact  # noqa: E402

MARK_START, MARK_END = "<!-- artifact_bench:start -->", "<!-- artifact_bench:end -->"


def median_ms(cmd: list[str], env: dict[str, str], runs: int = 20,
              before: Callable[[], object] | None = None) -> float:
    samples = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True, env=env)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--artifact", type=Path)
    parser.add_argument("--python", default="/usr/bin/python3", help="the interpreter a fresh machine has")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="artifact-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        artifact = args.artifact or build_artifact(Path(tmp) / "k0spy", None)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "K0SPY_PYTHON": args.python}
        cache = home / ".cache" / "k0spy"
        venv = str(REPO / ".venv" / "bin" / "k0spy")
        rows = [
            (f"`{args.python} -c pass`", median_ms([args.python, "-c", "pass"], env)),
            ("venv: `k0spy version`", median_ms([venv, "version"], env)),
            ("venv: `k0spy --help`", median_ms([venv, "--help"], env)),
            ("artifact, first run (unpacks the code)",
             median_ms([str(artifact), "version"], env, 5, lambda: shutil.rmtree(cache, ignore_errors=True))),
            ("artifact: `k0spy version`", median_ms([str(artifact), "version"], env)),
            ("artifact: `k0spy --help`", median_ms([str(artifact), "--help"], env)),
        ]
        size = artifact.stat().st_size / 2**20
        unpacked = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file()) / 2**20
    kind = "with a bundle" if args.artifact else "bare"
    lines = [MARK_START, "## Single-file artifact start-up (benchmarks/artifact_bench.py)", "",
             f"Artifact {size:.0f} MiB ({kind}); code unpacked once into ~/.cache/k0spy "
             f"({unpacked:.0f} MiB). "
             f"Clean environment, {args.python}, medians of 20.", "",
             "| Command | Time |", "|---|---:|"]
    lines += [f"| {name} | {ms:.0f} ms |" for name, ms in rows]
    lines.append(MARK_END)
    text = "\n".join(lines)
    print(text)
    if args.write:
        old = args.write.read_text() if args.write.exists() else "# Benchmarks\n"
        if MARK_START in old:
            head, rest = old.split(MARK_START, 1)
            new = head + text + rest.split(MARK_END, 1)[1]
        else:
            new = old.rstrip("\n") + "\n\n" + text + "\n"
        args.write.write_text(new)


if __name__ == "__main__":
    main()
