"""Which flags a service keeps: explicit only, paths absolute, no positional token, installer flags out."""

from __future__ import annotations

import sys
import types

import click
import pytest

from k0spy.errors import K0spyError
from k0spy.service.flags import generic_flags, service_flags
from k0spy.service.install import parse_env


@click.command("controller")
@click.option("--data-dir")
@click.option("-c", "--config")
@click.option("--single", is_flag=True)
@click.option("--enable-worker/--no-enable-worker", default=False)
@click.option("--labels", multiple=True)
@click.option("--profile", default="default")
@click.argument("token", required=False)
def standin(**_: object) -> None:
    """Stands in for `k0spy controller` until that command exists."""


def test_generic_parser_keeps_explicit_flags_absolute_paths() -> None:
    # a role without a click command (k0spy.cli.generic does not exist) goes through the generic parser
    words = service_flags("generic", ["--data-dir", "d", "-c", "k.yaml", "--single", "--labels=a=b",
                                     "--force", "--kubelet-root-dir=../k"], cwd="/srv/x", command=None)
    assert words == ["--data-dir=/srv/x/d", "--config=/srv/x/k.yaml", "--single=true", "--labels=a=b",
                     "--kubelet-root-dir=/srv/k"]


def test_generic_parser_refuses_positional_token_and_stdin_config() -> None:
    with pytest.raises(K0spyError, match="positional") as info:
        generic_flags(["--data-dir=/d", "H4sIAAAAAAAAA/xyz-long-token-value"])
    assert info.value.hint is not None and "--token-file" in info.value.hint
    with pytest.raises(K0spyError, match="stdin"):
        service_flags("generic", ["--config=-"], command=None)


def test_click_command_decides_flags_when_it_exists() -> None:
    words = service_flags("controller", ["--data-dir", "rel", "--no-enable-worker", "--labels", "a",
                                         "--labels=b", "-c", "/etc/k.yaml"], cwd="/w", command=standin)
    # --profile was not given, so its default stays out of the service
    assert words == ["--data-dir=/w/rel", "--enable-worker=false", "--labels=a", "--labels=b",
                     "--config=/etc/k.yaml"]
    with pytest.raises(K0spyError, match="No such option"):
        service_flags("controller", ["--bogus"], command=standin)
    with pytest.raises(K0spyError, match="positional"):
        service_flags("controller", ["some-token"], command=standin)


def test_role_module_is_used_once_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("k0spy.cli.controller")
    module.controller = standin  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "k0spy.cli.controller", module)
    with pytest.raises(K0spyError, match="No such option"):  # the generic parser would accept it
        service_flags("controller", ["--made-up=1"])
    assert service_flags("controller", ["--single"]) == ["--single=true"]


def test_env_values_and_bare_names() -> None:
    assert parse_env(["A=1", "B", "C=x=y"], {"B": "from env"}) == {"A": "1", "B": "from env", "C": "x=y"}
    with pytest.raises(K0spyError, match="not set"):
        parse_env(["MISSING"], {})
