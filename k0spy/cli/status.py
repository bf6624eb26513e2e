"""`k0spy status`: ask the running daemon over RUN/status.sock, print text, JSON or YAML.

    k0spy status [-o json|yaml]                 the daemon (k0s's fields and text layout)
    k0spy status components [-o json|yaml]      one row per component: state, pid, uptime, restarts...
        [--max-count N]                         ... and its last N probe results and events
    k0spy status timeline [-o json]             the start-up waterfall

Exit code 1 with "k0spy is not running" when no daemon answers on the socket. Stdlib only at import time.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click

from k0spy.cli.options import common_options, global_options
from k0spy.supervisor.history import KEPT as HISTORY_KEPT

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


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def _history_line(item: dict[str, Any]) -> str:
    if "ok" in item:
        return f"probe {'ok' if item['ok'] else 'failed: ' + str(item.get('message', ''))}"
    if item.get("event") == "exited":
        return f"pid {item.get('pid')} {item.get('how')}"
    why = ", ".join(f"{k}={v}" for k, v in item.items() if k not in ("at", "event", "from", "to"))
    return f"{item.get('from')} -> {item.get('to')}" + (f" ({why})" if why else "")


def render_history(rows: list[dict[str, Any]]) -> str:
    """Below the table: each supervised component's recent probes and events, newest first."""
    out = []
    for row in rows:
        items = sorted([*row.get("probes", []), *row.get("events", [])], key=lambda i: -i["at"])
        if not items:
            continue
        out.append(f"\n{row['name']}:\n")
        out.extend(f"  {_clock(item['at'])}  {_history_line(item)}\n" for item in items)
    return "".join(out)


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
@click.option("--max-count", type=click.IntRange(min=1), default=None, metavar="N",
              help=f"Also show each component's last N probe results and events (at most {HISTORY_KEPT}).")
@common_options
def components(output: str | None, max_count: int | None) -> None:
    """Show every component: state, pid, uptime, restarts, last exit, backoff, probe, RSS, CPU%."""
    rows = _get("/components" if max_count is None else f"/components?maxCount={max_count}")
    if not _emit(rows, output):
        click.echo(render_components(rows), nl=False)
        if max_count is not None:
            click.echo(render_history(rows), nl=False)


@status.command("timeline")
@click.option("-o", "--output", type=click.Choice(["json"]), help="Output format (default: a waterfall).")
@common_options
def timeline(output: str | None) -> None:
    """Show when each component was initialised, spawned and became ready."""
    from k0spy.status.timeline import render_waterfall

    doc = _get("/timeline")
    if not _emit(doc, output):
        click.echo(render_waterfall(doc), nl=False)
