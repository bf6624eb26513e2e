"""Fixtures shared by every test: a private data dir, run dir and etc dir per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from k0spy.paths import Paths

# Fixture modules shared by several test modules, registered once so that session fixtures (the dev
# bundle) are built once per run.
pytest_plugins = ["tests.support.controller", "tests.support.workerrole"]

# `.ci/run` selects the "ci" profile: the same examples on every run, so that a CI verdict is about the
# change under test. A bare `pytest` keeps exploring new random examples; whatever it finds is then pinned
# with @example next to the property.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.register_profile("soak", max_examples=3000, print_blob=True, deadline=None)
settings.load_profile(os.environ.get("K0SPY_HYPOTHESIS_PROFILE", "explore"))


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    """Paths under tmp_path: nothing a test does reaches /var/lib/k0s, /run/k0s or /etc/k0s."""
    return Paths.build(tmp_path / "data", run_dir=tmp_path / "run", etc_dir=tmp_path / "etc")
