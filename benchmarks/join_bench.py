"""The join API under load, side by side with nginx and `openssl s_server -www`, plus a second member's join.

    .venv/bin/python benchmarks/join_bench.py [--duration 8] [--connections 50] [--rounds 3] [--write FILE]

One test bed (tests.support.join): a k0s PKI made by k0spy (RSA-2048 k0s-api.crt), real etcd 3.4, the
kube-apiserver double holding a controller token's Secret, and `k0spy api` (on uvloop, as it runs when
uvloop is installed) plus a second `k0spy api` with uvloop made unimportable, on asyncio's own loop (the
"before uvloop" row, measured in the same rounds). Peers on the same machine
and loopback, with the same certificate and the k0s TLS 1.2 cipher list:
  nginx        Debian's nginx-light, 1 worker (the join server is one event loop; a 2-worker row too),
               session cache and tickets off, serving the same JSON from a static file
  s_server     `openssl s_server -www` (iterative: one connection at a time; it ends each answer by
               closing, which wrk counts as a read error: its rate is those per second, no latency)
  tls-floor    uvloop's TLS transport with k0spy's TLS context answering fixed bytes (no HTTP at all)
  aiohttp-bare aiohttp.web on uvloop, one route, the fixed body, no token and no log line
  uvicorn-bare uvicorn (uvloop + httptools) with a raw ASGI app, the fixed body, the same TLS context
               (these two measure what an HTTP framework costs above the floor: issue #9's ceiling)
Load: wrk, 2 threads, N connections, `Connection: close` on every request, so every request is a new
TCP connection and a full TLS handshake: wrk negotiates TLS 1.3, and no server here resumes a TLS 1.3
session (k0spy api sends no tickets; checked with `openssl s_client -reconnect`). Every server process
(k0spy api with the apiserver double and etcd behind it; each nginx; s_server) is pinned to CPU 1 and
wrk to CPU 0, so each server has one core however many processes it is made of. Rounds are interleaved; the
median round is reported. Then: the time from "joiner has a controller token" to "joiner is a voting
etcd member" (CA fetch, learner add, etcd certificates from the returned CA, etcd start with state
existing, promotion by the reconciler call polled every 100 ms), median of 3.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.util
import os
import platform
import re
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from k0spy import log  # noqa: E402
from k0spy.joinapi.settings import OPENSSL_TLS12_CIPHERS  # noqa: E402
from tests.doubles import layout  # noqa: E402
from tests.support.doubles import Procs, apiserver_args, start_etcd, stop_process, wait_http_ok  # noqa: E402
from tests.support.doubles_pki import DoublesPki  # noqa: E402
from tests.support.join import (  # noqa: E402
    CONTROLLER_USAGE,
    ROOT,
    JoinBed,
    make_paths,
    node_config,
    point_admin_conf,
    secret_doc,
    start_api,
    stop_api,
    wait_listening,
)
from tests.support.net import free_port  # noqa: E402

MARK_START, MARK_END = "<!-- join_bench:start -->", "<!-- join_bench:end -->"
# Servers (and what they depend on: the apiserver double, etcd) share CPU 1; the load generator gets CPU 0.
SERVER_CPUS = {1} if (os.cpu_count() or 1) > 1 else {0}
CLIENT_CPU = ["taskset", "-c", "0"] if (os.cpu_count() or 1) > 1 else []


def pin(pid: int, cpus: set[int] = SERVER_CPUS) -> None:
    """Pin every thread of `pid` (Go and Python start threads early; new ones inherit)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), cpus)
TOKEN = "benchm.0123456789abcdef"


@dataclass
class Result:
    rps: float
    p99_ms: float
    non_2xx: int
    errors: int
    cpu_ms: float = float("nan")  # server CPU time (user + system) per answered request


def server_pids(url: str) -> set[int]:
    """Every process holding the listening socket of `url` (an nginx master and its workers)."""
    port = url.split(":")[2].split("/")[0]
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=True)
    return {int(pid) for pid in re.findall(r"pid=(\d+)", out.stdout)}


