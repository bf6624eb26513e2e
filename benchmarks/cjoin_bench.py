"""A second controller: from `k0spy controller --token-file` to a voting etcd member, end to end.

    .venv/bin/python benchmarks/cjoin_bench.py [--runs 3] [--write BENCHMARKS.md]

Two network namespaces on a bridge (tests.support.workerrole's lab), the offline dev bundle (Debian's etcd
3.4, the contract doubles). The first controller runs throughout; each run starts a fresh joiner (new
data dir, same namespace and address) with a controller token file and measures, from the `Popen`:
  member   the joiner is listed by etcd as a member (CA fetched, learner added by the join API);
  voter    etcd lists it as a voter (its etcd started and caught up, the promoter promoted it);
  ready    the joiner's daemon logged daemon.ready (its whole control plane is up).
Membership is polled with etcdctl on the first controller every 100 ms (so each figure carries up to
about 0.1 s of polling, plus etcdctl's own start). Between runs the joiner is removed with
`k0spy etcd leave --peer-address` (while it still runs: two members need both for quorum), then stopped.
Medians of the runs are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from tests.support.cjoin import controller_extra, leave  # noqa: E402
from tests.support.controller import PORT_NAMES, build_dev_bundle, free_ports, node_config  # noqa: E402
from tests.support.workerrole import Lab, NsNode, ip, wait_for  # noqa: E402

MARK_START, MARK_END = "<!-- cjoin_bench:start -->", "<!-- cjoin_bench:end -->"


def member_states(node: NsNode) -> dict[str, bool]:
    """peer URL -> isLearner, from etcd on `node`."""
    certs = node.data / "pki"
    got = subprocess.run(
        ["ip", "netns", "exec", node.ns, "etcdctl", "--endpoints=https://127.0.0.1:2379",
         f"--cacert={certs / 'etcd' / 'ca.crt'}", f"--cert={certs / 'apiserver-etcd-client.crt'}",
         f"--key={certs / 'apiserver-etcd-client.key'}", "-w", "json", "member", "list"],
        capture_output=True, text=True, timeout=20, check=False, env={**os.environ, "ETCDCTL_API": "3"})
    if got.returncode != 0:
        return {}
    members = json.loads(got.stdout)["members"]
    return {(m.get("peerURLs") or [""])[0]: bool(m.get("isLearner")) for m in members}


def make_node(root: Path, bundle: Path, ns: str, address: str, name: str) -> NsNode:
    root.mkdir()
    root.chmod(0o755)
    ports = free_ports(PORT_NAMES)
    node = NsNode(root, bundle, ports, node_config(ports, extra=controller_extra(address, name)))
    node.ns = ns
    return node


def one_join(first: NsNode, joiner: NsNode, token_file: Path, peer: str) -> dict[str, float]:
    start = time.monotonic()
    joiner.start("--token-file", str(token_file))
    marks: dict[str, float] = {}
    while "voter" not in marks or "ready" not in marks:
        now = time.monotonic() - start
        if now > 180:
            raise RuntimeError(f"no voter/ready after 180 s:\n{joiner.log_tail()}")
        states = member_states(first) if "voter" not in marks else {}
        if peer in states:
            marks.setdefault("member", time.monotonic() - start)
            if not states[peer]:
                marks["voter"] = time.monotonic() - start
        if "ready" not in marks and '"daemon.ready"' in joiner.current_log():
            marks["ready"] = time.monotonic() - start
        time.sleep(0.1)
    return marks


def run(runs: int, bundle: Path) -> list[dict[str, float]]:
    lab = Lab(prefix="cb" + secrets.token_hex(3), net=secrets.randbelow(200) + 20)
    root = Path(tempfile.mkdtemp(prefix="k0c", dir="/tmp"))
    root.chmod(0o755)
    nodes: list[NsNode] = []
    results = []
    try:
        ip("netns", "add", lab.hub)
        lab.namespaces.append(lab.hub)
        ip("-n", lab.hub, "link", "add", "br0", "type", "bridge")
        ip("-n", lab.hub, "link", "set", "br0", "up")
        ns1, a1 = lab.add("cp1", 1)
        ns2, a2 = lab.add("cp2", 2)
        first = make_node(root / "cp1", bundle, ns1, a1, "cp1")
        nodes.append(first)
        first.start()
        first.wait_ready(timeout=120)
        token_file = root / "token"
        token_file.write_text(first.k0spy("token", "create", "--role", "controller").stdout)
        token_file.chmod(0o600)
        peer = f"https://{a2}:2380"
        for i in range(runs):
            joiner = make_node(root / f"j{i}", bundle, ns2, a2, "cp2")
            nodes.append(joiner)
            results.append(one_join(first, joiner, token_file, peer))
            print(f"run {i}: " + ", ".join(f"{k} {v:.2f} s" for k, v in results[-1].items()), file=sys.stderr)
            leave(first, a2)  # while the joiner runs: a 2-member cluster has no quorum to remove a dead one
            wait_for(lambda: peer not in member_states(first), timeout=30)
            joiner.stop()
    finally:
        for node in nodes:
            node.kill_all()
        lab.delete()
        shutil.rmtree(root, ignore_errors=True)
    return results


def report(results: list[dict[str, float]]) -> str:
    def med(key: str) -> str:
        return f"{statistics.median(r[key] for r in results):.2f}"

    def all_of(key: str) -> str:
        return ", ".join(f"{r[key]:.2f}" for r in results)

    load = os.getloadavg()[0]
    lines = [
        MARK_START, "## A second controller joins (benchmarks/cjoin_bench.py)", "",
        f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"dev bundle (Debian etcd 3.4, contract doubles), two network namespaces; "
        f"load average {load:.1f} at the end; {len(results)} runs, a fresh joiner each "
        "(removed with `k0spy etcd leave`, then stopped).", "",
        "| from `k0spy controller --token-file` to | median (s) | runs (s) |", "|---|---:|---:|",
        f"| etcd member (CA fetched, learner added) | {med('member')} | {all_of('member')} |",
        f"| **voting etcd member** (etcd up, caught up, promoted) | **{med('voter')}** | {all_of('voter')} |",
        f"| daemon ready (whole control plane) | {med('ready')} | {all_of('ready')} |", "",
        "Polling every 100 ms with etcdctl adds up to ~0.15 s to each figure. The voter time includes the "
        "interpreter start, pre-flight checks, the PKI (leaves signed by the fetched CAs) and staging before "
        "etcd starts, then the promoter's tick (every 2 s on each controller, so up to 2 s of waiting).",
        MARK_END,
    ]
    return "\n".join(lines) + "\n"


def write(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else ""
    pattern = re.compile(re.escape(MARK_START) + ".*?" + re.escape(MARK_END) + "\n?", re.S)
    text = pattern.sub(section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write", type=Path, help="append/replace the section in this Markdown file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bundle = build_dev_bundle(Path(tmp))
        section = report(run(args.runs, bundle))
    print(section)
    if args.write:
        write(args.write, section)


if __name__ == "__main__":
    main()
