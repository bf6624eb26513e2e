"""A component that runs as its system user but must bind a port below 1024 (kube-apiserver with
`spec.api.port: 443`): k0s gives it the ambient capability CAP_NET_BIND_SERVICE, and so does k0spy.

Why through util-linux's `setpriv` rather than in the child before exec: Python runs a `preexec_fn` after
it has already changed the uid, when the capability is gone, and a `preexec_fn` is unsafe in a daemon that
has threads (key generation runs in a pool). `setpriv` keeps the capability across its own uid change,
raises it as inheritable and ambient, and execs the component in place: same pid, same environment, same
process group, so the pid file, the stale-process check and the signals are what they would be without it.
Only CAP_NET_BIND_SERVICE is granted; the component's other privileges are those of its user, as in k0s.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence

SETPRIV_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"
CAPABILITY = "net_bind_service"


def find_setpriv() -> str | None:
    """The absolute path of setpriv (util-linux, Essential on Debian), looked up outside DATA/bin."""
    return shutil.which("setpriv", path=SETPRIV_PATH)


def needs_capability(binds_privileged_ports: bool, uid: int | None) -> bool:
    """Only a component dropped to a user (the daemon is root, the user exists) lacks the capability."""
    return binds_privileged_ports and uid is not None and os.geteuid() == 0


def setpriv_argv(setpriv: str, argv: Sequence[str], uid: int, gid: int) -> tuple[str, ...]:
    """`argv` run as uid/gid with no supplementary groups and CAP_NET_BIND_SERVICE ambient."""
    return (setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
            f"--inh-caps=+{CAPABILITY}", f"--ambient-caps=+{CAPABILITY}", "--", *argv)
