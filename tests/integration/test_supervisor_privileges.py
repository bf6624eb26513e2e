"""A component dropped to its system user that must bind a port below 1024 gets CAP_NET_BIND_SERVICE
(k0s: ambient capability for kube-apiserver with api.port < 1024), and nothing else: real processes, uid
65534 (nobody), a privileged port on 127.0.0.1."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from k0spy.components.process import ProcessComponent
from k0spy.errors import K0spyError
from k0spy.paths import Paths
from k0spy.supervisor.privileges import find_setpriv
from k0spy.supervisor.process import ProcessSpec, SupervisedProcess
from tests.support.supervisor import Capture, until

NOBODY = 65534
# the system interpreter: nobody cannot enter the pyenv tree under /root that runs the tests
PYTHON = "/usr/bin/python3"
BIND = """
import os, socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except PermissionError as err:
    print("bind refused:", err, flush=True)
    sys.exit(3)
lines = open("/proc/self/status").read().splitlines()
status = dict(line.split(":\\t", 1) for line in lines if ":\\t" in line)
print("bound", os.getuid(), os.getgid(), os.getgroups(), status["CapEff"].strip(), status["CapAmb"].strip(),
      flush=True)
"""


def privileged_port() -> int:
    for port in range(1023, 600, -1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port below 1024 on 127.0.0.1")


def spec(paths: Paths, port: int, setpriv: str | None) -> ProcessSpec:
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    paths.run_dir.mkdir(parents=True, exist_ok=True)
    return ProcessSpec(name="binder", argv=(PYTHON, "-c", BIND, str(port)), data_dir=paths.data_dir,
                       pid_file=paths.pid_file("binder"), uid=NOBODY, gid=0, setpriv=setpriv)


async def run_once(paths: Paths, setpriv: str | None) -> str:
    cap = Capture()
    process = SupervisedProcess(spec(paths, privileged_port(), setpriv), cap.renderer)
    await process.start()
    try:
        lines = await until(lambda: [e for e in cap.events() if e.startswith(("bound", "bind refused"))],
                            what="the child's report")
    finally:
        await process.stop()
    return str(lines[0])


@pytest.fixture(autouse=True)
def _root_and_python() -> None:
    assert os.geteuid() == 0, "these tests drop to uid 65534: they run as root, as the suite does"
    assert Path(PYTHON).exists()


async def test_setpriv_grants_only_net_bind_service_to_the_dropped_user(paths: Paths) -> None:
    setpriv = find_setpriv()
    assert setpriv is not None
    report = await run_once(paths, setpriv)
    # uid nobody, gid 0, no supplementary groups, CAP_NET_BIND_SERVICE (bit 10) effective and ambient only
    assert report == f"bound {NOBODY} 0 [] 0000000000000400 0000000000000400"


async def test_without_it_the_dropped_user_cannot_bind(paths: Paths) -> None:
    report = await run_once(paths, None)
    assert report.startswith("bind refused:") and "Permission denied" in report


async def test_the_component_refuses_to_start_without_setpriv(paths: Paths, monkeypatch: pytest.MonkeyPatch,
                                                              ) -> None:
    monkeypatch.setattr("k0spy.components.process.find_setpriv", lambda: None)
    component = ProcessComponent("kube-apiserver", PYTHON, ["-c", "pass"], paths, user="nobody",
                                 binds_privileged_ports=True)
    with pytest.raises(K0spyError, match=r"binds a port below 1024 as user nobody.*setpriv was not found"):
        await component.init()
    unprivileged = ProcessComponent("kube-apiserver", PYTHON, ["-c", "pass"], paths, user="nobody")
    await unprivileged.init()  # the check is only for a component that binds a privileged port
    assert unprivileged.process is not None and unprivileged.process.spec.setpriv is None
