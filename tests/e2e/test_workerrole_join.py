"""A controller and a worker in two network namespaces, joined with `k0spy token create --role worker`.

The worker bootstraps its kubelet client certificate through the API with the token, fetches its worker
profile, and its Node appears Ready; a restart needs no token; an expired token is a clear error. The
namespaces sit on a bridge in a hub namespace (tests.support.workerrole); addresses are 10.99.<n>.1/.2.
"""

from __future__ import annotations

import time

import yaml

from tests.support.workerrole import Lab, NsNode, WorkerNode, is_ready, node_json, wait_for

PROFILE = {"name": "edge", "values": {"maxPods": 42}}


def controller_in(lab: Lab, make_ns_node) -> tuple[NsNode, str]:
    ns, address = lab.add("cp", 1)
    node: NsNode = make_ns_node(ns, extra={"api": {"address": address}})
    node.config["spec"]["workerProfiles"] = [PROFILE]
    node.config_path.write_text(yaml.safe_dump(node.config))
    node.start()
    node.wait_ready(timeout=90)
    return node, address


def create_token(node: NsNode, *args: str) -> str:
    made = node.k0spy("token", "create", "--role", "worker", *args)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def environ_of(pid_file) -> bytes:  # type: ignore[no-untyped-def]
    pid = int(pid_file.read_text().strip())
    with open(f"/proc/{pid}/environ", "rb") as handle:
        return handle.read()


def test_worker_joins_with_a_token_fetches_its_profile_and_restarts_without_it_or_the_api(
        netns_lab: Lab, make_ns_node, make_worker) -> None:
    controller, address = controller_in(netns_lab, make_ns_node)
    token = create_token(controller)
    ns, _ = netns_lab.add("w1", 2)
    worker: WorkerNode = make_worker(ns)
    worker.start("--profile", "edge", "--labels", "zone=a", "--taints", "dedicated=edge:NoSchedule",
                 "--kubelet-extra-args=--hostname-override=Worker-1", env=worker.env(K0S_TOKEN=token))
    worker.wait_ready(timeout=60)

    node = wait_for(lambda: (n := node_json(controller, "worker-1")) and is_ready(n) and n, timeout=30)
    assert node["metadata"]["labels"]["zone"] == "a"
    assert "node.k0sproject.io/role" not in node["metadata"]["labels"]
    assert node["spec"]["taints"] == [{"key": "dedicated", "value": "edge", "effect": "NoSchedule"}]
    assert node["status"]["capacity"]["pods"] == "42"
    assert yaml.safe_load((worker.run / "kubelet" / "config.yaml").read_text())["maxPods"] == 42
    cache = yaml.safe_load((worker.data / "worker-profile.yaml").read_text())
    assert cache["name"] == "edge" and "kubeletConfiguration" in cache["data"]
    assert f"https://{address}:{controller.ports['api']}" in (worker.data / "kubelet.conf").read_text()

    secret = token.encode()
    assert secret not in worker.log_path.read_bytes()
    for child in ("kubelet", "containerd"):
        assert secret not in environ_of(worker.run / f"{child}.pid")
    for path in worker.root.rglob("*"):
        if path.is_file() and path.stat().st_size < 1 << 20:
            assert secret not in path.read_bytes(), path
    assert worker.stop() == 0

    worker.start("--profile", "edge", "--kubelet-extra-args=--hostname-override=Worker-1")
    worker.wait_ready(timeout=60)
    assert '"bootstrap.skipped"' in worker.current_log()
    assert worker.stop() == 0

    assert controller.stop() == 0  # every API server away: the cached profile starts kubelet
    worker.start("--profile", "edge", "--kubelet-extra-args=--hostname-override=Worker-1")
    worker.wait_ready(timeout=60)
    assert '"profile.using_cache"' in worker.current_log()
    assert worker.stop() == 0


def test_expired_token_is_a_clear_error_and_starts_nothing(netns_lab: Lab, make_ns_node, make_worker) -> None:
    controller, _ = controller_in(netns_lab, make_ns_node)
    token = create_token(controller, "--expiry", "1s")
    ns, _ = netns_lab.add("w2", 2)
    worker: WorkerNode = make_worker(ns)
    time.sleep(2.5)
    result = worker.run_once(token, timeout=90)
    assert result.returncode == 1
    out = result.stdout + result.stderr
    assert "token invalid or expired: create a new one" in out
    assert token not in out
    assert not (worker.data / "kubelet.conf").exists()
    assert not list(worker.run.glob("*.pid"))

    both = worker.run_once(token, "--token-file", str(worker.root / "t"), env=worker.env())
    assert both.returncode == 1
    assert "you can only pass one token source" in both.stdout + both.stderr
    assert controller.stop() == 0
