"""Backup and restore of a large etcd database: k0spy against the by-hand equivalent, in one run.

    .venv/bin/python benchmarks/backup_bench.py [--sizes 256,1024] [--runs 1] [--write BENCHMARKS.md]

For each size (MiB of values), a real etcd 3.4 with the k0s layout (tests.support.backup) is filled with
bounded requests (two 512 KiB values per transaction; each value is hex text, so it compresses about
2:1). Then, interleaved per round:
  k0spy backup     `k0spy backup --save-path D` (snapshot over the JSON gateway + tar.gz + manifest)
  by-hand backup   `etcdctl snapshot save` + `tar czf` of the snapshot, the four trees and k0s.yaml
  k0spy restore    `k0spy restore FILE` into an empty data dir (verify everything, etcdctl snapshot restore)
  by-hand restore  `tar xzf` + `etcdctl snapshot restore`
Each is a fresh process; wall time and peak RSS (wait4's ru_maxrss, which covers reaped children such as
tar's gzip and k0spy's etcdctl) are reported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from k0spy import log  # noqa: E402
from k0spy.paths import Paths  # noqa: E402
from tests.support.backup import Controller, make_controller  # noqa: E402

MIB = 1 << 20
VALUE = 512 * 1024
MARK_START, MARK_END = "<!-- backup_bench:start -->", "<!-- backup_bench:end -->"


@dataclass
class Sample:
    seconds: float
    rss_mib: float
    own_mib: float = 0.0  # the process itself, children excluded (sampled every 20 ms)
    cpu: float = 0.0  # user + system seconds, reaped children included


def _own_peak(pid: int, stop: threading.Event, peak: list[float]) -> None:
    try:
        process = psutil.Process(pid)
        while not stop.wait(0.02):
            peak[0] = max(peak[0], process.memory_info().rss / MIB)
    except psutil.Error:
        return


def measure(args: list[str], **kwargs: object) -> Sample:
    """Run to completion; wall time and peak RSS of the process and its reaped children."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)  # type: ignore
    assert proc.stderr is not None
    stop, peak = threading.Event(), [0.0]
    sampler = threading.Thread(target=_own_peak, args=(proc.pid, stop, peak))
    sampler.start()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    stop.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{args[:3]} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return Sample(elapsed, usage.ru_maxrss / 1024, peak[0], usage.ru_utime + usage.ru_stime)


def combine(*samples: Sample) -> Sample:
    return Sample(sum(s.seconds for s in samples), max(s.rss_mib for s in samples), 0.0,
                  sum(s.cpu for s in samples))


