"""Structural check: cheap commands never import the heavy libraries (design note 14).

Each case runs the command inside a fresh interpreter and reports which of the heavy modules ended up in
sys.modules. This is about what is imported, not how long it takes, so it is stable on a noisy machine.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pydantic", "cryptography", "aiohttp", "yaml")

_CHILD = """
import contextlib, io, json, sys
from k0spy.cli.main import main
args = json.loads(sys.argv[1])
out = io.StringIO()
code = None
with contextlib.redirect_stdout(out):
    try:
        main(args)
    except SystemExit as exc:
        code = exc.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
print(json.dumps({"code": code, "heavy": heavy, "out": out.getvalue()[:200]}))
""".replace("HEAVY", repr(HEAVY))


def _imports_of(args: list[str]) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(args)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.splitlines()[-1])
    return result


def test_importing_the_cli_is_light() -> None:
    code = f"import sys, k0spy.cli.main; print([m for m in sys.modules if m.split('.')[0] in {HEAVY!r}])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          check=True)
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "args",
    [["version"], ["version", "-o", "json"], ["--help"], ["sysinfo", "--help"], ["completion", "bash"]],
)
def test_cheap_commands_import_nothing_heavy(args: list[str]) -> None:
    result = _imports_of(args)
    assert result["code"] in (0, None), result
    assert result["out"], "the command printed nothing"
    assert result["heavy"] == []


def test_sysinfo_text_and_json_need_no_heavy_library() -> None:
    for output in ("text", "json"):
        result = _imports_of(["sysinfo", "--worker=false", "--data-dir", "/tmp", "-o", output])
        assert result["heavy"] == [], output
