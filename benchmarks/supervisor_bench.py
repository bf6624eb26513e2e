"""Side-by-side supervisor benchmark: k0spy, supervisord, circus, runit, s6 supervising the same children.

    .venv/bin/python benchmarks/supervisor_bench.py [--samples 100] [--idle-seconds 60] [--lines 1000000]
                                                    [--only k0spy,runit,...]

(a) restart latency: SIGKILL of the child -> the new child running (it stamps CLOCK_MONOTONIC into a FIFO
    as its first action), median and p99 over --samples kills. Each kill happens 1.2 s after the previous
    restart, so every kill is a "single crash" for every supervisor (runit and s6 delay a service that ran
    less than 1 s; k0spy is run with reset_after=1 s for the same reason; its crash-loop backoff is
    measured by the test suite instead).
(b) idle: CPU time of the supervisor's own processes (children excluded) over --idle-seconds with 8
    children, and their PSS.
(c) log throughput: a C child writes --lines lines "line %07d" as fast as it can (in 64 KiB writes, and
    again with one write(2) per line, as a line-buffered logger does); lines per second from
    its start until the last line is in the supervisor's log; every line is checked (none lost).
    k0spy writes JSON records (component, stream, event, level, timestamp); svlogd and s6-log raw lines;
    supervisord and circus raw to a file.

Needs: gcc; supervisor and circus in the venv; runit and s6 from Debian (benchmark only).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV_BIN = Path(sys.executable).parent


# --- the k0spy side: a daemon running ProcessComponents (entered as `supervisor_bench.py _k0spy SPEC`) -----
def k0spy_daemon(spec_path: str) -> int:
    sys.path.insert(0, str(REPO))
    from k0spy import daemon, log
    from k0spy.components.process import ProcessComponent
    from k0spy.paths import Paths
    from k0spy.status.server import StatusInfo
    from k0spy.supervisor.backoff import BackoffPolicy

    spec = json.loads(Path(spec_path).read_text())
    log.configure("info", stream=sys.stdout, json=True)
    paths = Paths.build(spec["data_dir"], run_dir=spec["run_dir"])
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    comps: list[Any] = [
        ProcessComponent(c["name"], c["argv"][0], c["argv"][1:], paths, stop_timeout=2,
                         backoff=BackoffPolicy(reset_after=1.0))
        for c in spec["children"]
    ]
    return daemon.run(paths, comps, StatusInfo(version="bench", role="bench", k0s_vars={}))


# --- adapters ------------------------------------------------------------------------------------------
class Supervisor:
    name = "?"

    def __init__(self, work: Path, children: list[list[str]]) -> None:
        self.work = work
        self.children = children
        self.proc: subprocess.Popen[bytes] | None = None
        work.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        raise NotImplementedError

    def log_files(self) -> list[Path]:
        raise NotImplementedError

    def own_processes(self) -> list[psutil.Process]:
        """The supervisor's processes (not the children, not the loggers' children)."""
        assert self.proc is not None
        root = psutil.Process(self.proc.pid)
        child_exe = self.children[0][0]
        out = [root]
        for p in root.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if p.exe() != child_exe and p.cmdline()[:1] != ["/bin/sh"]:
                    out.append(p)
        return out

    def stop(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # anything left that runs from our work dir (children in their own sessions, loggers)
        for p in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if str(self.work) in " ".join(p.cmdline()) or any(str(self.work) in a for a in [p.cwd()]):
                    p.kill()

    def popen(self, argv: list[str], **kw: Any) -> None:
        out = open(self.work / "supervisor.out", "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd=self.work, **kw)
        out.close()


class K0spy(Supervisor):
    name = "k0spy"

    def start(self) -> None:
        spec = {"data_dir": str(self.work / "data"), "run_dir": str(self.work / "run"),
                "children": [{"name": f"child{i}", "argv": argv} for i, argv in enumerate(self.children)]}
        (self.work / "spec.json").write_text(json.dumps(spec))
        self.popen([sys.executable, str(Path(__file__).resolve()), "_k0spy", str(self.work / "spec.json")])

    def log_files(self) -> list[Path]:
        return [self.work / "supervisor.out"]


class Supervisord(Supervisor):
    name = "supervisord"

    def start(self) -> None:
        progs = "".join(textwrap.dedent(f"""
            [program:child{i}]
            command={' '.join(argv)}
            autorestart=true
            startsecs=0
            startretries=1000000
            stdout_logfile={self.work}/child{i}.log
            stdout_logfile_maxbytes=0
            redirect_stderr=true
            """) for i, argv in enumerate(self.children))
        conf = textwrap.dedent(f"""
            [unix_http_server]
            file={self.work}/supervisor.sock
            [supervisord]
            nodaemon=true
            logfile={self.work}/supervisord.log
            pidfile={self.work}/supervisord.pid
            [rpcinterface:supervisor]
            supervisor.rpcinterface_factory=supervisor.rpcinterface:make_main_rpcinterface
            [supervisorctl]
            serverurl=unix://{self.work}/supervisor.sock
            """) + progs
        (self.work / "supervisord.conf").write_text(conf)
        self.popen([str(VENV_BIN / "supervisord"), "-c", str(self.work / "supervisord.conf")])

    def log_files(self) -> list[Path]:
        return [self.work / "child0.log"]


class Circus(Supervisor):
    name = "circus"

    def start(self) -> None:
        watchers = "".join(textwrap.dedent(f"""
            [watcher:child{i}]
            cmd={argv[0]}
            args={' '.join(argv[1:])}
            numprocesses=1
            respawn=true
            stdout_stream.class=FileStream
            stdout_stream.filename={self.work}/child{i}.log
            """) for i, argv in enumerate(self.children))
        conf = textwrap.dedent(f"""
            [circus]
            endpoint=ipc://{self.work}/endpoint
            pubsub_endpoint=ipc://{self.work}/pubsub
            statsd=false
            """) + watchers
        (self.work / "circus.ini").write_text(conf)
        self.popen([str(VENV_BIN / "circusd"), str(self.work / "circus.ini")])

    def log_files(self) -> list[Path]:
        return [self.work / "child0.log"]


class _ServiceDirs(Supervisor):
    logger: list[str] = []

    def make_dirs(self) -> Path:
        scan = self.work / "scan"
        for i, argv in enumerate(self.children):
            svc = scan / f"child{i}"
            (svc / "log" / "main").mkdir(parents=True)
            run = svc / "run"
            run.write_text(f"#!/bin/sh\nexec {' '.join(argv)}\n")
            run.chmod(0o755)
            logrun = svc / "log" / "run"
            logrun.write_text(f"#!/bin/sh\nexec {' '.join(self.logger)}\n")
            logrun.chmod(0o755)
        return scan

    def log_files(self) -> list[Path]:
        return sorted((self.work / "scan" / "child0" / "log" / "main").iterdir())


class Runit(_ServiceDirs):
    name = "runit"
    logger = ["svlogd", "main"]

    def start(self) -> None:
        scan = self.make_dirs()
        for i in range(len(self.children)):
            (scan / f"child{i}" / "log" / "main" / "config").write_text("s0\nn0\n")
        self.popen(["runsvdir", "-P", str(scan)])

    def log_files(self) -> list[Path]:
        return [p for p in super().log_files() if p.name not in ("config", "lock", "state", "newstate")]


class S6(_ServiceDirs):
    name = "s6"
    logger = ["s6-log", "n100", "s16777215", "./main"]

    def start(self) -> None:
        self.popen(["s6-svscan", str(self.make_dirs())])

    def log_files(self) -> list[Path]:
        return [p for p in super().log_files() if p.name not in ("lock", "state")]


ALL = {c.name: c for c in (K0spy, Supervisord, Circus, Runit, S6)}


# --- measurements -------------------------------------------------------------------------------------
def read_announce(fd: int, timeout: float) -> tuple[int, int]:
    """Next "<pid> <ns>" line from the FIFO (blocking read with a deadline)."""
    import select

    buf = b""
    deadline = time.monotonic() + timeout
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError("child did not announce itself")
        buf += os.read(fd, 1)
    pid, ns = buf.split()
    return int(pid), int(ns)


SPACING = 1.2


def restart_latency(cls: type[Supervisor], base: Path, child: str, samples: int) -> dict[str, float]:
    fifo = base / f"{cls.name}-announce.fifo"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDWR)
    sup = cls(base / f"{cls.name}-latency", [[child, "announce", str(fifo)]])
    try:
        sup.start()
        pid, _ = read_announce(fd, 30)
        lat: list[float] = []
        for _ in range(samples):
            time.sleep(SPACING)
            t_kill = time.monotonic_ns()
            os.kill(pid, signal.SIGKILL)
            pid, t_new = read_announce(fd, 30)
            lat.append((t_new - t_kill) / 1e6)
    finally:
        sup.stop()
        os.close(fd)
    lat.sort()
    return {"median_ms": statistics.median(lat), "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
            "min_ms": lat[0], "max_ms": lat[-1], "samples": len(lat)}


def idle_cost(cls: type[Supervisor], base: Path, child: str, seconds: float) -> dict[str, float]:
    sup = cls(base / f"{cls.name}-idle", [[child, "idle"] for _ in range(8)])
    try:
        sup.start()
        time.sleep(5)
        procs = sup.own_processes()

        def cpu() -> float:
            total = 0.0
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    t = p.cpu_times()
                    total += t.user + t.system
            return total

        c0, t0 = cpu(), time.monotonic()
        time.sleep(seconds)
        used, elapsed = cpu() - c0, time.monotonic() - t0
        pss = 0
        for p in sup.own_processes():
            with contextlib.suppress(psutil.Error):
                pss += p.memory_full_info().pss
        return {"cpu_percent": 100 * used / elapsed, "cpu_ms": used * 1000, "pss_mib": pss / 2**20,
                "processes": len(procs)}
    finally:
        sup.stop()


def _count_lines(files: list[Path], lines: int) -> tuple[int, bool]:
    count, ok = 0, True
    expected = 0
    for f in files:
        for raw in f.read_bytes().splitlines():
            if b"line " not in raw:
                continue
            text = raw.decode(errors="replace")
            if text.startswith("{"):
                text = json.loads(text)["event"]
            num = int(text.split("line ")[1][:7])
            ok = ok and num == expected
            expected += 1
            count += 1
    return count, ok and count == lines


def log_throughput(cls: type[Supervisor], base: Path, child: str, lines: int,
                   mode: str = "flood") -> dict[str, float]:
    fifo = base / f"{cls.name}-{mode}.fifo"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDWR)
    # the flood child announces its start first: a wrapper script stamps, then execs the flood
    wrapper = base / f"{cls.name}-{mode}.sh"
    wrapper.write_text(f"#!/bin/sh\n{child} stamp {fifo}\nexec {child} {mode} {lines}\n")
    wrapper.chmod(0o755)
    sup = cls(base / f"{cls.name}-{mode}", [[str(wrapper)]])
    last = f"line {lines - 1:07d}".encode()
    try:
        sup.start()
        deadline = time.monotonic() + 300
        _, t_start = read_announce(fd, 30)
        done_at = None
        while time.monotonic() < deadline:
            try:
                files = sup.log_files()
            except FileNotFoundError:
                files = []
            found = False
            for f in files:
                with contextlib.suppress(FileNotFoundError), open(f, "rb") as h:
                    h.seek(max(0, f.stat().st_size - 400))
                    if last in h.read():
                        found = True
            if found:
                done_at = time.monotonic_ns()
                break
            time.sleep(0.005)
        if done_at is None:
            raise TimeoutError(f"{cls.name}: last line never arrived")
        time.sleep(0.5)
        count, complete = _count_lines(sup.log_files(), lines)
        seconds = (done_at - t_start) / 1e9
        return {"lines_per_s": lines / seconds, "seconds": seconds, "lines_seen": count, "complete": complete}
    finally:
        sup.stop()
        os.close(fd)


def fork_floor(child: str, n: int = 200) -> float:
    """Median ms of a plain fork/exec/wait of the child binary in `idle`-less mode (exits at once)."""
    true = shutil.which("true") or "/bin/true"
    out = []
    for _ in range(n):
        t0 = time.monotonic_ns()
        pid = os.posix_spawn(true, [true], os.environ)
        os.waitpid(pid, 0)
        out.append((time.monotonic_ns() - t0) / 1e6)
    return statistics.median(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--idle-seconds", type=float, default=60.0)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--only", default=",".join(ALL))
    ap.add_argument("--skip", default="", help="comma list of measurements to skip: latency,idle,logs")
    ap.add_argument("--json", type=Path, help="write the raw results here too")
    ap.add_argument("--spacing", type=float, default=SPACING, help="seconds from a restart to the next kill")
    args = ap.parse_args()
    globals()["SPACING"] = args.spacing
    base = Path(tempfile.mkdtemp(prefix="k0spy-bench-"))
    child = str(base / "bench_child")
    subprocess.run(["gcc", "-O2", "-o", child, str(HERE / "bench_child.c")], check=True)
    results: dict[str, Any] = {"fork_floor_ms": fork_floor(child), "cpus": os.cpu_count()}
    skip = set(args.skip.split(",")) - {""}
    try:
        for name in args.only.split(","):
            cls = ALL[name]
            r: dict[str, Any] = {}
            if "latency" not in skip:
                r["latency"] = restart_latency(cls, base, child, args.samples)
                print(name, "latency", r["latency"], flush=True)
            if "idle" not in skip:
                r["idle"] = idle_cost(cls, base, child, args.idle_seconds)
                print(name, "idle", r["idle"], flush=True)
            if "logs" not in skip:
                r["logs"] = log_throughput(cls, base, child, args.lines)
                print(name, "logs", r["logs"], flush=True)
                r["logs_per_line_writes"] = log_throughput(cls, base, child, args.lines, "floodw")
                print(name, "logs_per_line_writes", r["logs_per_line_writes"], flush=True)
            results[name] = r
            print(name, json.dumps(r), flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "_k0spy":
        sys.exit(k0spy_daemon(sys.argv[2]))
    sys.exit(main())
