"""The rendered OpenRC script run by the real openrc-run and supervise-daemon (Debian's openrc 0.45).

openrc is unpacked, not installed (installing it registers it as this machine's rc system), and runs in
a private mount namespace where /usr/lib/rc, /usr/sbin/openrc-run, /etc (the install root's /etc laid
over the machine's) and /run/openrc exist only for the test. The service runs a Python sleeper that
stands in for `k0spy controller` (that command does not exist yet): it logs its argv and environment and
exits on SIGTERM. `k0spy start` / `k0spy stop` drive it through rc-service.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.support.cli import run_k0spy
from tests.support.service import (
    kill_matching,
    make_root,
    openrc_tree,
    run_in_openrc_namespace,
    write_sleeper,
)

STUB = "#!/sbin/openrc-run\nstart() { return 0; }\nstop() { return 0; }\n"
TRICKY = "it's a \"value\" with $HOME and `cmd` \\ %n"


@pytest.fixture
def openrc_root(tmp_path: Path):
    root = make_root(tmp_path / "root")
    (root / "etc/init.d").mkdir(parents=True)
    for stub in ("cgroups", "net"):  # what depend() needs; here they start nothing
        (root / "etc/init.d" / stub).write_text(STUB)
        (root / "etc/init.d" / stub).chmod(0o755)
    try:
        yield root
    finally:
        kill_matching(str(tmp_path))


def _k0spy(*args: str) -> str:
    return " ".join([sys.executable, "-m", "k0spy", *args]) + f" ; echo rc=$? ; cd {Path.cwd()}"


def test_openrc_script_runs_under_supervise_daemon(openrc_root: Path, tmp_path: Path) -> None:
    sleeper = write_sleeper(tmp_path / "bin" / "k0spy")
    data_dir = tmp_path / "my data"
    proc = run_k0spy(["install", "worker", "--root", str(openrc_root), "--init-system", "openrc",
                      "--executable", str(sleeper), "--data-dir", str(data_dir), f"--labels={TRICKY}",
                      "-e", f"K0SPY_TEST_ENV={TRICKY}"])
    assert proc.returncode == 0, proc.stderr
    script = openrc_root / "etc/init.d/k0sworker"
    assert script.stat().st_mode & 0o777 == 0o755
    assert (openrc_root / "etc/runlevels/default/k0sworker").readlink() == Path("/etc/init.d/k0sworker")

    cwd = Path.cwd()
    body = "\n".join([
        "exec 2>&1", f"cd {cwd}",
        "echo '== start'", _k0spy("start", "--init-system", "openrc"),
        "sleep 1.5",
        "echo '== start again'", _k0spy("start", "--init-system", "openrc"),
        "echo '== status'", "rc-service k0sworker status; echo rc=$?",
        "echo '== log'", "cat /var/log/k0sworker.log",
        "echo '== ps'", f"ps -wweo pid,args | grep -F '{sleeper}' | grep -v grep",
        "echo '== stop'", _k0spy("stop", "--init-system", "openrc"),
        "echo '== stop again'", _k0spy("stop", "--init-system", "openrc"),
        "echo '== after'", "cat /var/log/k0sworker.log",
        f"ps -wweo args | grep -F '{sleeper}' | grep -v grep; echo left=$?",
    ])
    out = run_in_openrc_namespace(openrc_tree(), openrc_root, body)
    text = out.stdout + out.stderr
    sections = dict(part.split("\n", 1) for part in text.split("== ")[1:])
    assert "started k0sworker" in sections["start"] and "rc=0" in sections["start"], text
    assert "k0sworker is already running" in sections["start again"] and "rc=1" in sections["start again"]
    assert "started" in sections["status"] and "rc=0" in sections["status"], text
    logged = json.loads(sections["log"].splitlines()[0])
    assert logged["argv"] == ["worker", f"--data-dir={data_dir}", f"--labels={TRICKY}"]
    assert logged["env"] == TRICKY
    assert "supervise-daemon k0sworker" in sections["ps"], text
    assert "stopped k0sworker" in sections["stop"] and "rc=0" in sections["stop"], text
    assert "k0sworker is already stopped" in sections["stop again"], text
    assert "stopping on SIGTERM" in sections["after"], text
    assert "left=1" in sections["after"], text
