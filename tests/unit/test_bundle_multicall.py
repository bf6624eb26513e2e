"""Invoked as kubectl or ctr (argv[0], optional k0spy- prefix), k0spy runs `k0spy kubectl|ctr`.

Only the argv rewrite is tested here: the kubectl and ctr pass-through commands belong to later issues,
and the rewrite applies only to commands that exist in COMMANDS.
"""

from __future__ import annotations

import pytest

from k0spy.cli import main as cli_main


@pytest.fixture
def with_passthrough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cli_main.COMMANDS, "kubectl", ("k0spy.cli.passthrough:kubectl", "kubectl"))
    monkeypatch.setitem(cli_main.COMMANDS, "ctr", ("k0spy.cli.passthrough:ctr", "ctr"))


@pytest.mark.usefixtures("with_passthrough")
@pytest.mark.parametrize("argv0", ["kubectl", "/usr/local/bin/kubectl", "k0spy-kubectl", "./k0spy-kubectl"])
def test_kubectl_names_become_the_kubectl_command(argv0: str) -> None:
    assert cli_main.multi_call_argv([argv0, "get", "nodes"]) == ["kubectl", "get", "nodes"]


@pytest.mark.usefixtures("with_passthrough")
def test_ctr_name_becomes_the_ctr_command() -> None:
    assert cli_main.multi_call_argv(["/opt/bin/k0spy-ctr", "images", "ls"]) == ["ctr", "images", "ls"]


@pytest.mark.usefixtures("with_passthrough")
@pytest.mark.parametrize("argv0", ["k0spy", "/usr/bin/k0spy", "kubectl-k0spy", "k0spy-k0spy", "ctrl"])
def test_other_names_keep_argv(argv0: str) -> None:
    assert cli_main.multi_call_argv([argv0, "version"]) == ["version"]


def test_no_rewrite_while_the_command_does_not_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(cli_main.COMMANDS, "kubectl", raising=False)
    assert cli_main.multi_call_argv(["kubectl", "get", "pods"]) == ["get", "pods"]