def cpu_seconds(pids: set[int]) -> float:
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, duration: int, connections: int, token: str | None, eof_body: bool = False) -> Result:
    args = [*CLIENT_CPU, "wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency",
            "-H", "Connection: close"]
    if token:
        args += ["-H", f"Authorization: Bearer {token}"]
    done = subprocess.run([*args, url], capture_output=True, text=True, check=True, timeout=duration + 60)
    out = done.stdout

    def find(pattern: str) -> re.Match[str] | None:
        return re.search(pattern, out)

    errs = find(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
    counts = [int(x) for x in errs.groups()] if errs else [0, 0, 0, 0]
    if eof_body:  # every answer ends with a close that wrk calls a read error
        return Result(counts[1] / duration, float("nan"), 0, counts[0] + counts[2] + counts[3])
    rps = float(find(r"Requests/sec:\s+([\d.]+)").group(1))  # type: ignore[union-attr]
    p99 = _ms(find(r"\s99%\s+(\S+)").group(1))  # type: ignore[union-attr]
    non2xx = find(r"Non-2xx or 3xx responses: (\d+)")
    return Result(rps, p99, int(non2xx.group(1)) if non2xx else 0, sum(counts))


NGINX_CONF = """worker_processes {workers};
daemon off;
user root root;
pid {dir}/{name}.pid;
error_log {dir}/{name}-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  server {{
    listen 127.0.0.1:{port} ssl backlog=1024;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers {ciphers};
    ssl_session_cache off;
    ssl_session_tickets off;
    location = /v1beta1/ca {{ default_type application/json; alias {dir}/ca.json; }}
  }}
}}
"""


@contextmanager
def bed(base: Path) -> Iterator[JoinBed]:
    paths = make_paths(base)
    bin_dir = base / "bin"
    bin_dir.mkdir()
    layout.build(bin_dir)
    pki = DoublesPki(paths.cert_dir, None, None, None)  # type: ignore[arg-type]
    etcd = start_etcd(base / "etcd", pki)
    procs = Procs(base, bin_dir)
    api_proc = None
    try:
        kube_port = free_port()
        kube = procs.start("kube-apiserver", apiserver_args(pki, kube_port, etcd.url))
        kube_url = f"https://127.0.0.1:{kube_port}"
        ctx = ssl.create_default_context(cafile=str(paths.cert_dir / "ca.crt"))
        ctx.load_cert_chain(str(paths.cert_dir / "admin.crt"), str(paths.cert_dir / "admin.key"))
        wait_http_ok(kube_url + "/readyz", ctx, kube)
        point_admin_conf(paths, kube_url)
        port = free_port()
        api_proc = start_api(paths, node_config(port, etcd.url), base / "api.log")
        wait_listening(port, api_proc, base / "api.log")
        for pid in (etcd.proc.pid, kube.popen.pid, api_proc.pid):
            pin(pid)
        api_url = f"https://127.0.0.1:{port}"
        yield JoinBed(paths, etcd, kube_url, api_url, port, api_proc, base / "api.log", procs)
    finally:
        if api_proc is not None:
            stop_api(api_proc)
        procs.stop_all()
        stop_process(etcd.proc)


# `k0spy api` as the controller starts it, except that uvloop cannot be imported: the asyncio-loop row
BLOCK_UVLOOP = "import sys; sys.modules['uvloop'] = None; from k0spy.cli.main import main; main()"


@contextmanager
def asyncio_api(base: Path, joinbed: JoinBed) -> Iterator[str]:
    """A second `k0spy api` on the same PKI and apiserver, running asyncio's own event loop."""
    from k0spy.runtime import runtime_config_doc

    port, log_path = free_port(), base / "api-asyncio.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", BLOCK_UVLOOP, "api"], stdin=subprocess.PIPE,
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        assert proc.stdin is not None
        proc.stdin.write(yaml.safe_dump(runtime_config_doc(joinbed.paths,
                                                           node_config(port, joinbed.etcd.url))).encode())
        proc.stdin.close()
        wait_listening(port, proc, log_path)
        if '"loop": "asyncio"' not in log_path.read_text():
            raise SystemExit(f"the asyncio-loop k0spy api reported another loop:\n{log_path.read_text()}")
        pin(proc.pid)
        yield f"https://127.0.0.1:{port}/v1beta1/ca"
    finally:
        stop_api(proc)


