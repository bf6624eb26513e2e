"""Fixtures shared by every test: a private data dir, run dir and etc dir per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from k0spy.paths import Paths

# Fixture modules shared by several test modules, registered once so that session fixtures (the dev
# bundle) are built once per run.
pytest_plugins = ["tests.support.controller", "tests.support.workerrole"]


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    """Paths under tmp_path: nothing a test does reaches /var/lib/k0s, /run/k0s or /etc/k0s."""
    return Paths.build(tmp_path / "data", run_dir=tmp_path / "run", etc_dir=tmp_path / "etc")
