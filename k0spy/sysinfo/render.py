"""Turn a ProbeReport into what `k0s sysinfo` prints: indented text lines, JSON or YAML.

Text lines read as k0s's: `<indent><name>: <value> (<category>[: <reason>])`, two spaces per level below
the top, and for a probe that could not look, `<name>: error: <reason>`. Colours (k0s's: bright white
names, green/yellow/bold red values) only when writing to a terminal.
"""

from __future__ import annotations

import json
from typing import Any

from k0spy.sysinfo.model import ProbeReport, ProbeResult, Status

_WORDS = {Status.PASS: "pass", Status.WARN: "warning", Status.FAIL: "rejected", Status.INFO: "info"}
_COLOURS = {
    Status.PASS: "32", Status.WARN: "33", Status.FAIL: "1;31", Status.ERROR: "1;31", Status.INFO: "36",
}


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def render_line(result: ProbeResult, *, colour: bool = False) -> str:
    indent = "  " * max(len(result.path) - 1, 0)
    name = _paint(f"{result.name}: ", "97", colour)
    if result.status is Status.ERROR:
        text = f"error: {result.reason}" if result.reason else "error"
        return f"{indent}{name}{_paint(text, _COLOURS[Status.ERROR], colour)}"
    verdict = _WORDS[result.status]
    if result.reason:
        verdict += f": {result.reason}"
    space = " " if result.value else ""
    return f"{indent}{name}{_paint(result.value, _COLOURS[result.status], colour)}{space}({verdict})"


def render_text(report: ProbeReport, *, colour: bool = False) -> str:
    return "".join(render_line(r, colour=colour) + "\n" for r in report)


def as_k0s_list(report: ProbeReport) -> list[dict[str, Any]]:
    return [r.as_k0s_dict() for r in report]


def render_json(report: ProbeReport) -> str:
    return json.dumps(as_k0s_list(report), indent=2) + "\n"


def render_yaml(report: ProbeReport) -> str:
    import yaml

    return str(yaml.safe_dump(as_k0s_list(report), sort_keys=False, allow_unicode=True))
