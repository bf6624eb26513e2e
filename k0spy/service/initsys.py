"""The init system: where the service file goes, and enable/disable/start/stop/status through its tools.

Everything takes an install root (like DESTDIR). With the root "/" the machine's own tools act on the
live system (`systemctl`, `rc-service`, `rc-update`); with any other root, files are written there and
enabling happens offline (`systemctl --root=ROOT enable`, the runlevel symlink `rc-update` would make),
so tests never touch the machine's /etc or its running init. Starting a service inside a root is only
possible for OpenRC (`openrc-run ROOT/etc/init.d/NAME start`), which is how the tests run it for real.
"""

from __future__ import annotations

import enum
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from k0spy.errors import K0spyError

INIT_SYSTEMS = ("systemd", "openrc")


class State(enum.Enum):
    RUNNING = "running"
    STOPPED = "stopped"
    UNKNOWN = "unknown"


def in_root(root: Path, path: PurePosixPath | str) -> Path:
    """`path` (absolute on the target system) as a path on this machine under `root`."""
    return root / str(path).lstrip("/")


def detect(root: Path) -> str:
    """systemd if it runs (or is installed) in root, else OpenRC if installed, else an error."""
    if in_root(root, "/run/systemd/system").is_dir():
        return "systemd"
    if any(in_root(root, p).exists() for p in ("/sbin/openrc-run", "/sbin/openrc", "/run/openrc")):
        return "openrc"
    if in_root(root, "/lib/systemd/systemd").exists() or in_root(root, "/usr/lib/systemd/systemd").exists():
        return "systemd"
    raise K0spyError(f"no supported init system found under {root}",
                     hint="pass --init-system systemd or --init-system openrc")


def _run(argv: list[str], what: str) -> subprocess.CompletedProcess[str]:
    if shutil.which(argv[0]) is None and not os.path.isabs(argv[0]):
        raise K0spyError(f"{what}: {argv[0]} not found", hint=f"install {argv[0]} or use --init-system")
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise K0spyError(f"{what}: running {' '.join(argv)}: {err}") from err


def _check(proc: subprocess.CompletedProcess[str], what: str) -> None:
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip() or f"exit code {proc.returncode}"
        raise K0spyError(f"{what}: {detail}")


@dataclass
class InitSystem:
    """One init system acting on one install root."""

    kind: str
    root: Path = Path("/")
    openrc_run: str = "openrc-run"  # tests point this at an unpacked openrc-run
    openrc_flags: list[str] = field(default_factory=list)  # e.g. ["--nodeps"] where cgroups/net are absent

    @property
    def live(self) -> bool:
        return self.root.resolve() == Path("/")

    def service_file(self, name: str) -> PurePosixPath:
        if self.kind == "systemd":
            return PurePosixPath(f"/etc/systemd/system/{name}.service")
        return PurePosixPath(f"/etc/init.d/{name}")

    @property
    def file_mode(self) -> int:
        """Unit files are data (0644); OpenRC scripts are executed (0755)."""
        return 0o644 if self.kind == "systemd" else 0o755

    def is_installed(self, name: str) -> bool:
        return in_root(self.root, self.service_file(name)).exists()

    def _runlevel_link(self, name: str) -> Path:
        return in_root(self.root, f"/etc/runlevels/default/{name}")

    def enable(self, name: str) -> None:
        if self.kind == "systemd":
            root_flag = [] if self.live else [f"--root={self.root}"]
            _check(_run(["systemctl", *root_flag, "enable", f"{name}.service"], f"enabling {name}"),
                   f"enabling {name}")
            if self.live:
                _check(_run(["systemctl", "daemon-reload"], "reloading systemd"), "reloading systemd")
        elif self.live and shutil.which("rc-update"):
            _check(_run(["rc-update", "add", name, "default"], f"enabling {name}"), f"enabling {name}")
        else:  # what rc-update does: a symlink in the default runlevel
            link = self._runlevel_link(name)
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.is_symlink():
                link.symlink_to(str(self.service_file(name)))

    def disable(self, name: str) -> None:
        if self.kind == "systemd":
            root_flag = [] if self.live else [f"--root={self.root}"]
            proc = _run(["systemctl", *root_flag, "disable", f"{name}.service"], f"disabling {name}")
            _check(proc, f"disabling {name}")
        elif self.live and shutil.which("rc-update"):
            _run(["rc-update", "del", name, "default"], f"disabling {name}")
        else:
            link = self._runlevel_link(name)
            if link.is_symlink():
                link.unlink()

    def forget(self) -> None:
        """After a unit file was removed: make a live systemd drop it (no-op otherwise)."""
        if self.kind == "systemd" and self.live:
            _check(_run(["systemctl", "daemon-reload"], "reloading systemd"), "reloading systemd")

    def _openrc(self, name: str, action: str) -> subprocess.CompletedProcess[str]:
        if self.live and shutil.which("rc-service"):
            return _run(["rc-service", name, action], f"{action} {name}")
        script = in_root(self.root, self.service_file(name))
        return _run([self.openrc_run, *self.openrc_flags, str(script), action], f"{action} {name}")

    def _systemctl(self, action: str, name: str) -> subprocess.CompletedProcess[str]:
        if not self.live:
            raise K0spyError(f"cannot {action} {name} inside install root {self.root}",
                             hint="systemd services can only be started on the live system (--root /)")
        return _run(["systemctl", action, f"{name}.service"], f"{action} {name}")

    def start(self, name: str) -> None:
        proc = self._systemctl("start", name) if self.kind == "systemd" else self._openrc(name, "start")
        _check(proc, f"starting {name}")

    def stop(self, name: str) -> None:
        proc = self._systemctl("stop", name) if self.kind == "systemd" else self._openrc(name, "stop")
        _check(proc, f"stopping {name}")

    def state(self, name: str) -> State:
        """systemctl is-active (0 = active) or openrc-run status (0 started, 3 stopped)."""
        if self.kind == "systemd":
            proc = self._systemctl("is-active", name)
            return State.RUNNING if proc.returncode == 0 else State.STOPPED
        proc = self._openrc(name, "status")
        if proc.returncode == 0:
            return State.RUNNING
        return State.STOPPED if proc.returncode == 3 else State.UNKNOWN


def choose(kind: str, root: Path) -> InitSystem:
    """`auto` detects; otherwise the named init system."""
    if kind == "auto":
        kind = detect(root)
    if kind not in INIT_SYSTEMS:
        raise K0spyError(f"unknown init system {kind!r}", hint="use auto, systemd or openrc")
    return InitSystem(kind=kind, root=root)


def installed_service_line(kind: str = "auto", root: Path = Path("/")) -> str | None:
    """One line on the installed k0spy service, for `k0spy status` when no daemon answers, e.g.
    "k0scontroller (systemd): installed, stopped"; None when no service is installed."""
    from k0spy.service.description import SERVICE_NAMES

    try:
        init = choose(kind, root)
    except K0spyError:
        return None
    for name in (SERVICE_NAMES["controller"], SERVICE_NAMES["worker"]):
        if not init.is_installed(name):
            continue
        if not init.live:
            return f"{name} ({init.kind}): installed in {init.root}"
        try:
            state = init.state(name).value
        except K0spyError as err:
            state = f"state unknown ({err.message})"
        return f"{name} ({init.kind}): installed, {state}"
    return None
