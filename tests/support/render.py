"""Helpers for the rendering tests: a reference controller, k0s's default paths, the real flag lists."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from k0spy.components.flags import ComponentSpec
from k0spy.components.render import ControllerOptions, NodeFacts, render_controller
from k0spy.paths import Paths
from tests.support.config import load_text

REPO = Path(__file__).resolve().parents[2]
GOLDEN_DIR = REPO / "tests" / "data" / "golden"
FLAGS_DIR = REPO.parent / "shared" / "reference" / "flags"
K0S_PATHS = Paths.build("/var/lib/k0s", run_dir="/run/k0s", etc_dir="/etc/k0s")
FACTS = NodeFacts(hostname="node1", invocation_id="0123456789abcdef0123456789abcdef", etcd_version=(3, 6))
# The binary each supervisor name runs, for its flag list.
FLAG_LIST = {"etcd": "etcd", "kine": "kine", "konnectivity": "konnectivity-server",
             "kube-apiserver": "kube-apiserver", "kube-scheduler": "kube-scheduler",
             "kube-controller-manager": "kube-controller-manager"}


def render(yaml_text: str = "", *, single: bool = False, facts: NodeFacts = FACTS, paths: Paths = K0S_PATHS,
           k0s_feature_gates: tuple[str, ...] = (), **opts: Any) -> dict[str, ComponentSpec]:
    """Render a controller for `yaml_text` (address 10.0.0.1) keyed by supervisor name, in start order."""
    cfg = load_text(yaml_text, single=single, data_dir=paths.data_dir,
                    k0s_feature_gates=k0s_feature_gates).config
    options, _ = ControllerOptions.from_cli(single=single, **opts)
    return {spec.name: spec for spec in render_controller(cfg, paths, options, facts)}


@cache
def flag_names(component: str) -> frozenset[str]:
    """Every flag name the real binary accepts, from ../shared/reference/flags/<component>.txt."""
    names = set()
    for line in (FLAGS_DIR / f"{component}.txt").read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            names.add(text.split()[0])
    return frozenset(names)


def arg_name(arg: str) -> str:
    """`--name=value` -> `name`."""
    assert arg.startswith("--"), arg
    return arg[2:].split("=", 1)[0]


def arg_map(args: tuple[str, ...] | list[str]) -> dict[str, str]:
    return {arg_name(a): a.split("=", 1)[1] if "=" in a else "" for a in args}
