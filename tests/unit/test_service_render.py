"""The service description and its renderings: quoting rules, both templates from one description."""

from __future__ import annotations

import subprocess
from pathlib import PurePosixPath

import pytest

from k0spy.errors import K0spyError
from k0spy.service.description import describe, service_name
from k0spy.service.render import (
    env_quote,
    render_env_file,
    render_openrc,
    render_systemd,
    sh_single_quote,
    systemd_quote,
)

TRICKY = ["plain", "with space", "it's", 'dq"', "$HOME", "${X}", "`id`", "back\\slash", "50%", ""]


def _sh_words(assignment: str) -> list[str]:
    """What openrc-run does: source the assignment, then `eval` the words of command_args."""
    script = assignment + '\neval "set -- $command_args"\nprintf "%s\\0" "$@"'
    out = subprocess.run(["sh", "-c", script], capture_output=True, check=True).stdout
    return out.decode().split("\0")[:-1]


def test_service_names_follow_k0s() -> None:
    assert service_name("controller") == "k0scontroller"
    assert service_name("worker") == "k0sworker"
    with pytest.raises(K0spyError, match="unknown role"):
        service_name("etcd")


def test_executable_must_be_absolute() -> None:
    with pytest.raises(K0spyError, match="not an absolute path"):
        describe("worker", "k0spy", [])


def test_systemd_quote_rules() -> None:
    assert systemd_quote("--data-dir=/var/lib/k0s") == "--data-dir=/var/lib/k0s"
    assert systemd_quote("a b") == '"a b"'
    assert systemd_quote('say "hi"') == '"say \\"hi\\""'
    assert systemd_quote("$HOME") == '"$$HOME"'
    assert systemd_quote("50%") == "50%%"
    assert systemd_quote("a\\b") == '"a\\\\b"'
    assert systemd_quote("") == '""'
    with pytest.raises(K0spyError, match="newline"):
        systemd_quote("a\nb")


def test_openrc_command_args_survive_eval() -> None:
    desc = describe("worker", "/usr/local/bin/k0spy", TRICKY)
    text = render_openrc(desc)
    assignment = next(line for line in text.splitlines() if line.startswith("command_args="))
    assert _sh_words(assignment) == ["worker", *TRICKY]
    assert "command='/usr/local/bin/k0spy'" in text


def test_openrc_plain_command_args_look_like_k0s() -> None:
    desc = describe("controller", "/usr/local/bin/k0spy", ["--data-dir=/var/lib/k0s", "--labels=a b"])
    assignment = next(line for line in render_openrc(desc).splitlines() if line.startswith("command_args="))
    assert assignment == "command_args=\"'controller' '--data-dir=/var/lib/k0s' '--labels=a b'\""
    assert _sh_words(assignment) == ["controller", "--data-dir=/var/lib/k0s", "--labels=a b"]


def test_env_file_reads_back_through_sh() -> None:
    env = {f"V{i}": value for i, value in enumerate(TRICKY)}
    text = render_env_file(env)
    script = text + "\nfor i in " + " ".join(str(i) for i in range(len(TRICKY))) + \
        '; do eval "printf \'%s\\0\' \\"\\$V$i\\""; done'
    out = subprocess.run(["sh", "-c", script], capture_output=True, check=True).stdout.decode()
    assert out.split("\0")[:-1] == TRICKY
    assert env_quote('a"b') == '"a\\"b"'
    with pytest.raises(K0spyError, match="not valid"):
        render_env_file({"1BAD": "x"})


def test_both_renderings_come_from_one_description() -> None:
    desc = describe("controller", "/opt/k0spy", ["--single=true"], with_env_file=True)
    unit, script = render_systemd(desc), render_openrc(desc)
    assert f"RestartSec={desc.restart_sec}" in unit and f"respawn_delay={desc.restart_sec}" in script
    assert f"TimeoutStopSec={desc.stop_timeout}" in unit and f"SIGTERM/{desc.stop_timeout}/SIGKILL" in script
    assert f"LimitNOFILE={desc.nofile}" in unit and f"-n {desc.nofile} " in script
    assert desc.env_file == PurePosixPath("/etc/k0s/k0scontroller.env")
    assert f"EnvironmentFile=-{desc.env_file}" in unit and f"env_file='{desc.env_file}'" in script
    assert "ExecStart=/opt/k0spy controller --single=true" in unit
    for line in ("KillMode=process", "Delegate=yes", "Restart=always", "WantedBy=multi-user.target"):
        assert line in unit.splitlines()
    depend = ("\tneed cgroups", "\tneed net", "\tuse dns", "\tafter firewall")
    for line in ("supervisor=supervise-daemon", *depend):
        assert line in script.splitlines()
    assert "@{" not in unit and "@{" not in script


def test_sh_single_quote() -> None:
    assert sh_single_quote("it's") == "'it'\\''s'"
