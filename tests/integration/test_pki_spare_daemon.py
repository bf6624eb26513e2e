"""The reserve across real starts: `--init-only` fills it, the next start spends it on the leaves, the
daemon refills it once every component is ready, and `k0spy backup` leaves it out."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from k0spy.paths import Paths
from k0spy.pki.keys import load_private_key
from k0spy.pki.leaf import inventory
from tests.support.controller import Node
from tests.support.pki import settings
from tests.support.pki_spare import fingerprint, spare_files, wait_for_event

LEAVES = 11  # with a local etcd and konnectivity: the 8 main leaves and the 3 of the etcd set


def _spares(paths: Paths) -> set[int]:
    return {fingerprint(load_private_key(p.read_bytes())) for p in spare_files(paths)}


def _leaves(paths: Paths) -> set[int]:
    return {fingerprint(load_private_key((paths.cert_dir / f"{spec.name}.key").read_bytes()))
            for spec in inventory(settings(), [], etcd=None)}


def _log_events(text: str) -> list[dict[str, object]]:
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def test_init_only_fills_the_start_spends_and_the_daemon_refills(make_node, tmp_path: Path) -> None:
    node: Node = make_node()
    paths = Paths.build(node.data, run_dir=node.run, etc_dir=node.etc)
    init = node.k0spy(*node.controller_args(), "--init-only", timeout=120)
    assert init.returncode == 0, init.stderr
    assert [e["count"] for e in _log_events(init.stdout + init.stderr)
            if e.get("event") == "pki.spare_refilled"] == [LEAVES]
    reserve = _spares(paths)
    previous = _leaves(paths)
    assert len(reserve) == LEAVES and not reserve & previous

    node.start()
    node.wait_ready()
    refilled = wait_for_event(node, "pki.spare_refilled")
    ready = next(e for e in node.events() if e.get("event") == "pki.ready")
    assert (ready["keys_from_reserve"], ready["keys_generated"]) == (LEAVES, 0)
    used = _leaves(paths)
    assert used == reserve and len(used) == LEAVES  # each leaf a spare, each spare once, none reused
    order = [e.get("event") for e in node.events()]
    assert order.index("daemon.ready") < order.index("pki.spare_refilled")  # never before all are ready
    assert refilled["count"] == LEAVES
    fresh = _spares(paths)
    assert len(fresh) == LEAVES and not fresh & (used | previous)

    save = tmp_path / "save"
    save.mkdir()
    backup = node.k0spy("backup", "--save-path", str(save), timeout=120)
    assert backup.returncode == 0, backup.stderr
    (archive,) = save.glob("k0s_backup_*.tar.gz")
    with tarfile.open(archive) as tar:
        members = tar.getnames()
    assert "pki/ca.key" in members and "pki/etcd/ca.key" in members
    assert not [name for name in members if ".spare" in name]
    assert node.stop() == 0
    assert len(spare_files(paths)) == LEAVES  # the stop leaves the reserve whole for the next start


def test_a_stop_during_the_refill_is_clean(make_node) -> None:
    node: Node = make_node()
    paths = Paths.build(node.data, run_dir=node.run, etc_dir=node.etc)
    node.start()
    node.wait_ready()  # the refill starts now, at the lowest priority: stop it at once
    assert node.stop() == 0
    events = [e.get("event") for e in node.events()]
    assert events[-1] == "daemon.stopped" and "daemon.after_ready_failed" not in events
    ready = next(e for e in node.events() if e.get("event") == "pki.ready")
    assert ready["keys_from_reserve"] == 0 and ready["keys_generated"] == 3 + 2 + LEAVES  # cold start
    left = sorted(p.name for p in paths.pki_spare_dir.iterdir())
    assert len(left) <= LEAVES and all(name.startswith("spare-") for name in left)  # no temp file
    assert len(_spares(paths)) == len(left)  # every spare written is a whole key
