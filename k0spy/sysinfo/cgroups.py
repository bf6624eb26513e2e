"""Control groups: which version is mounted at /sys/fs/cgroup and which controllers a worker can use.

Decisions follow k0s (`internal/pkg/sysinfo/probes/linux/cgroup*.go`) at the commit k0spy tracks:
- the version comes from statfs of the mount point: cgroup2fs is v2, cgroupfs or tmpfs (the v1 and hybrid
  layouts) is v1, nothing mounted or anything else is a rejection;
- cgroup v1 is rejected ("cgroup v1 is not supported"), but its controllers are still listed;
- v1 controllers are those /proc/cgroups marks enabled; v2 controllers are those in the root's
  cgroup.controllers (cpu also provides cpuacct, io provides blkio); v2 `freezer` is a cgroup.freeze file
  and v2 `devices` is an eBPF program that can be attached (see `cgroups_bpf`);
- a missing required controller is rejected, a missing optional one warns.
"""

from __future__ import annotations

import errno
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from k0spy.sysinfo import fsmagic
from k0spy.sysinfo.cgroups_bpf import attach_dummy_device_filter
from k0spy.sysinfo.model import ProbeResult, Status

REQUIRED_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "pids")
OPTIONAL_CONTROLLERS = ("hugetlb", "blkio")
DEFAULT_MOUNT_POINT = Path("/sys/fs/cgroup")
V1_UNSUPPORTED = "cgroup v1 is not supported"


class DetectionFailed(Exception):
    """What is at the mount point is not a cgroup file system: a rejection, not an error."""


def detect_version(magic: int | None, mount_point: Path, error: OSError | None = None) -> int:
    """1 or 2 from the statfs type of the mount point; raises DetectionFailed or OSError otherwise."""
    if error is not None:
        if error.errno == errno.ENOENT:
            raise DetectionFailed(f'no file system mounted at "{mount_point}"')
        raise OSError(error.errno, f'failed to stat "{mount_point}": {(error.strerror or "").lower()}')
    if magic == fsmagic.CGROUP2_SUPER_MAGIC:
        return 2
    if magic in (fsmagic.CGROUP_SUPER_MAGIC, fsmagic.TMPFS_MAGIC):
        return 1
    raise DetectionFailed(f'unexpected file system type of "{mount_point}": 0x{magic or 0:x}')


@dataclass(frozen=True)
class Controller:
    """Whether a controller can be used, how that was found out, and a warning when it is unsure."""

    available: bool
    how: str = ""
    warning: str = ""

    def __str__(self) -> str:
        if self.available and self.warning:
            return self.how
        word = "available" if self.available else "unavailable"
        return f"{word} ({self.how})" if self.how else word


def parse_proc_cgroups(text: str) -> dict[str, Controller]:
    """Enabled v1 controllers from /proc/cgroups (`subsys hierarchy num_cgroups enabled`)."""
    found: dict[str, Controller] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) >= 4 and fields[3] != "0":
            found[fields[0]] = Controller(True)
    return found


def parse_root_controllers(text: str) -> dict[str, Controller]:
    """v2 controllers from the root's cgroup.controllers, with the v1 names they stand in for."""
    found: dict[str, Controller] = {}
    for name in text.split():
        found[name] = Controller(True, "is a listed root controller")
        if name == "cpu":
            found["cpuacct"] = Controller(True, "via cpu in version 2")
        elif name == "io":
            found["blkio"] = Controller(True, "via io in version 2")
    return found


@dataclass(frozen=True)
class CgroupMembership:
    """One line of /proc/<pid>/cgroup."""

    hierarchy: int
    controllers: tuple[str, ...]
    path: str


def parse_proc_self_cgroup(text: str) -> list[CgroupMembership]:
    """`id:controllers:path` lines; the v2 (unified) line is `0::/path`."""
    entries = []
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3 or not parts[0].isdigit():
            continue
        controllers = tuple(c for c in parts[1].split(",") if c)
        entries.append(CgroupMembership(int(parts[0]), controllers, parts[2]))
    return entries


def unified_path(entries: list[CgroupMembership]) -> str | None:
    """This process's cgroup in the v2 hierarchy, if it is in one."""
    for entry in entries:
        if entry.hierarchy == 0 and not entry.controllers:
            return entry.path
    return None


def assess_controller(path: tuple[str, ...], name: str, found: Controller, *, require: bool) -> ProbeResult:
    display = f'cgroup controller "{name}"'
    if found.available:
        if found.warning:
            return ProbeResult(path, display, Status.WARN, str(found), found.warning)
        return ProbeResult(path, display, Status.PASS, str(found))
    return ProbeResult(path, display, Status.FAIL if require else Status.WARN, str(found))


def _non_root() -> bool:
    return os.geteuid() != 0


