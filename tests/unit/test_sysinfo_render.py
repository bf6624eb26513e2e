"""Text output matches k0s's reporter byte for byte (its own test expectations), JSON and YAML shapes."""

from __future__ import annotations

import json

import yaml

from k0spy.sysinfo.model import ProbeReport, ProbeResult, Status
from k0spy.sysinfo.render import render_json, render_line, render_text, render_yaml


def test_plain_lines() -> None:
    assert render_line(ProbeResult(("bar",), "foo", Status.PASS, "baz")) == "foo: baz (pass)"
    assert render_line(ProbeResult(("bar", "baz"), "foo", Status.PASS, "qux")) == "  foo: qux (pass)"
    assert render_line(ProbeResult((), "foo", Status.WARN, "", "bar")) == "foo: (warning: bar)"
    assert render_line(ProbeResult((), "foo", Status.FAIL, "bar", "baz")) == "foo: bar (rejected: baz)"
    assert render_line(ProbeResult(("a",), "foo", Status.ERROR, reason="bar")) == "foo: error: bar"
    assert render_line(ProbeResult(("a",), "foo", Status.ERROR)) == "foo: error"


def test_coloured_lines_match_k0s_tests() -> None:
    # Expected strings from k0s's cmd/sysinfo/sysinfo_test.go.
    assert render_line(ProbeResult(("bar", "baz"), "foo", Status.PASS, "qux"), colour=True) == (
        "  \x1b[97mfoo: \x1b[0m\x1b[32mqux\x1b[0m (pass)")
    assert render_line(ProbeResult((), "", Status.PASS), colour=True) == (
        "\x1b[97m: \x1b[0m\x1b[32m\x1b[0m(pass)")
    assert render_line(ProbeResult((), "foo", Status.WARN, "bar", "baz"), colour=True) == (
        "\x1b[97mfoo: \x1b[0m\x1b[33mbar\x1b[0m (warning: baz)")
    assert render_line(ProbeResult((), "foo", Status.FAIL, "", "bar"), colour=True) == (
        "\x1b[97mfoo: \x1b[0m\x1b[1;31m\x1b[0m(rejected: bar)")
    assert render_line(ProbeResult((), "foo", Status.ERROR, reason="bar"), colour=True) == (
        "\x1b[97mfoo: \x1b[0m\x1b[1;31merror: bar\x1b[0m")


def _report() -> ProbeReport:
    return ProbeReport([
        ProbeResult(("memory",), "Total memory", Status.PASS, "1.0 GiB"),
        ProbeResult(("os", "cgroups"), "Control Groups", Status.FAIL, "version 1",
                    "cgroup v1 is not supported"),
    ])


def test_text_json_yaml() -> None:
    assert render_text(_report()).splitlines() == [
        "Total memory: 1.0 GiB (pass)",
        "  Control Groups: version 1 (rejected: cgroup v1 is not supported)",
    ]
    data = json.loads(render_json(_report()))
    assert data[1] == {"path": ["os", "cgroups"], "displayName": "Control Groups", "prop": "version 1",
                       "message": "cgroup v1 is not supported", "category": "rejected", "error": None}
    assert yaml.safe_load(render_yaml(_report())) == data
