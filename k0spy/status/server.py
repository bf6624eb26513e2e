"""The status API: a small HTTP/1.1 server on the unix socket RUN/status.sock.

Why not aiohttp (which the issue names): importing aiohttp.web costs about 250 ms and 24 MiB in the
supervising process, which otherwise stays at about 23 MiB; measured here, see BENCHMARKS.md. The status
socket serves four GET endpoints to local root clients, one request per connection (k0s's client
disables keep-alive too), so about a hundred lines of asyncio do the job with no new attack surface and
no cost. The join API, which does need a real web framework, runs as its own child (as in k0s).

Endpoints: `/status` (k0s's fields with Go names, section 8.2), `/components` (one snapshot per component,
with RSS and CPU% from psutil), `/metrics` (Prometheus text), `/timeline` (start-up marks).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from k0spy.log import get_logger
from k0spy.status.metrics import ResourceSampler, render_metrics
from k0spy.status.timeline import Timeline
from k0spy.supervisor.process import ProcessStatus

MAX_REQUEST = 8192
REQUEST_TIMEOUT = 5.0
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}

def log() -> Any:
    """Bound at call time: the daemon configures structlog after this module is imported."""
    return get_logger(component="status")


@dataclass
class StatusInfo:
    """The static part of `/status`, provided by the role that runs the daemon."""

    version: str
    role: str
    k0s_vars: dict[str, str]
    args: list[str] = field(default_factory=list)
    workloads: bool = False
    single_node: bool = False
    cluster_config: dict[str, Any] | None = None
    sys_init: str = ""
    stub_file: str = ""


def component_row(name: str, snap: ProcessStatus | None, sampler: ResourceSampler,
                  now: float, *, has_process: bool = True) -> dict[str, Any]:
    """One `/components` entry; a component without a process of its own is reported as running."""
    if snap is None:
        return {"name": name, "state": "stopped" if has_process else "running", "pid": None, "restarts": 0}
    rss, cpu = sampler.sample(snap.pid)
    uptime = snap.uptime(now)
    return {
        "name": name, "state": snap.state, "pid": snap.pid,
        "uptime": round(uptime, 3) if uptime is not None else None,
        "restarts": snap.restarts, "lastExit": snap.last_exit, "lastExitAt": snap.last_exit_at,
        "backoff": snap.backoff, "nextRestartAt": snap.next_restart_at,
        "probe": None if snap.probe_ok is None else
        {"ok": snap.probe_ok, "message": snap.probe_message, "at": snap.probe_at},
        "rss": rss, "cpuPercent": cpu,
    }


class StatusServer:
    def __init__(self, socket_path: Path, info: StatusInfo, components: Callable[[], list[Any]],
                 timeline: Timeline) -> None:
        self.socket_path = socket_path
        self.info = info
        self.components = components
        self.timeline = timeline
        self.sampler = ResourceSampler()
        self._server: asyncio.AbstractServer | None = None

    # --- documents --------------------------------------------------------------------------------
    def status_doc(self) -> dict[str, Any]:
        info = self.info
        return {
            "Version": info.version, "Pid": os.getpid(), "PPid": os.getppid(), "Role": info.role,
            "SysInit": info.sys_init, "StubFile": info.stub_file, "Output": "",
            "Workloads": info.workloads, "SingleNode": info.single_node, "Args": info.args,
            "WorkerToAPIConnectionStatus": {"Message": "", "Success": False},
            "ClusterConfig": info.cluster_config, "K0sVars": info.k0s_vars,
        }

    def components_doc(self, max_count: int | None = None) -> list[dict[str, Any]]:
        """One row per component; with `max_count`, also its last probes and events (newest first)."""
        now = time.time()
        rows = []
        for comp in self.components():
            status = getattr(comp, "status", None)
            row = component_row(comp.name, status() if callable(status) else None, self.sampler, now,
                                has_process=callable(status))
            details = getattr(comp, "details", None)  # a component's own fields (cert-renewer's last run)
            if callable(details):
                row.update(details())
            history = getattr(comp, "history", None)
            if max_count is not None and callable(history):
                row.update(history(max_count))
            rows.append(row)
        self.sampler.forget_except({r["pid"] for r in rows if r.get("pid")})
        return rows

    def route(self, path: str) -> tuple[int, bytes, str]:
        parts = urlsplit(path)
        target = parts.path
        if target == "/status":
            return 200, _json(self.status_doc()), "application/json"
        if target == "/components":
            raw = parse_qs(parts.query).get("maxCount", [None])[0]
            if raw is not None and not (raw.isdigit() and int(raw) >= 1):
                error = f"maxCount must be a whole number of at least 1, not {raw!r}"
                return 400, _json({"error": error}), "application/json"
            return 200, _json(self.components_doc(int(raw) if raw else None)), "application/json"
        if target == "/timeline":
            return 200, _json(self.timeline.to_json()), "application/json"
        if target == "/metrics":
            body, ctype = render_metrics(self.components_doc(), self.timeline.to_json())
            return 200, body, ctype
        return 404, _json({"error": f"no such endpoint: {target}"}), "application/json"

    # --- HTTP ---------------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT)
            method, path, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            if method != "GET":
                code, body, ctype = 405, _json({"error": "only GET"}), "application/json"
            else:
                code, body, ctype = self.route(path)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            code, body, ctype = 400, _json({"error": "bad request"}), "application/json"
        except Exception as err:  # a bug in a document must not take the daemon down
            log().error("status.handler_failed", error=repr(err))
            code, body, ctype = 500, _json({"error": str(err)}), "application/json"
        reason = REASONS.get(code, "Error")
        header = (f"HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                  "Connection: close\r\n\r\n").encode()
        with contextlib.suppress(ConnectionError):
            writer.write(header + body)
            await writer.drain()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()  # we hold the run-dir lock: any socket here is a dead daemon's
        self._server = await asyncio.start_unix_server(self._handle, path=str(self.socket_path),
                                                       limit=MAX_REQUEST)
        log().info("status.listening", socket=str(self.socket_path))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()


def _json(doc: Any) -> bytes:
    return json.dumps(doc, indent=None, separators=(",", ":")).encode()
