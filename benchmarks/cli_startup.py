"""Start-up cost of the k0spy CLI next to the interpreter floor and kubectl, in one interleaved run.

Each command runs N times (default 30) round-robin, so that machine noise hits every command alike; the
wall time of each run (spawn to exit, output discarded) is recorded. Prints the median, p90 and the ratio
of each median to the floor (`python -c pass` with the venv's interpreter, the one the console script
uses). `k0spy config validate` runs on the config `k0spy config create` prints; if that command does not
exist yet, `k0spy --help` is measured in its place and the table says so.

    .venv/bin/python benchmarks/cli_startup.py [--runs 30] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def run_once(argv: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}")
    return elapsed


def works(argv: list[str]) -> bool:
    try:
        run_once(argv)
    except (RuntimeError, OSError):
        return False
    return True


def commands(workdir: Path) -> list[tuple[str, list[str]]]:
    """(label, argv) pairs; the floor first."""
    k0spy = str(VENV_BIN / "k0spy")
    chosen: list[tuple[str, list[str]]] = [
        ("python -c pass (floor)", [sys.executable, "-c", "pass"]),
        ("k0spy version", [k0spy, "version"]),
    ]
    config = workdir / "k0s.yaml"
    created = subprocess.run([k0spy, "config", "create"], capture_output=True, text=True, check=False)
    validate = [k0spy, "config", "validate", "--config", str(config)]
    if created.returncode == 0:
        config.write_text(created.stdout)
    if created.returncode == 0 and works(validate):
        chosen.append(("k0spy config validate", validate))
    else:
        chosen.append(("k0spy --help (config validate missing)", [k0spy, "--help"]))
    kubectl = shutil.which("kubectl")
    if kubectl:
        chosen.append(("kubectl version --client", [kubectl, "version", "--client"]))
    return chosen


def measure(chosen: list[tuple[str, list[str]]], runs: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {label: [] for label, _ in chosen}
    for _label, argv in chosen:  # one warm-up each: page cache, .pyc files
        run_once(argv)
    for _ in range(runs):
        for label, argv in chosen:
            samples[label].append(run_once(argv))
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        chosen = commands(Path(tmp))
        samples = measure(chosen, args.runs)
    floor = statistics.median(samples[chosen[0][0]])
    rows = []
    for label, _ in chosen:
        med = statistics.median(samples[label])
        rows.append({"command": label, "median_ms": round(med * 1000, 1),
                     "p90_ms": round(percentile(samples[label], 0.9) * 1000, 1),
                     "x_floor": round(med / floor, 2)})
    if args.json:
        print(json.dumps({"runs": args.runs, "cpus": os.cpu_count(), "results": rows}, indent=2))
        return 0
    python = sys.version.split()[0]
    print(f"CLI start-up, {args.runs} interleaved runs each, {os.cpu_count()} CPUs, Python {python}")
    print(f"| {'command':<40} | median ms | p90 ms | x floor |")
    print(f"|{'-' * 42}|-----------|--------|---------|")
    for row in rows:
        print(f"| {row['command']:<40} | {row['median_ms']:>9} | {row['p90_ms']:>6} | {row['x_floor']:>7} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
