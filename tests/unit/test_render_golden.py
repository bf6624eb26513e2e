"""The full command line of every component for reference configs, pinned in tests/data/golden.

Each golden file holds one argument per line and was reviewed line by line against k0s-behaviour.md §5.
Regenerate after an intended change with `K0SPY_UPDATE_GOLDEN=1 pytest tests/unit/test_render_golden.py`
and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.render import GOLDEN_DIR, render

UPDATE = os.environ.get("K0SPY_UPDATE_GOLDEN") == "1"
DEFAULT = render()
SINGLE = render(single=True)
CASES = [(f"{name}.args", "\n".join(spec.args) + "\n") for name, spec in DEFAULT.items()]
CASES += [("kine.args", "\n".join(SINGLE["kine"].args) + "\n"),
          ("kube-apiserver-single.args", "\n".join(SINGLE["kube-apiserver"].args) + "\n"),
          ("konnectivity.conf", DEFAULT["kube-apiserver"].files[0].content)]


def check(path: Path, text: str) -> None:
    if UPDATE:
        path.write_text(text)
    assert path.read_text() == text, f"{path.name} differs from the rendered output"


@pytest.mark.parametrize(("name", "text"), CASES, ids=[c[0] for c in CASES])
def test_golden(name: str, text: str) -> None:
    check(GOLDEN_DIR / name, text)


def test_default_controller_runs_the_k0s_set_in_start_order() -> None:
    assert list(DEFAULT) == ["etcd", "konnectivity", "kube-apiserver", "kube-scheduler",
                             "kube-controller-manager"]
    assert list(SINGLE) == ["kine", "kube-apiserver", "kube-scheduler", "kube-controller-manager"]


def test_users_and_stop_timeouts_are_k0s_ones() -> None:
    users = {name: spec.user for name, spec in DEFAULT.items()}
    assert users == {"etcd": "etcd", "konnectivity": "konnectivity-server",
                     "kube-apiserver": "kube-apiserver", "kube-scheduler": "kube-scheduler",
                     "kube-controller-manager": "kube-apiserver"}
    assert SINGLE["kine"].user == "kube-apiserver"
    assert DEFAULT["kube-apiserver"].stop_timeout == 20.0
    assert {spec.stop_timeout for name, spec in DEFAULT.items() if name != "kube-apiserver"} == {5.0}
    assert DEFAULT["etcd"].keep_env_prefix and not DEFAULT["kube-apiserver"].keep_env_prefix
