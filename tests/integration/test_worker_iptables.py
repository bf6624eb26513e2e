"""The iptables component with Debian's real xtables binaries, each test in its own network namespace (so
the rules it reads and writes are its own): the backend holding kubelet's marker chains is chosen, and
DATA/bin/iptables* lead to it."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from k0spy.paths import Paths
from k0spy.worker.iptables import LINKS
from tests.support.cli import run_k0spy

PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
INIT = """
import asyncio, json, sys
from pathlib import Path
from k0spy.paths import Paths
from k0spy.worker.iptables import IPTablesComponent
paths = Paths.build(Path(sys.argv[1]), run_dir=Path(sys.argv[2]), etc_dir=Path(sys.argv[3]))
component = IPTablesComponent(paths, mode=sys.argv[4])
asyncio.run(component.init())
print(json.dumps({"mode": component.mode, "why": component.why}))
"""


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"k0spy-ipt-{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def run_in(ns: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": PATH})


def init_in(ns: str, paths: Paths, mode: str = "auto") -> dict[str, str]:
    dirs = (str(paths.data_dir), str(paths.run_dir), str(paths.etc_dir))
    result = run_in(ns, sys.executable, "-c", INIT, *dirs, mode)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.splitlines()[-1]))


def add_chain(ns: str, backend: str, chain: str) -> None:
    result = run_in(ns, f"xtables-{backend}-multi", "iptables", "-t", "mangle", "-N", chain)
    assert result.returncode == 0, result.stderr


def links(paths: Paths) -> dict[str, str]:
    return {name: os.readlink(paths.bin_dir / name) for name in LINKS}


def test_the_backend_with_kubelets_chains_is_linked(netns: str, paths: Paths) -> None:
    add_chain(netns, "legacy", "KUBE-IPTABLES-HINT")
    chosen = init_in(netns, paths)
    assert chosen == {"mode": "legacy", "why": "kubelet's marker chains are in the legacy tables"}
    assert set(links(paths).values()) == {"/usr/sbin/xtables-legacy-multi"}  # the host's, absolute
    # through the link, in that namespace: the legacy tables, with the chain
    saved = run_in(netns, str(paths.bin_dir / "iptables-save"))
    assert saved.returncode == 0 and ":KUBE-IPTABLES-HINT - [0:0]" in saved.stdout

    add_chain(netns, "nft", "KUBE-KUBELET-CANARY")  # in both: nft comes first, as in k0s
    assert init_in(netns, paths)["mode"] == "nft"
    assert set(links(paths).values()) == {"/usr/sbin/xtables-nft-multi"}
    assert "(nf_tables)" in run_in(netns, str(paths.bin_dir / "iptables"), "--version").stdout


def test_an_explicit_mode_is_used_as_given_and_replaces_old_links(netns: str, paths: Paths) -> None:
    add_chain(netns, "nft", "KUBE-IPTABLES-HINT")
    paths.bin_dir.mkdir(parents=True, exist_ok=True)
    (paths.bin_dir / "iptables").symlink_to("/nonexistent/old-iptables")
    assert init_in(netns, paths, "legacy") == {"mode": "legacy", "why": "--iptables-mode"}
    assert set(links(paths).values()) == {"/usr/sbin/xtables-legacy-multi"}
    assert not [p for p in paths.bin_dir.iterdir() if p.name.endswith(".tmp")]


def test_binaries_in_data_bin_are_linked_relatively(netns: str, paths: Paths, tmp_path: Path) -> None:
    """A bundle (or an earlier start) put the xtables binaries in DATA/bin: the links stay inside it."""
    paths.bin_dir.mkdir(parents=True, exist_ok=True)
    for backend in ("nft", "legacy"):
        (paths.bin_dir / f"xtables-{backend}-multi").symlink_to(f"/usr/sbin/xtables-{backend}-multi")
    add_chain(netns, "nft", "KUBE-KUBELET-CANARY")
    assert init_in(netns, paths)["mode"] == "nft"
    assert set(links(paths).values()) == {"xtables-nft-multi"}


def test_a_bad_mode_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for argv in (["worker", "--token-file", str(tmp_path / "none")], ["controller", "--enable-worker"]):
        result = run_k0spy([*argv, "--data-dir", str(data), "--run-dir", str(tmp_path / "run"),
                            "--iptables-mode", "ipvs"])
        assert result.returncode == 1
        assert "--iptables-mode 'ipvs' is not one of nft, legacy, auto" in result.stderr
    assert not data.exists()
