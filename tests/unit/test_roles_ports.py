import socket

import pytest

from k0spy.errors import K0spyError
from k0spy.roles.ports import Listener, check_ports, listeners
from k0spy.status.timeline import render_waterfall


def test_listeners_from_rendered_args() -> None:
    assert listeners("kube-apiserver", ["--secure-port=7443", "--bind-address=10.0.0.1"]) == [
        Listener("kube-apiserver", "secure-port", "10.0.0.1", 7443)]
    assert listeners("kube-scheduler", ["--bind-address=127.0.0.1"]) == [
        Listener("kube-scheduler", "secure-port", "127.0.0.1", 10259)]
    etcd = listeners("etcd", ["--listen-client-urls=https://127.0.0.1:2379,unix://x.sock",
                              "--listen-peer-urls=https://10.0.0.1:2380"])
    assert [(item.host, item.port) for item in etcd] == [("127.0.0.1", 2379), ("10.0.0.1", 2380)]
    kine = listeners("kine", ["--metrics-bind-address=:2380", "--listen-address=unix://k.sock:2379"])
    assert kine == [Listener("kine", "metrics-bind-address", "0.0.0.0", 2380)]
    konn = listeners("konnectivity", ["--agent-port=8132", "--admin-port=8133", "--health-port=8092",
                                      "--health-bind-address=localhost", "--server-port=0"])
    assert [(item.flag, item.host, item.port) for item in konn] == [
        ("agent-port", "0.0.0.0", 8132), ("admin-port", "0.0.0.0", 8133), ("health-port", "localhost", 8092)]
    assert listeners("unknown", ["--secure-port=1"]) == []


def test_check_ports_names_component_flag_and_holder() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        wanted = [Listener("kube-apiserver", "secure-port", "127.0.0.1", port)]
        with pytest.raises(K0spyError, match=rf"kube-apiserver: port {port} on 127.0.0.1 "
                                             r"\(--secure-port\) is already in use by .*\(pid \d+\)"):
            check_ports(wanted, {})


def test_check_ports_accepts_our_own_stale_child_and_free_ports() -> None:
    import os

    with socket.socket() as own:
        own.bind(("127.0.0.1", 0))
        own.listen()
        port = own.getsockname()[1]
        check_ports([Listener("etcd", "listen-client-urls", "127.0.0.1", port)], {"etcd": os.getpid()})
    check_ports([Listener("etcd", "listen-client-urls", "127.0.0.1", port)], {})


def test_waterfall_draws_k0spy_phases_as_spans() -> None:
    doc = {"components": [{"name": "k0spy:pki", "init": 0.0, "ready": 0.5},
                          {"name": "etcd", "init": 0.0, "start": 0.5, "spawned": 0.6, "ready": 1.0}]}
    lines = render_waterfall(doc, width=20).splitlines()
    assert "*" * 9 in lines[1]
    assert "#" in lines[2] and "*" not in lines[2]
