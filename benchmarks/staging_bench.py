"""Staging benchmark: cold staging of a ~300 MiB bundle vs `unzip -o` and `cp`; warm staging vs `stat`.

    .venv/bin/python benchmarks/staging_bench.py [--runs 3] [--levels] [--write BENCHMARKS.md]

The bundle is built from the largest binaries installed here (Debian's containerd, etcd, shim, runc),
concatenated and cut to sizes like those of a k0s payload (stated in the output). Every variant works on
the same files in the page cache; each cold run writes into a new directory. k0spy's staging fsyncs every
binary (as k0s's atomic writes do); `unzip` and `cp` do not, so a `cp + sync` row is given too.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
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

from k0spy_bundle.zipbundle import BundleSpec, write_bundle  # noqa: E402

from k0spy import log  # noqa: E402
from k0spy.assets.payload import Bundle  # noqa: E402
from k0spy.assets.stage import plan, stage_binaries, stage_one  # noqa: E402
from k0spy.paths import Paths  # noqa: E402

MIB = 1 << 20
SOURCES = [Path(p) for p in ("/usr/bin/containerd", "/usr/bin/etcd", "/usr/bin/containerd-shim-runc-v2",
                             "/usr/bin/runc")]
# name -> MiB, close to a k0s amd64 payload scaled to ~300 MiB in total.
SIZES = {"kube-apiserver": 52, "containerd": 46, "kube-controller-manager": 45, "kubelet": 42,
         "kube-scheduler": 30, "kine": 28, "etcd": 20.5, "konnectivity-server": 20,
         "containerd-shim-runc-v2": 11, "runc": 8.3, "xtables-nft-multi": 1.2, "xtables-legacy-multi": 1,
         "keepalived": 1}
MARK_START, MARK_END = "<!-- staging_bench:start -->", "<!-- staging_bench:end -->"


def make_binaries(directory: Path) -> dict[str, Path]:
    pool = b"".join(path.read_bytes() for path in SOURCES)
    made = {}
    for i, (name, mib) in enumerate(SIZES.items()):
        size = int(mib * MIB)
        start = (i * 7 * MIB) % len(pool)
        data = (pool[start:] + pool) * (size // len(pool) + 2)
        path = directory / name
        path.write_bytes(data[:size])
        path.chmod(0o755)
        made[name] = path
    return made


SCRATCH: list[Path] = []  # output dirs of cold runs, removed before the next sample


def timed(runs: int, func: Callable[[int], object], *, settle: bool = True) -> float:
    """Median wall time of `func(run)`; outputs removed and `sync` first, outside the timing, so that no
    run pays for the previous one's deletion or writeback."""
    samples = []
    for run in range(runs):
        if settle:
            while SCRATCH:
                shutil.rmtree(SCRATCH.pop(), ignore_errors=True)
            os.sync()
        start = time.perf_counter()
        func(run)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def fresh(out: Path, label: str, run: int) -> Path:
    path = out / f"{label}-{run}"
    SCRATCH.append(path)
    return path


def cold_stage(out: Path, bundle: Path, label: str, run: int) -> None:
    paths = Paths.build(fresh(out, label, run), run_dir=out / "run", etc_dir=out / "etc")
    asyncio.run(stage_binaries(paths, SIZES, bundle=bundle))


def cold_serial(out: Path, bundle: Path, run: int) -> None:
    paths = Paths.build(fresh(out, "serial", run), run_dir=out / "run", etc_dir=out / "etc")
    paths.bin_dir.mkdir(parents=True)
    with Bundle(bundle) as opened:
        for name in SIZES:
            stage_one(opened, paths, name)


def run_cmd(*args: str) -> None:
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def _cold_run(out: Path, bundle: Path, label: str, run: int) -> None:
    cold_stage(out, bundle, label, run)


def _unzip_run(out: Path, bundle: Path, label: str, run: int) -> None:
    run_cmd("unzip", "-o", "-q", str(bundle), "-d", str(fresh(out, f"unzip-{label}", run)))


Row = tuple[str, str, str, str]  # what, on disk, on tmpfs, note