# The floor of any Python server on this loop: uvloop's TLS transport with k0spy's own TLS context,
# answering every request with the same bytes (no HTTP parsing, no aiohttp, no token) and closing.
TLS_FLOOR = """
import asyncio, sys, uvloop
from pathlib import Path
from k0spy.joinapi.server import tls_context
cert, key, body, port = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]).read_bytes(), int(sys.argv[4])
answer = (b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nConnection: close\\r\\n"
          b"Content-Length: %d\\r\\n\\r\\n" % len(body)) + body
class Answer(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
    def data_received(self, data):
        if b"\\r\\n\\r\\n" in data:
            self.transport.write(answer)
            self.transport.close()
async def main():
    loop = asyncio.get_running_loop()
    await loop.create_server(Answer, "127.0.0.1", port, ssl=tls_context(cert, key), backlog=1024)
    await asyncio.Event().wait()
uvloop.run(main())
"""


# What a framework costs on top of the floor: the same context and body, one route, no token, no log line.
# aiohttp.web on uvloop, set up as `k0spy api` sets it up (AppRunner options, create_server, backlog).
AIOHTTP_BARE = """
import asyncio, sys, uvloop
from pathlib import Path
from aiohttp import web
from k0spy.joinapi.server import tls_context
cert, key, body, port = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]).read_bytes(), int(sys.argv[4])
async def ca(_request):
    return web.Response(body=body, content_type="application/json")
async def main():
    app = web.Application()
    app.router.add_route("*", "/v1beta1/ca", ca)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, keepalive_timeout=5.0,
                           tcp_keepalive=False)
    await runner.setup()
    loop = asyncio.get_running_loop()
    await loop.create_server(runner.server, "127.0.0.1", port, ssl=tls_context(cert, key),
                             reuse_address=True, backlog=1024)
    await asyncio.Event().wait()
uvloop.run(main())
"""

