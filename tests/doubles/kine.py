"""kine double: keeps the SQLite file of --endpoint (creating kine's table) and serves the etcd v3 API on
--listen-address by running the real etcd there, as a child, with its data beside the SQLite file.

Real kine translates etcd gRPC into SQL; etcd itself is the honest stand-in for that API (gRPC KV, Lease,
Txn, Watch and the JSON gateway all answer on the socket).  Only sqlite endpoints are doubled.  etcd needs
a unix URL of the form name:port, relative to its working directory - which k0s' `kine.sock:2379` is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

from .flagparse import ParsedArgs
from .klog import Klog
from .runner import Component
from .runner import main as run_main
from .tlsfiles import StartupError, load_ca_bundle, load_pair

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS kine (id INTEGER PRIMARY KEY AUTOINCREMENT, name INTEGER, created INTEGER, "
    "deleted INTEGER, create_revision INTEGER, prev_revision INTEGER, lease INTEGER, value BLOB, "
    "old_value BLOB)",
    "CREATE INDEX IF NOT EXISTS kine_name_index ON kine (name)",
    "CREATE INDEX IF NOT EXISTS kine_name_id_index ON kine (name,id)",
    "CREATE INDEX IF NOT EXISTS kine_id_deleted_index ON kine (id,deleted)",
    "CREATE INDEX IF NOT EXISTS kine_prev_revision_index ON kine (prev_revision)",
    "CREATE UNIQUE INDEX IF NOT EXISTS kine_name_prev_revision_uindex ON kine (name, prev_revision)",
]
ETCD_ENV = "K0SPY_DOUBLE_ETCD"
STOP_GRACE = 0.5


@dataclass
class Prepared:
    etcd: str
    db: Path
    cwd: str
    client_url: str
    peer_url: str
    metrics_url: str
    tls: tuple[str, str] | None
    debug: bool


def sqlite_path(endpoint: str) -> tuple[Path, str]:
    """(database file, query) of a kine sqlite endpoint (default ./db/state.db)."""
    if not endpoint:
        Path("db").mkdir(mode=0o700, exist_ok=True)
        return Path("db/state.db").resolve(), "_journal=WAL&cache=shared"
    if not endpoint.startswith("sqlite://"):
        scheme = endpoint.split("://")[0]
        raise StartupError(
            f"the k0spy kine double serves sqlite endpoints only, not {scheme!r}", "kine failed"
        )
    dsn = endpoint[len("sqlite://") :]
    dsn = dsn.removeprefix("file:")
    path, _, query = dsn.partition("?")
    return Path(path).resolve(), query


def create_db(path: Path, query: str) -> None:
    if not path.parent.is_dir():
        raise StartupError(f"unable to open database file: no such file or directory ({path})", "kine failed")
    try:
        conn = sqlite3.connect(path)
        try:
            if "_journal=WAL" in query:
                conn.execute("PRAGMA journal_mode=WAL")
            for statement in SCHEMA:
                conn.execute(statement)
            conn.commit()
        finally:
            conn.close()
    except sqlite3.Error as err:
        raise StartupError(f"{err} ({path})", "kine failed") from None


def find_etcd() -> str:
    for candidate in (
        os.environ.get(ETCD_ENV, ""),
        str(Path(sys.argv[0]).resolve().parent / "etcd"),
        shutil.which("etcd") or "",
    ):
        if candidate and os.access(candidate, os.X_OK) and Path(candidate).is_file():
            return candidate
    raise StartupError(f"no etcd executable beside kine, on PATH or in ${ETCD_ENV}", "kine failed")


def listen_urls(listen: str, tls: bool) -> tuple[str, str, str]:
    """(working dir, client URL, peer URL) for etcd from a kine --listen-address."""
    if listen.startswith("unix://"):
        path = Path(listen[len("unix://") :]).absolute()
        if not re.fullmatch(r"[^:/]+:\d+", path.name):
            raise StartupError(
                f"the k0spy kine double needs a socket name of the form NAME:PORT, got {path.name!r}",
                "kine failed",
            )
        if not path.parent.is_dir():
            raise StartupError(f"listen unix {path}: bind: no such file or directory", "kine failed")
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        base = path.name.split(":")[0]
        return str(path.parent), f"{'unixs' if tls else 'unix'}://{path.name}", f"unix://{base}.peer:0"
    address = listen.split("://", 1)[-1]
    host, _, port = address.rpartition(":")
    scheme = "https" if tls else "http"
    return os.getcwd(), f"{scheme}://{host or '0.0.0.0'}:{port}", f"unix://kine-{port}.peer:0"


def prepare(args: ParsedArgs, log: Klog) -> Prepared:
    tls = None
    if args.get("server-cert-file") or args.get("server-key-file"):
        load_pair(args.get("server-cert-file"), args.get("server-key-file"))
        tls = (
            str(Path(args.get("server-cert-file")).resolve()),
            str(Path(args.get("server-key-file")).resolve()),
        )
    if args.get("cert-file") or args.get("key-file"):
        load_pair(args.get("cert-file"), args.get("key-file"))
    for flag in ("ca-file", "trusted-ca-file"):
        if args.get(flag):
            load_ca_bundle(args.get(flag))
    db, query = sqlite_path(args.get("endpoint"))
    log.info(
        f"Configuring sqlite3 database connection pooling: maxIdleConns=2, maxOpenConns=0, "
        f"connMaxLifetime=0s, dsn={db}"
    )
    create_db(db, query)
    cwd, client_url, peer_url = listen_urls(args.get("listen-address", "0.0.0.0:2379"), tls is not None)
    metrics = args.get("metrics-bind-address", ":8080")
    metrics_url = ""
    if metrics and metrics != "0":
        host, _, port = metrics.rpartition(":")
        metrics_url = f"http://{host or '0.0.0.0'}:{port}"
    return Prepared(find_etcd(), db, cwd, client_url, peer_url, metrics_url, tls, args.bool("debug"))


def etcd_args(prep: Prepared) -> list[str]:
    argv = [
        prep.etcd,
        "--name=kine",
        f"--data-dir={prep.db}.etcd",
        f"--listen-client-urls={prep.client_url}",
        f"--advertise-client-urls={prep.client_url}",
        f"--listen-peer-urls={prep.peer_url}",
        f"--initial-advertise-peer-urls={prep.peer_url}",
        f"--initial-cluster=kine={prep.peer_url}",
        "--logger=zap",
        "--log-outputs=stderr",
        f"--log-level={'debug' if prep.debug else 'warn'}",
    ]
    if prep.metrics_url:
        argv.append(f"--listen-metrics-urls={prep.metrics_url}")
    if prep.tls:
        argv += [f"--cert-file={prep.tls[0]}", f"--key-file={prep.tls[1]}"]
    return argv


def _remove_sockets(prep: Prepared) -> None:
    """Go's unix listeners unlink their socket on close (real kine's does); etcd leaves them behind."""
    for url in (prep.client_url, prep.peer_url):
        if url.startswith(("unix://", "unixs://")):
            Path(prep.cwd, url.split("://", 1)[1]).unlink(missing_ok=True)


def _die_with_parent() -> None:
    """Real kine is one process: if the double is SIGKILLed, its etcd must not outlive it."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


async def serve(prep: Prepared, stop: asyncio.Event, log: Klog) -> None:
    proc = await asyncio.create_subprocess_exec(
        *etcd_args(prep), cwd=prep.cwd, stdin=asyncio.subprocess.DEVNULL, preexec_fn=_die_with_parent
    )
    log.info(f"Kine available at {prep.client_url} (etcd pid {proc.pid}, cwd {prep.cwd})")
    exited = asyncio.create_task(proc.wait())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if proc.returncode is None:
            # etcd 3.4 lingers ~1.4 s after "closed etcd server" when serving a unix socket; real kine stops
            # in milliseconds, so give it a moment and then kill it (its WAL makes that crash-safe).
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(exited), STOP_GRACE)
            except TimeoutError:
                proc.kill()
                await exited
        _remove_sockets(prep)
    if not stop.is_set():
        raise StartupError(
            f"the etcd serving the kine API exited with status {proc.returncode}", "kine failed"
        )


COMPONENT = Component(
    "kine", "kine", prepare, serve, version_text="kine version v0.16.4 (k0spy double)", log_style="logrus"
)


def main(argv: list[str] | None = None) -> int:
    return run_main(COMPONENT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
