"""Three controllers in three network namespaces, joined with controller tokens into one etcd cluster.

The first controller starts a new cluster; the second joins with `--token-file`, the third with the
token as its argument; learners are promoted to voters; all three kube-apiserver doubles serve the same
objects; one controller SIGKILLed (daemon and children) leaves a cluster with quorum; restarted without a
token it rejoins from its etcd data; `k0spy etcd leave --peer-address` removes a member.
"""

from __future__ import annotations

from tests.support.cjoin import (
    add_controller,
    all_voters,
    get_configmap,
    kill_namespace,
    kubectl,
    leave,
    members,
)
from tests.support.workerrole import Lab, wait_for


def test_three_controllers_share_one_etcd_survive_a_kill_and_rejoin_without_token(
        netns_lab: Lab, make_ns_node) -> None:
    n1, a1 = add_controller(netns_lab, make_ns_node, 1)
    n2, a2 = add_controller(netns_lab, make_ns_node, 2)
    n3, a3 = add_controller(netns_lab, make_ns_node, 3)
    n1.start()
    n1.wait_ready(timeout=90)
    made = n1.k0spy("token", "create", "--role", "controller")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()

    token_file = n2.root / "token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o644)
    n2.start("--token-file", str(token_file))
    n2.wait_ready(timeout=90)
    assert token_file.stat().st_mode & 0o777 == 0o600
    wait_for(lambda: all_voters(n1, 2), timeout=30)
    n3.start(token)
    n3.wait_ready(timeout=90)
    wait_for(lambda: all_voters(n1, 3), timeout=30)

    expected = {f"cp{i}": f"https://{a}:2380" for i, a in ((1, a1), (2, a2), (3, a3))}
    for node in (n1, n2, n3):
        assert members(node) == expected
    secret = token.encode()
    for node in (n1, n2, n3):
        assert secret not in node.log_path.read_bytes()
        for path in node.root.rglob("*"):
            if path.is_file() and path != token_file and path.stat().st_size < 1 << 20:
                assert secret not in path.read_bytes(), path
    status = n3.k0spy("status", "-o", "json")
    assert status.returncode == 0 and token not in status.stdout

    made_cm = kubectl(n1, "create", "configmap", "shared", "-n", "default", "--from-literal=k=v1")
    assert made_cm.returncode == 0, made_cm.stderr
    for node in (n2, n3):
        got = wait_for(lambda node=node: get_configmap(node, "shared"), timeout=15)
        assert got["data"] == {"k": "v1"}

    kill_namespace(n3)
    made_cm = kubectl(n2, "create", "configmap", "after-kill", "-n", "default", "--from-literal=k=v2")
    assert made_cm.returncode == 0, made_cm.stderr
    assert wait_for(lambda: get_configmap(n1, "after-kill"), timeout=15)["data"] == {"k": "v2"}

    n3.start()  # no token: its etcd data exists
    n3.wait_ready(timeout=90)
    assert '"join.skipped"' in n3.current_log()
    assert wait_for(lambda: get_configmap(n3, "after-kill"), timeout=20)["data"] == {"k": "v2"}
    assert members(n3) == expected

    assert n3.stop() == 0
    out = leave(n1, a3)
    assert "cp3" in out
    del expected["cp3"]
    for node in (n1, n2):
        assert members(node) == expected
    assert wait_for(lambda: all_voters(n2, 2), timeout=10)
    assert n2.stop() == 0
    assert n1.stop() == 0
