"""One description of the k0spy service, from which both the systemd unit and the OpenRC script render.

Everything an init system needs to know (name, command line, environment file, restart and stop policy,
limits) lives here once, so the two renderings cannot drift apart: a change of the restart delay or the
file-descriptor limit is a change of one field. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from k0spy.errors import K0spyError

ROLES = ("controller", "worker")
# k0s's service names: operators (and their scripts) already know them, and `start`/`stop` look for them.
SERVICE_NAMES = {"controller": "k0scontroller", "worker": "k0sworker"}
DESCRIPTION = "k0spy - Zero Friction Kubernetes"
DOCUMENTATION = "https://docs.k0sproject.io"
RESTART_SEC = 10  # k0s's RestartSec; OpenRC's respawn_delay takes the same value
STOP_TIMEOUT = 90  # seconds between SIGTERM and SIGKILL (OpenRC retry, systemd TimeoutStopSec)
NOFILE = 1048576  # one limit for both init systems (k0s uses 999999 for systemd, 1048576 for OpenRC)
ETC_K0S = PurePosixPath("/etc/k0s")


@dataclass(frozen=True)
class ServiceDescription:
    """The service as the target system sees it: every path here is a path inside the install root."""

    role: str
    name: str
    executable: PurePosixPath
    args: tuple[str, ...]
    env_file: PurePosixPath | None = None
    description: str = DESCRIPTION
    documentation: str = DOCUMENTATION
    restart_sec: int = RESTART_SEC
    stop_timeout: int = STOP_TIMEOUT
    nofile: int = NOFILE

    @property
    def argv(self) -> tuple[str, ...]:
        """The full command line: executable, role, kept flags."""
        return (str(self.executable), self.role, *self.args)


def service_name(role: str) -> str:
    """`k0scontroller` or `k0sworker`; anything else is an operator error."""
    try:
        return SERVICE_NAMES[role]
    except KeyError:
        raise K0spyError(f"unknown role {role!r}", hint="use controller or worker") from None


def env_file_path(name: str) -> PurePosixPath:
    """The 0600 environment file of a service (inside the install root)."""
    return ETC_K0S / f"{name}.env"


def token_file_path(name: str) -> PurePosixPath:
    """Where `install` keeps its private copy of `--token-file` (inside the install root)."""
    return ETC_K0S / f"{name}.token"


def describe(
    role: str, executable: str, args: list[str] | tuple[str, ...], *, with_env_file: bool = False,
) -> ServiceDescription:
    """Build the description; the executable must be absolute (init systems do not search PATH)."""
    name = service_name(role)
    exe = PurePosixPath(executable)
    if not exe.is_absolute():
        raise K0spyError(f"service executable {executable!r} is not an absolute path",
                         hint="run k0spy through its absolute path, or pass the full path")
    return ServiceDescription(
        role=role, name=name, executable=exe, args=tuple(args),
        env_file=env_file_path(name) if with_env_file else None,
    )
