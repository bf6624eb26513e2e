"""Renewal without a restart, end to end: a running controller renews a leaf that enters the window.

The config makes the kube CA's leaves valid for 48 h from 5 minutes ago (leaves are backdated by 5 min,
as cfssl does) and the window 47h54m30s, so they are due about 30 s after start-up while the etcd leaves (a
year, from storage.etcd.ca) are not. The daemon must renew them in
place, restart kube-apiserver (which reads server.crt) with a new pid while etcd keeps its own, serve the
new certificate on the API port, report it in status and metrics, and not renew again straight away.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from typing import Any

from cryptography import x509

from tests.support.controller import Node

WINDOW = "47h54m30s"
CONFIG = {"api": {"ca": {"certificatesExpireAfter": "48h"}}}


def serial(node: Node, name: str) -> int:
    return x509.load_pem_x509_certificate((node.data / "pki" / name).read_bytes()).serial_number


def rows(node: Node) -> dict[str, dict[str, Any]]:
    result = node.k0spy("status", "components", "-o", "json")
    assert result.returncode == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def wait_event(node: Node, event: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in node.events() if e.get("event") == event]
        if found:
            return found[0]
        assert node.proc is not None and node.proc.poll() is None, node.log_tail()
        time.sleep(0.5)
    raise AssertionError(f"no {event} within {timeout}s:\n{node.log_tail()}")


def started_pids(node: Node, component: str) -> list[int]:
    return [e["pid"] for e in node.events()
            if e.get("event") == "process.started" and e.get("component") == component]


def served_serial(port: int) -> int:
    """The serial of the certificate kube-apiserver presents now."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def test_running_controller_renews_due_leaves_and_restarts_only_their_readers(make_node) -> None:
    node: Node = make_node(extra=CONFIG)
    node.start("--cert-renewal-window", WINDOW)
    node.wait_ready()
    before = rows(node)
    daemon_pid = node.proc.pid if node.proc else None
    server_before, etcd_before = serial(node, "server.crt"), serial(node, "etcd/server.crt")
    admin_conf_before = (node.data / "pki" / "admin.conf").read_bytes()
    assert before["cert-renewer"]["state"] == "running"
    assert before["cert-renewer"]["renewal"]["renewals"] == {}

    renewed = wait_event(node, "pki.renewed", timeout=90)
    assert "server" in renewed["leaves"] and "etcd/server" not in renewed["leaves"]
    assert renewed["restarted"][0] == "kube-apiserver"
    assert "etcd" not in renewed["restarted"]
    assert set(renewed["restarted"]) <= {"kube-apiserver", "konnectivity", "kube-controller-manager",
                                         "kube-scheduler", "k0s-control-api"}
    if "k0s-control-api" in before:  # the join API serves k0s-api.crt
        assert renewed["restarted"][-1] == "k0s-control-api"

    after = rows(node)
    assert node.proc is not None and node.proc.poll() is None and node.proc.pid == daemon_pid
    assert serial(node, "server.crt") != server_before
    assert serial(node, "etcd/server.crt") == etcd_before
    assert (node.data / "pki" / "admin.conf").read_bytes() != admin_conf_before  # embeds the new admin cert
    assert after["etcd"]["pid"] == before["etcd"]["pid"] == started_pids(node, "etcd")[0]
    assert len(started_pids(node, "etcd")) == 1
    for name in renewed["restarted"]:
        first, second = started_pids(node, name)  # the start, then the restart, nothing else
        assert before[name]["pid"] == first and after[name]["pid"] == second, name
        assert after[name]["state"] in ("ready", "running"), after[name]
    ready_at = next(e["timestamp"] for e in node.events() if e.get("event") == "daemon.ready")
    assert renewed["timestamp"] > ready_at
    assert served_serial(node.ports["api"]) == serial(node, "server.crt")
    got = node.k0spy("kubectl", "get", "namespaces", "-o", "name")  # admin.conf with the renewed cert
    assert got.returncode == 0, got.stderr

    renewal = after["cert-renewer"]["renewal"]
    assert renewal["renewals"]["server"] == 1 and "etcd/server" not in renewal["renewals"]
    assert renewal["restarted"] == renewed["restarted"] and renewal["error"] is None
    # No renewal loop: the fresh leaves are due again in 30 s, but renewals stay minutes apart.
    assert renewal["nextCheck"] - time.time() > 300
    assert after["cert-renewer"]["probe"]["ok"] is True

    text = scrape(node)
    assert 'k0spy_certificate_renewals_total{certificate="server"} 1.0' in text
    expiry = [line for line in text.splitlines()
              if line.startswith("k0spy_certificate_expiry_timestamp_seconds ")]
    assert len(expiry) == 1 and float(expiry[0].split()[1]) > time.time()

    assert [e for e in node.events() if e.get("event") == "pki.renewed"] == [renewed]
    assert node.stop() == 0


def scrape(node: Node) -> str:
    """GET /metrics on the status socket."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(str(node.run / "status.sock"))
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data.split(b"\r\n\r\n", 1)[1].decode()
