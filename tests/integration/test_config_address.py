"""Address detection against real kernel interfaces, in a private network namespace (unshare --net).

The host's own interfaces are never touched: each step adds interfaces inside the namespace and asks
k0spy, in a real child process, which address k0s would pick.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PICK = f"{sys.executable} -c 'from k0spy.config.address import first_public_address as f; print(f())'"

SCRIPT = f"""
set -e
cd {ROOT}
ip link set lo up
{PICK}
ip link add kube-bridge type bridge && ip addr add 10.244.0.1/24 dev kube-bridge
ip link add cali1234 type veth peer name p0 && ip addr add 10.245.0.1/24 dev cali1234
{PICK}
ip link add ens5 type veth peer name p1 && ip -6 addr add fd00::5/64 dev ens5 nodad
{PICK}
ip link add ens6 type veth peer name p2
ip addr add 192.0.2.10/24 dev ens6 && ip addr add 192.0.2.20/24 dev ens6
{PICK}
"""


def test_detection_in_a_private_network_namespace() -> None:
    unshare = shutil.which("unshare")
    assert unshare is not None, "util-linux unshare is needed"
    result = subprocess.run(
        [unshare, "--net", "sh", "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0 and "Operation not permitted" in result.stderr:
        pytest.fail(f"unshare --net needs root/CAP_SYS_ADMIN: {result.stderr}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["127.0.0.1", "127.0.0.1", "fd00::5", "192.0.2.10"]
