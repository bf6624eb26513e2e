"""Init system detection and offline enabling, inside an install root only."""

from __future__ import annotations

from pathlib import Path

import pytest

from k0spy.errors import K0spyError
from k0spy.service.initsys import InitSystem, detect


def test_init_system_detection_looks_only_inside_the_root(tmp_path: Path) -> None:
    with pytest.raises(K0spyError, match="no supported init system"):
        detect(tmp_path)
    (tmp_path / "sbin").mkdir()
    (tmp_path / "sbin" / "openrc-run").touch()
    assert detect(tmp_path) == "openrc"
    (tmp_path / "run/systemd/system").mkdir(parents=True)
    assert detect(tmp_path) == "systemd"


def test_openrc_enable_offline_is_the_runlevel_symlink(tmp_path: Path) -> None:
    init = InitSystem(kind="openrc", root=tmp_path)
    init.enable("k0sworker")
    link = tmp_path / "etc/runlevels/default/k0sworker"
    assert link.readlink() == Path("/etc/init.d/k0sworker")
    init.enable("k0sworker")  # idempotent
    init.disable("k0sworker")
    assert not link.is_symlink()


def test_installed_service_line_for_status(tmp_path: Path) -> None:
    from k0spy.service.initsys import installed_service_line

    assert installed_service_line("systemd", tmp_path) is None
    unit = tmp_path / "etc/systemd/system/k0sworker.service"
    unit.parent.mkdir(parents=True)
    unit.write_text("[Unit]\n")
    assert installed_service_line("systemd", tmp_path) == f"k0sworker (systemd): installed in {tmp_path}"