# uvicorn (uvloop + httptools) with a raw ASGI app: the same context through uvicorn's ssl_context_factory.
UVICORN_BARE = """
import sys
from pathlib import Path
import uvicorn
from k0spy.joinapi.server import tls_context
cert, key, body, port = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]).read_bytes(), int(sys.argv[4])
START = {"type": "http.response.start", "status": 200,
         "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}
ANSWER = {"type": "http.response.body", "body": body}
NOT_FOUND = {"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]}
async def app(scope, receive, send):
    if scope["path"] != "/v1beta1/ca":
        await send(NOT_FOUND)
        await send({"type": "http.response.body", "body": b""})
        return
    await send(START)
    await send(ANSWER)
config = uvicorn.Config(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", access_log=False,
                        lifespan="off", log_level="warning", backlog=1024,
                        ssl_context_factory=lambda _config, _default: tls_context(cert, key))
uvicorn.Server(config).run()
"""


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _nginx(base: Path, name: str, workers: int, cert: Path, key: Path) -> tuple[subprocess.Popen[bytes], int]:
    port, conf, errors = free_port(), base / f"{name}.conf", base / f"{name}-error.log"
    conf.write_text(NGINX_CONF.format(dir=base, name=name, port=port, cert=cert, key=key, workers=workers,
                                      ciphers=OPENSSL_TLS12_CIPHERS))
    proc = subprocess.Popen(["taskset", "-c", ",".join(map(str, SERVER_CPUS)), "nginx", "-c", str(conf),
                             "-e", str(errors)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, proc, errors)
    return proc, port


@contextmanager
def peers(base: Path, joinbed: JoinBed, servers: set[str]) -> Iterator[dict[str, str]]:
    cert, key = joinbed.paths.cert_dir / "k0s-api.crt", joinbed.paths.cert_dir / "k0s-api.key"
    request = urllib.request.Request(joinbed.api_url + "/v1beta1/ca",
                                     headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, context=joinbed.ca_context()) as resp:
        (base / "ca.json").write_bytes(resp.read())
    started: list[tuple[subprocess.Popen[bytes], int]] = []
    try:
        nginx1, port1 = _nginx(base, "nginx1", 1, cert, key)
        started.append((nginx1, signal.SIGQUIT))
        nginx2, port2 = _nginx(base, "nginx2", 2, cert, key)
        started.append((nginx2, signal.SIGQUIT))
        s_port = free_port()
        s_server = subprocess.Popen(
            ["taskset", "-c", ",".join(map(str, SERVER_CPUS)), "openssl", "s_server",
             "-accept", f"127.0.0.1:{s_port}", "-cert", str(cert), "-key", str(key), "-www",
             "-cipher", OPENSSL_TLS12_CIPHERS, "-no_ticket", "-no_cache", "-quiet"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append((s_server, signal.SIGTERM))
        wait_listening(s_port, s_server, base / "nginx1-error.log")
        floor_port = free_port()
        floor = subprocess.Popen(
            ["taskset", "-c", ",".join(map(str, SERVER_CPUS)), sys.executable, "-c", TLS_FLOOR,
             str(cert), str(key), str(base / "ca.json"), str(floor_port)], cwd=REPO,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append((floor, signal.SIGTERM))
        wait_listening(floor_port, floor, base / "nginx1-error.log")
        bare = {}
        for name, script in (("aiohttp-bare", AIOHTTP_BARE), ("uvicorn-bare", UVICORN_BARE)):
            if name not in servers:  # exploratory rows: started only when asked for
                continue
            bare_port, bare_log = free_port(), base / f"{name}.log"
            with bare_log.open("wb") as out:
                proc = subprocess.Popen(
                    ["taskset", "-c", ",".join(map(str, SERVER_CPUS)), sys.executable, "-c", script,
                     str(cert), str(key), str(base / "ca.json"), str(bare_port)], cwd=REPO,
                    stdout=out, stderr=subprocess.STDOUT)
            started.append((proc, signal.SIGTERM))
            wait_listening(bare_port, proc, bare_log)
            bare[name] = f"https://127.0.0.1:{bare_port}/v1beta1/ca"
        yield {**bare, "nginx": f"https://127.0.0.1:{port1}/v1beta1/ca",
               "nginx2": f"https://127.0.0.1:{port2}/v1beta1/ca",
               "s_server": f"https://127.0.0.1:{s_port}/v1beta1/ca",
               "tls-floor": f"https://127.0.0.1:{floor_port}/v1beta1/ca"}
    finally:
        for proc, sig in reversed(started):
            _stop(proc, sig)


async def _join_once(joinbed: JoinBed, base: Path, index: int) -> float:
    import aiohttp

    from k0spy.joinapi.client import JoinClient, write_ca_bundle, write_etcd_ca
    from k0spy.joinapi.etcdmembers import etcd_ssl, list_members, promote_one_learner
    from k0spy.joinapi.settings import EtcdAccess
    from k0spy.joinapi.token import make_join_token
    from k0spy.paths import Paths
    from k0spy.pki.ensure import ensure_etcd_pki
    from k0spy.pki.settings import PKISettings
    from tests.support.join import remove_member, start_joined_etcd

    p = joinbed.paths
    access = EtcdAccess(joinbed.etcd.url, p.etcd_cert_dir / "ca.crt",
                        p.cert_dir / "apiserver-etcd-client.crt",
                        p.cert_dir / "apiserver-etcd-client.key", p.etcd_cert_dir)
    joiner = Paths.build(base / f"joiner{index}", run_dir=base / f"joiner{index}-run", etc_dir=base / "etc")
    token = make_join_token(joinbed.api_url, (p.cert_dir / "ca.crt").read_bytes(), "controller", TOKEN)
    peer, client_port = free_port(), free_port()
    proc = None
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=etcd_ssl(access))) as session:
        try:
            start = time.perf_counter()
            client = JoinClient.from_token_text(token)
            write_ca_bundle(joiner, await client.get_ca())
            answer = await client.join_etcd(f"joiner{index}", f"https://127.0.0.1:{peer}")
            write_etcd_ca(joiner, answer.ca)
            await asyncio.to_thread(ensure_etcd_pki, joiner, PKISettings())
            proc = start_joined_etcd(joiner, f"joiner{index}", answer.initial_cluster, peer, client_port,
                                     base / f"joiner{index}.log")
            while await promote_one_learner(session, access) is None:
                await asyncio.sleep(0.1)
            return time.perf_counter() - start
        finally:
            for member in await list_members(session, access):
                if member.get("name") not in ("test", None) or member.get("isLearner"):
                    await remove_member(session, joinbed.etcd.url, member["ID"])
            if proc is not None:
                stop_process(proc)


LABELS = {
    "k0spy": "`k0spy api` (uvloop), GET /v1beta1/ca, valid controller token (watch-backed Secret cache)",
    "k0spy-401": "`k0spy api` (uvloop), no token (401 before any lookup)",
    "k0spy-asyncio": "`k0spy api` on asyncio's loop (uvloop not importable), valid controller token",
    "nginx": "nginx-light 1.22, 1 worker, static file",
    "nginx2": "nginx-light 1.22, 2 workers, static file",
    "s_server": "`openssl s_server -www` (closed connections per second)",
    "tls-floor": "uvloop TLS transport alone, same TLS context, fixed answer (no HTTP, no aiohttp, no token)",
    "aiohttp-bare": "aiohttp.web on uvloop, one route, fixed answer (no token, no log line)",
    "uvicorn-bare": "uvicorn (uvloop, httptools), raw ASGI app, fixed answer (no token, no log line)",
}


def render(results: dict[str, list[Result]], joins: list[float], args: argparse.Namespace,
           loads: tuple[str, str]) -> str:
    def median(name: str) -> Result:
        rows = sorted(results[name], key=lambda r: r.rps)
        return rows[len(rows) // 2]

    def median_cpu(name: str) -> float:
        return statistics.median(r.cpu_ms for r in results[name])

    nginx, nginx_cpu = median("nginx").rps, median_cpu("nginx")
    lines = [
        MARK_START, "## Join API under load (benchmarks/join_bench.py)", "",
        f"{dt.date.today()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{ssl.OPENSSL_VERSION}; wrk -t2 -c{args.connections}, {args.duration:g} s per run, "
        "`Connection: close` (a full TLS handshake per request, RSA-2048 k0s-api.crt), "
        f"median of {args.rounds} interleaved rounds; load average (1, 5, 15 min) {loads[0]} at the start, "
        f"{loads[1]} at the end. CPU/request is the server's user + system time over the requests it "
        "answered: less sensitive than requests/s to other work on a shared machine.",
        "", "| server | requests/s | vs nginx | p99 (ms) | CPU/request (ms) | vs nginx (CPU) | non-2xx "
        "| socket errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    measured = [name for name in LABELS if results[name]]
    for name in measured:
        label, r, cpu = LABELS[name], median(name), median_cpu(name)
        p99 = "-" if r.p99_ms != r.p99_ms else f"{r.p99_ms:.1f}"
        lines.append(f"| {label} | {r.rps:.0f} | {r.rps / nginx:.2f}x | {p99} | {cpu:.3f} | "
                     f"{nginx_cpu / cpu:.2f}x | {r.non_2xx} | {r.errors} |")
    lines += ["", "All rounds (requests/s): " + "; ".join(
        f"{name} " + ", ".join(f"{r.rps:.0f}" for r in results[name]) for name in measured) + ".",
        "", "All rounds (CPU ms/request): " + "; ".join(
        f"{name} " + ", ".join(f"{r.cpu_ms:.3f}" for r in results[name]) for name in measured) + ".",
        "", "Each round against the same round's nginx (requests/s ratio): " + "; ".join(
        f"{name} " + ", ".join(f"{r.rps / n.rps:.2f}" for r, n in zip(results[name], results["nginx"],
                                                                      strict=True))
        for name in measured if name != "nginx") + "."]
    if joins:
        lines += ["", f"Second member, controller token to voting etcd member (CA fetch, learner add, etcd "
                  f"certificates, etcd start, promotion): median {statistics.median(joins):.2f} s "
                  f"(runs: {', '.join(f'{j:.2f}' for j in joins)})."]
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
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--joins", type=int, default=3)
    parser.add_argument("--write", metavar="FILE", help="replace (or append) this benchmark's section")
    parser.add_argument("--servers", default=",".join(LABELS),
                        help="comma-separated rows to measure (exploring; nginx is always measured)")
    args = parser.parse_args()
    servers = {"nginx", *args.servers.split(",")}
    if unknown := servers - set(LABELS):
        parser.error(f"unknown servers {sorted(unknown)}; known: {', '.join(LABELS)}")
    for tool in ("wrk", "nginx", "openssl", "etcd"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found (apt-get install -y wrk nginx-light openssl etcd-server)")
    if "uvicorn-bare" in servers and not (importlib.util.find_spec("uvicorn")
                                          and importlib.util.find_spec("httptools")):
        raise SystemExit("the uvicorn-bare row needs uvicorn and httptools (.venv/bin/pip install uvicorn "
                         "httptools), or leave it out with --servers")
    log.configure("error")
    load_start = load_average()
    results: dict[str, list[Result]] = {name: [] for name in LABELS}
    joins: list[float] = []
    with tempfile.TemporaryDirectory(prefix="k0spy-join-bench-") as tmp:
        base = Path(tmp)
        with bed(base) as joinbed:
            joinbed.put_secret(secret_doc(TOKEN, usages=CONTROLLER_USAGE, expires_in=None))
            with peers(base, joinbed, servers) as urls, asyncio_api(base, joinbed) as asyncio_url:
                targets = {"k0spy": (joinbed.api_url + "/v1beta1/ca", TOKEN),
                           "k0spy-401": (joinbed.api_url + "/v1beta1/ca", None),
                           "k0spy-asyncio": (asyncio_url, TOKEN),
                           "nginx": (urls["nginx"], None), "nginx2": (urls["nginx2"], None),
                           "s_server": (urls["s_server"], None), "tls-floor": (urls["tls-floor"], None),
                           "aiohttp-bare": (urls.get("aiohttp-bare", ""), None),
                           "uvicorn-bare": (urls.get("uvicorn-bare", ""), None)}
                for round_ in range(args.rounds):
                    for name, (url, token) in targets.items():
                        if name not in servers:
                            continue
                        pids = server_pids(url)
                        before = cpu_seconds(pids)
                        result = run_wrk(url, args.duration, args.connections, token,
                                         eof_body=name == "s_server")
                        if answered := result.rps * args.duration:
                            result.cpu_ms = 1000 * (cpu_seconds(pids) - before) / answered
                        results[name].append(result)
                        print(f"round {round_ + 1} {name}: {result}", file=sys.stderr)
                load_end = load_average()
            for index in range(args.joins):
                joins.append(asyncio.run(_join_once(joinbed, base, index)))
                print(f"join {index + 1}: {joins[-1]:.2f} s", file=sys.stderr)
    section = render(results, joins, args, (load_start, load_end))
    print(section)
    if args.write:
        write_section(Path(args.write), section)


if __name__ == "__main__":
    main()