def cold_measurements(out: Path, bundles: dict[str, Path], binaries: dict[str, Path],
                      runs: int) -> dict[str, float]:
    """Cold staging and its baselines, writing under `out`."""
    results: dict[str, float] = {}
    for label, bundle in bundles.items():
        results[f"cold stage, {label} (k0spy: concurrent, fsync each)"] = timed(
            runs, functools.partial(_cold_run, out, bundle, label))
    results["cold stage, deflate-9, one at a time"] = timed(
        runs, lambda r: cold_serial(out, bundles["deflate-9"], r))
    for label in ("deflate-9", "stored"):
        results[f"unzip -o, {label}"] = timed(runs, functools.partial(_unzip_run, out, bundles[label], label))

    def copy(run: int, sync: bool = False) -> None:
        dest = fresh(out, "cp", run)
        dest.mkdir(parents=True)
        run_cmd("cp", *map(str, binaries.values()), str(dest))
        if sync:
            os.sync()

    results["cp of the uncompressed files (floor)"] = timed(runs, copy)
    results["cp + sync"] = timed(runs, lambda r: copy(r, True))
    while SCRATCH:
        shutil.rmtree(SCRATCH.pop(), ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--levels", action="store_true", help="also deflate levels 1 and 6")
    parser.add_argument("--tmpfs", type=Path, default=Path("/dev/shm"), help="a tmpfs: the CPU-only column")
    parser.add_argument("--write", type=Path, help="append/replace this section in a BENCHMARKS.md")
    args = parser.parse_args()
    log.configure("warning")  # as the daemon runs by default: the info lines are filtered, not printed
    with (tempfile.TemporaryDirectory(prefix="staging-bench-", dir="/var/tmp") as tmp,
          tempfile.TemporaryDirectory(prefix="staging-bench-", dir=args.tmpfs) as shm):
        root = Path(tmp)
        src = root / "src"
        src.mkdir()
        binaries = make_binaries(src)
        total = sum(p.stat().st_size for p in binaries.values())
        rows: list[Row] = []
        variants = [("deflate", 9), ("stored", 0)] + ([("deflate", 1), ("deflate", 6)] if args.levels else [])
        bundles: dict[str, Path] = {}
        for method, level in variants:
            label = f"{method}-{level}" if method == "deflate" else method
            out = root / f"{label}.zip"
            start = time.perf_counter()
            write_bundle(BundleSpec(binaries, "amd64"), out, compression=method, level=level)
            bundles[label] = out
            rows.append((f"build bundle {label}", show(time.perf_counter() - start), "",
                         f"{out.stat().st_size / MIB:.0f} MiB archive"))
        disk = cold_measurements(root / "out", bundles, binaries, args.runs)
        ram = cold_measurements(Path(shm), bundles, binaries, args.runs)
        rows += [(name, show(disk[name]), show(ram[name]), "") for name in disk]
        warm_rows, warm = warm_measurements(root, bundles["deflate-9"], args.runs)
        rows += warm_rows
    text = render(rows, total, disk, ram, warm)
    print(text)
    if args.write:
        write_section(args.write, text)


def show(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1e6:.0f} us"


def warm_measurements(root: Path, bundle: Path, runs: int) -> tuple[list[Row], float]:
    paths = Paths.build(root / "warm", run_dir=root / "run", etc_dir=root / "etc")
    asyncio.run(stage_binaries(paths, SIZES, bundle=bundle))
    files = [paths.bin_dir / name for name in SIZES]
    reps = 200

    def per_call(func: Callable[[], object]) -> float:
        return timed(runs, lambda _r: [func() for _ in range(reps)], settle=False) / reps

    async def warm_async() -> None:
        for _ in range(reps):
            await stage_binaries(paths, SIZES, bundle=bundle)

    def check_only() -> None:
        with Bundle(bundle) as opened:
            for name in SIZES:
                plan(opened, paths, name)

    warm = timed(runs, lambda _r: asyncio.run(warm_async()), settle=False) / reps
    sha = timed(1, lambda _r: asyncio.run(stage_binaries(paths, SIZES, bundle=bundle, check="sha256")))
    rows = [
        ("warm stage_binaries (open bundle + stat check, 13 files)", show(warm), "", ""),
        ("warm check only (open bundle + stat, no asyncio)", show(per_call(check_only)), "", ""),
        ("os.stat of the 13 files (floor)", show(per_call(lambda: [os.stat(f) for f in files])), "", ""),
        ("warm with check=\"sha256\" (the stronger check)", show(sha), "", "page cache"),
    ]
    return rows, warm


def render(rows: list[Row], total: int, disk: dict[str, float], ram: dict[str, float], warm: float) -> str:
    def ratio(results: dict[str, float], label: str) -> str:
        ours = results[f"cold stage, {label} (k0spy: concurrent, fsync each)"]
        return f"{results['unzip -o, deflate-9'] / ours:.1f}x"

    lines = [
        MARK_START,
        "## Staging (benchmarks/staging_bench.py)",
        "",
        f"Bundle: 13 binaries, {total / MIB:.0f} MiB uncompressed, built from Debian's containerd, etcd, "
        "containerd-shim-runc-v2 and runc concatenated and cut to k0s-like sizes (kube-apiserver 52 MiB, "
        "kubelet 42 MiB, ...; stated as such: not the real Kubernetes binaries). Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, medians of 5; the archive in the page cache; "
        "written to the disk (/var/tmp) and to a tmpfs (CPU only). k0spy fsyncs each binary; unzip and "
        "cp do not (`cp + sync` is the honest floor on disk).",
        "",
        "| What | disk | tmpfs | Note |",
        "|---|---:|---:|---|",
    ]
    lines += [f"| {name} | {on_disk} | {on_ram} | {note} |" for name, on_disk, on_ram, note in rows]
    lines += [
        "",
        f"Cold, deflate-9, k0spy vs `unzip -o`: {ratio(disk, 'deflate-9')} faster on disk, "
        f"{ratio(ram, 'deflate-9')} on tmpfs (target 1.5x); stored members: {ratio(disk, 'stored')} / "
        f"{ratio(ram, 'stored')}. Warm: {warm * 1000:.2f} ms (target < 1 ms). This shared machine's "
        "disk and CPU times vary by up to 2x between invocations: compare rows of one run, not runs.",
        MARK_END,
    ]
    return "\n".join(lines)


def write_section(path: Path, text: str) -> None:
    """Replace this benchmark's own section (between its markers) or append it; other sections stay."""
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    if MARK_START in old and MARK_END in old:
        head, rest = old.split(MARK_START, 1)
        new = head + text + rest.split(MARK_END, 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new)


if __name__ == "__main__":
    main()