def detect_freezer_v2(mount_point: Path, own_cgroup: str | None) -> Controller:
    """v2 freezing is the cgroup.freeze file; the root cgroup has none, so probe a temporary child."""
    if own_cgroup and own_cgroup != "/":
        return _freeze_file(mount_point / own_cgroup.lstrip("/"))
    try:
        tmp = Path(tempfile.mkdtemp(prefix="k0spy-freezer-detection-", dir=mount_point))
    except OSError as err:
        if err.errno in (errno.EACCES, errno.EPERM) and _non_root():
            return Controller(True, "unknown", "insufficient permissions, try with elevated permissions")
        if err.errno == errno.EROFS and _non_root():
            return Controller(True, "unknown", f"read-only file system: {mount_point}")
        raise OSError(err.errno, f"failed to create temporary cgroup: {err}") from err
    try:
        return _freeze_file(tmp)
    finally:
        os.rmdir(tmp)


def _freeze_file(cgroup: Path) -> Controller:
    freeze = cgroup / "cgroup.freeze"
    if freeze.exists() and not freeze.is_dir():
        return Controller(True, "cgroup.freeze exists")
    return Controller(False, "cgroup.freeze doesn't exist")


def detect_devices_v2(mount_point: Path) -> Controller:
    """v2 device control has no files: it exists when a BPF_CGROUP_DEVICE program can be attached."""
    try:
        attach_dummy_device_filter(mount_point)
    except OSError as err:
        if err.errno in (errno.EACCES, errno.EPERM) and _non_root():
            return Controller(True, "unknown", "insufficient permissions, try with elevated permissions")
        if err.errno == errno.EROFS:
            return Controller(True, "unknown", f"read-only file system: {mount_point}")
        if err.errno in (errno.EINVAL, errno.E2BIG):
            return Controller(False, str(err))
        raise
    return Controller(True, "device filters attachable")


class _System:
    """The cgroup system at a mount point, looked at once and shared by every controller probe."""

    def __init__(self, mount_point: Path, proc: Path) -> None:
        self.mount_point = mount_point
        self.proc = proc
        self.version = 0
        self.problem: Exception | None = None
        self._listed: dict[str, Controller] | None = None
        self._list_error: OSError | None = None
        try:
            try:
                self.version = detect_version(fsmagic.fs_type(mount_point), mount_point)
            except OSError as err:
                self.version = detect_version(None, mount_point, err)
        except (DetectionFailed, OSError) as err:
            self.problem = err

    def controller(self, name: str) -> Controller:
        if self.version == 2 and name == "devices":
            return detect_devices_v2(self.mount_point)
        if self.version == 2 and name == "freezer":
            own = unified_path(parse_proc_self_cgroup((self.proc / "self" / "cgroup").read_text()))
            return detect_freezer_v2(self.mount_point, own)
        if self._listed is None and self._list_error is None:
            try:
                if self.version == 1:
                    self._listed = parse_proc_cgroups((self.proc / "cgroups").read_text())
                else:
                    listed = (self.mount_point / "cgroup.controllers").read_text()
                    self._listed = parse_root_controllers(listed)
            except OSError as err:
                self._list_error = err
        if self._list_error is not None:
            raise self._list_error
        assert self._listed is not None
        return self._listed.get(name, Controller(False))


def _problem_result(path: tuple[str, ...], name: str, problem: Exception) -> ProbeResult:
    if isinstance(problem, DetectionFailed):
        return ProbeResult(path, name, Status.FAIL, str(problem))
    return ProbeResult(path, name, Status.ERROR, reason=str(problem))


def probe_cgroups(
    parent: tuple[str, ...], mount_point: Path = DEFAULT_MOUNT_POINT, proc: Path = Path("/proc")
) -> list[ProbeResult]:
    """The cgroup version, then every required and optional controller, in k0s's order."""
    path = (*parent, "cgroups")
    system = _System(mount_point, proc)
    if system.problem is not None:
        results = [_problem_result(path, "Control Groups", system.problem)]
    elif system.version == 1:
        results = [ProbeResult(path, "Control Groups", Status.FAIL, "version 1", V1_UNSUPPORTED)]
    else:
        results = [ProbeResult(path, "Control Groups", Status.PASS, "version 2")]
    wanted = [(n, True) for n in REQUIRED_CONTROLLERS] + [(n, False) for n in OPTIONAL_CONTROLLERS]
    for name, require in wanted:
        cpath = (*path, name)
        if system.problem is not None:
            results.append(_problem_result(cpath, f'cgroup controller "{name}"', system.problem))
            continue
        try:
            found = system.controller(name)
        except OSError as err:
            results.append(ProbeResult(cpath, f'cgroup controller "{name}"', Status.ERROR, reason=str(err)))
            continue
        results.append(assess_controller(cpath, name, found, require=require))
    return results