def fill(ctl: Controller, mib: int) -> int:
    client, count = ctl.client(), mib * MIB // VALUE
    for start in range(0, count, 16):
        batch = {f"/registry/blobs/{i:06d}": os.urandom(VALUE // 2).hex().encode()
                 for i in range(start, min(count, start + 16))}
        client.put_many(batch, batch_bytes=VALUE * 2 + 4096)
    return int(client.call("/v3/maintenance/status", {})["dbSize"])


def etcdctl(ctl: Controller) -> list[str]:
    pki = ctl.paths.cert_dir
    return ["etcdctl", f"--endpoints={ctl.url}", f"--cacert={ctl.paths.etcd_cert_dir / 'ca.crt'}",
            f"--cert={pki / 'apiserver-etcd-client.crt'}", f"--key={pki / 'apiserver-etcd-client.key'}"]


def k0spy_backup(ctl: Controller, out: Path) -> tuple[Sample, Path]:
    sample = measure([sys.executable, "-m", "k0spy", "backup", "--save-path", str(out), *ctl.cli_dirs()],
                     cwd=REPO)
    return sample, next(out.glob("k0s_backup_*.tar.gz"))


def hand_backup(ctl: Controller, out: Path) -> tuple[Sample, Path]:
    snap = out / "etcd-snapshot.db"
    save = measure([*etcdctl(ctl), "snapshot", "save", str(snap)], env={**os.environ, "ETCDCTL_API": "3"})
    archive = out / "hand.tar.gz"
    trees = [t for t in ("pki", "manifests", "images", "helmhome") if (ctl.paths.data_dir / t).exists()]
    tar = measure(["tar", "czf", str(archive), "-C", str(out), snap.name, "-C", str(ctl.paths.data_dir),
                   *trees, "-C", str(ctl.paths.etc_dir), "k0s.yaml"])
    snap.unlink()
    return combine(save, tar), archive


def k0spy_restore(archive: Path, target: Path) -> Sample:
    return measure([sys.executable, "-m", "k0spy", "restore", str(archive), "--config-out",
                    str(target / "k0s.yaml"), "--data-dir", str(target / "data"), "--run-dir",
                    str(target / "run")], cwd=REPO)


def hand_restore(archive: Path, target: Path, ctl: Controller) -> Sample:
    data = target / "data"
    data.mkdir(parents=True)
    untar = measure(["tar", "xzf", str(archive), "-C", str(data)])
    name, peer = socket.gethostname(), f"https://127.0.0.1:{ctl.peer_port}"
    restore = measure(["etcdctl", "snapshot", "restore", str(data / "etcd-snapshot.db"),
                       f"--data-dir={data / 'etcd'}", f"--name={name}", f"--initial-cluster={name}={peer}",
                       f"--initial-advertise-peer-urls={peer}"], env={**os.environ, "ETCDCTL_API": "3"})
    return combine(untar, restore)


def run_size(base: Path, mib: int, runs: int) -> dict[str, Any]:
    work = base / f"s{mib}"
    paths = Paths.build(work / "data", run_dir=work / "run", etc_dir=work / "etc")
    ctl = make_controller(paths)
    results: dict[str, Any] = {"k0spy backup": [], "by-hand backup": [],
                                               "k0spy restore": [], "by-hand restore": []}
    try:
        started = time.perf_counter()
        results["db_bytes"] = fill(ctl, mib)
        results["fill_s"] = int(time.perf_counter() - started)
        ctl.hold_lock()
        results["load"] = [os.getloadavg()[0]]
        for _ in range(runs):
            for name in ("k0spy", "by-hand"):
                out = work / f"out-{name}"
                out.mkdir()
                sample, archive = (k0spy_backup if name == "k0spy" else hand_backup)(ctl, out)
                results[f"{name} backup"].append(sample)  # type: ignore[union-attr]
                results[f"{name} archive_bytes"] = archive.stat().st_size
                target = work / f"restore-{name}"
                target.mkdir()
                if name == "k0spy":
                    restored = k0spy_restore(archive, target)
                else:
                    restored = hand_restore(archive, target, ctl)
                results[f"{name} restore"].append(restored)  # type: ignore[union-attr]
                shutil.rmtree(out)
                shutil.rmtree(target)
        results["load"].append(os.getloadavg()[0])  # type: ignore[union-attr]
    finally:
        ctl.stop()
        shutil.rmtree(work, ignore_errors=True)
    return results


def median(samples: list[Sample]) -> Sample:
    ordered = sorted(samples, key=lambda s: s.seconds)
    return ordered[len(ordered) // 2]


def render(all_results: dict[int, dict[str, Any]], runs: int) -> str:
    lines = [MARK_START, "## Backup and restore (benchmarks/backup_bench.py)", "",
             f"{dt.date.today()}, {os.cpu_count()} cores, Python {platform.python_version()}, etcd 3.4.23 "
             f"(Debian), ext4; median of {runs} round(s), k0spy and by-hand interleaved. Values are 512 KiB "
             "of hex text (about 2:1 with gzip); wall time of fresh processes; peak RSS from wait4 (children "
             "included: tar's gzip, k0spy restore's etcdctl).", "",
             "| DB size | variant | backup (s) | backup CPU (s) | backup peak RSS (MiB) | restore (s) "
             "| restore CPU (s) | restore peak RSS (MiB) | archive (MiB) | load avg (start-end) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for res in all_results.values():
        db = int(res["db_bytes"]) / MIB  # type: ignore[arg-type]
        for name in ("k0spy", "by-hand"):
            b = median(res[f"{name} backup"])  # type: ignore[arg-type]
            r = median(res[f"{name} restore"])  # type: ignore[arg-type]
            size = int(res[f"{name} archive_bytes"]) / MIB  # type: ignore[arg-type]
            own = f" (k0spy itself {r.own_mib:.0f})" if name == "k0spy" else ""
            load = "-".join(f"{x:.1f}" for x in res["load"])  # type: ignore[union-attr]
            lines.append(f"| {db:.0f} MiB | {name} | {b.seconds:.1f} | {b.cpu:.1f} | {b.rss_mib:.0f} | "
                         f"{r.seconds:.1f} | {r.cpu:.1f} | {r.rss_mib:.0f}{own} | {size:.0f} | {load} |")
    lines += ["", MARK_END]
    return "\n".join(lines)


def write_section(target: Path, section: str) -> None:
    text = target.read_text() if target.exists() else "# Benchmarks\n"
    if MARK_START in text:
        head, rest = text.split(MARK_START, 1)
        text = head + section + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    target.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="256,1024", help="MiB of values, comma separated")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--dir", default="/var/tmp", help="where the databases and archives go (a disk)")
    parser.add_argument("--write", metavar="FILE", help="replace (or append) this benchmark's section")
    args = parser.parse_args()
    log.configure("error")
    results = {}
    with tempfile.TemporaryDirectory(prefix="k0spy-backup-bench-", dir=args.dir) as base:
        for mib in (int(s) for s in args.sizes.split(",")):
            results[mib] = run_size(Path(base), mib, args.runs)
            print(f"{mib} MiB done (fill {results[mib]['fill_s']} s)", file=sys.stderr)
    section = render(results, args.runs)
    print(section)
    if args.write:
        write_section(Path(args.write), section)


if __name__ == "__main__":
    main()
