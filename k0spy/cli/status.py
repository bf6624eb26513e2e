"""`k0spy status`: ask the running daemon over RUN/status.sock, print text, JSON or YAML.

    k0spy status [-o json|yaml]                 the daemon (k0s's fields and text layout)
    k0spy status components [-o json|yaml]      one row per component: state, pid, uptime, restarts...
    k0spy status timeline [-o json]             the start-up waterfall

Exit code 1 with "k0spy is not running" when no daemon answers on the socket. Stdlib only at import time.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click

from k0spy.cli.options import common_options, global_options

OUTPUTS = click.Choice(["json", "yaml"])


def _emit(doc: Any, output: str | None) -> bool:
    if output == "json":
        click.echo(json.dumps(doc, indent=2))
        return True
    if output == "yaml":
        import yaml

        click.echo(yaml.safe_dump(doc, sort_keys=False), nl=False)
        return True
    return False


def _get(path: str) -> Any:
    from k0spy.status.client import get_json

    return get_json(global_options().paths().status_socket, path)


def render_status(doc: dict[str, Any]) -> str:
    lines = [
        f"Version: {doc.get('Version')}",
        f"Process ID: {doc.get('Pid')}",
        f"Role: {doc.get('Role')}",
        f"Workloads: {str(doc.get('Workloads')).lower()}",
        f"SingleNode: {str(doc.get('SingleNode')).lower()}",
    ]
    if doc.get("Workloads"):
        conn = doc.get("WorkerToAPIConnectionStatus") or {}
        if conn.get("Success"):
            lines.append("Kube-api probing successful: true")
        else:
            lines.append("Kube-api probing successful: false")
            lines.append(f"Kube-api probing last error: {conn.get('Message')}")
    return "\n".join(lines) + "\n"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60}m"


def _mib(rss: int | None) -> str:
    return "-" if rss is None else f"{rss / 2**20:.1f}Mi"


def _probe(probe: dict[str, Any] | None, now: float) -> str:
    if not probe:
        return "-"
    age = _duration(max(0.0, now - probe["at"]))
    return f"ok ({age} ago)" if probe["ok"] else f"failed ({age} ago): {probe['message']}"[:60]


def _backoff(row: dict[str, Any], now: float) -> str:
    if row.get("backoff") is None:
        return "-"
    left = max(0.0, (row.get("nextRestartAt") or now) - now)
    return f"{row['backoff']:.2f}s (in {left:.2f}s)"


def render_components(rows: list[dict[str, Any]], now: float | None = None) -> str:
    now = now or time.time()
    header = ("NAME", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT", "BACKOFF", "PROBE", "RSS", "CPU%")
    table = [header]
    for r in rows:
        cpu = r.get("cpuPercent")
        table.append((
            r["name"], r.get("state", "-"), str(r.get("pid") or "-"), _duration(r.get("uptime")),
            str(r.get("restarts", 0)), r.get("lastExit") or "-", _backoff(r, now),
            _probe(r.get("probe"), now), _mib(r.get("rss")), "-" if cpu is None else f"{cpu:.1f}",
        ))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
                   for row in table)


@click.group(invoke_without_command=True)
@click.option("-o", "--output", type=OUTPUTS, help="Output format (default: text).")
@common_options
@click.pass_context
def status(ctx: click.Context, output: str | None) -> None:
    """Show the running daemon's status."""
    if ctx.invoked_subcommand is not None:
        return
    doc = _get("/status")
    if not _emit(doc, output):
        click.echo(render_status(doc), nl=False)


@status.command("components")
@click.option("-o", "--output", type=OUTPUTS, help="Output format (default: a table).")
@common_options
def components(output: str | None) -> None:
    """Show every component: state, pid, uptime, restarts, last exit, backoff, probe, RSS, CPU%."""
    rows = _get("/components")
    if not _emit(rows, output):
        click.echo(render_components(rows), nl=False)


@status.command("timeline")
@click.option("-o", "--output", type=click.Choice(["json"]), help="Output format (default: a waterfall).")
@common_options
def timeline(output: str | None) -> None:
    """Show when each component was initialised, spawned and became ready."""
    from k0spy.status.timeline import render_waterfall

    doc = _get("/timeline")
    if not _emit(doc, output):
        click.echo(render_waterfall(doc), nl=False)
