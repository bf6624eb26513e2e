"""`k0spy reset`: take a node back to before k0spy, step by step, reporting each step.

Steps (k0s's order): containers, users, service, mounts, directories, CNI files, the kube-bridge link.
Every step runs even when an earlier one failed (a half-done reset that cannot be retried is worse than
a reset that says what it could not do); the result is non-zero if any step failed or anything is left.
Nothing runs while a daemon holds the runtime lock. `plan()` lists everything without changing anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from k0spy.errors import K0spyError
from k0spy.fsutil import lock_is_held
from k0spy.paths import Paths
from k0spy.service import containers, mounts, users
from k0spy.service.description import SERVICE_NAMES
from k0spy.service.initsys import INIT_SYSTEMS, InitSystem, choose, in_root
from k0spy.service.remove import Leftover, list_tree, remove_tree

CNI_FILES = ("/etc/cni/net.d/10-calico.conflist", "/etc/cni/net.d/calico-kubeconfig",
             "/etc/cni/net.d/10-kuberouter.conflist")
BRIDGE = "kube-bridge"


@dataclass
class ResetOptions:
    paths: Paths
    root: Path = Path("/")
    init_system: str = "auto"
    user_names: list[str] = field(default_factory=list)


@dataclass
class Step:
    name: str
    ok: bool = True
    lines: list[str] = field(default_factory=list)


@dataclass
class ResetReport:
    steps: list[Step] = field(default_factory=list)
    leftovers: list[Leftover] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps) and not self.leftovers

    def render(self) -> str:
        out = []
        for step in self.steps:
            out.append(f"[{'ok' if step.ok else 'FAILED'}] {step.name}")
            out += [f"    {line}" for line in step.lines]
        if self.leftovers:
            out.append("Left over (could not be removed):")
            out += [f"    {item.path}: {item.reason}" for item in self.leftovers]
        out.append("reset complete; a reboot is recommended" if self.ok
                   else "reset incomplete: fix the items above and run k0spy reset again")
        return "\n".join(out)


def refuse_if_running(paths: Paths) -> None:
    if lock_is_held(paths.runtime_lock):
        raise K0spyError(f"k0spy is running on {paths.run_dir} (the lock {paths.runtime_lock} is held)",
                         hint="please stop k0spy before reset (k0spy stop)")


def _init_system(opts: ResetOptions) -> InitSystem | None:
    try:
        return choose(opts.init_system, opts.root)
    except K0spyError:
        return None


def _installed_services(opts: ResetOptions) -> list[tuple[InitSystem, str]]:
    found = []
    kinds = INIT_SYSTEMS if opts.init_system == "auto" else (opts.init_system,)
    for kind in kinds:
        init = InitSystem(kind=kind, root=opts.root)
        found += [(init, name) for name in SERVICE_NAMES.values() if init.is_installed(name)]
    return found


def _trees(paths: Paths) -> list[Path]:
    return [paths.kubelet_root_dir, paths.data_dir, paths.run_dir]


def _kept_mounts(paths: Paths) -> list[Path]:
    """Tree roots that are emptied but never unmounted: the data dir, the run dir, and the kubelet root
    when it lives elsewhere (under the data dir it is one more mount inside it, as k0s treats it)."""
    kept = [paths.data_dir, paths.run_dir]
    if not mounts.is_under(paths.kubelet_root_dir, [paths.data_dir]):
        kept.append(paths.kubelet_root_dir)
    return kept


def _node_mounts(paths: Paths) -> list[mounts.Mount]:
    return mounts.mounts_under(mounts.read_mounts(), _trees(paths), keep=_kept_mounts(paths))


def plan(opts: ResetOptions) -> list[str]:
    """Everything reset would do, one line each; changes nothing (refuses like reset if k0spy runs)."""
    refuse_if_running(opts.paths)
    lines = containers.describe_plan(opts.paths)
    lines += [f"user {name}" for name in opts.user_names
              if users.created_by_install(opts.root, name, opts.paths.data_dir)]
    for init, name in _installed_services(opts):
        lines.append(f"service {name} ({init.kind}, {in_root(opts.root, init.service_file(name))})")
    for mount in _node_mounts(opts.paths):
        lines.append(f"unmount {mount.mountpoint} ({mount.fstype})")
    seen: set[Path] = set()
    for tree in _trees(opts.paths):
        for kind, path in list_tree(tree):
            if kind != "mount" and path not in seen:
                seen.add(path)
                lines.append(f"{kind} {path}")
    lines += [f"file {p}" for p in _cni_files(opts) if p.exists()]
    if _bridge_exists(opts):
        lines.append(f"link {BRIDGE}")
    return lines


def _step(report: ResetReport, name: str, action: Callable[[Step], None]) -> None:
    step = Step(name)
    try:
        action(step)
    except (K0spyError, OSError, subprocess.SubprocessError) as err:
        step.ok = False
        step.lines.append(err.message if isinstance(err, K0spyError) else str(err))
    report.steps.append(step)


def _containers(paths: Paths) -> Callable[[Step], None]:
    def run(step: Step) -> None:
        result = containers.remove_all(paths)
        step.lines += [f"removed container {c}" for c in result.removed] or [result.note or "no containers"]
        step.lines += [f"could not remove {f}" for f in result.failures]
        step.ok = not result.failures
    return run


def _users(opts: ResetOptions) -> Callable[[Step], None]:
    def run(step: Step) -> None:
        for result in users.delete_users(opts.root, opts.user_names, opts.paths.data_dir):
            step.lines.append(f"user {result.name}: {result.action} {result.detail}".rstrip())
            step.ok = step.ok and result.action != "failed"
    return run


def _services(opts: ResetOptions) -> Callable[[Step], None]:
    from k0spy.service.install import uninstall_service

    def run(step: Step) -> None:
        for init, name in _installed_services(opts):
            step.lines += [f"removed {p}" for p in uninstall_service(init, name)]
        if not step.lines:
            step.lines.append("no k0spy service installed")
    return run


def _mounts(paths: Paths) -> Callable[[Step], None]:
    def run(step: Step) -> None:
        for mount in _node_mounts(paths):
            try:
                step.lines.append(f"{mounts.unmount(mount.mountpoint)} {mount.mountpoint}")
            except OSError as err:
                step.ok = False
                step.lines.append(f"could not unmount {mount.mountpoint}: {err.strerror}")
        if not step.lines:
            step.lines.append("nothing mounted under the node's directories")
    return run


def _directories(report: ResetReport, paths: Paths) -> Callable[[Step], None]:
    def run(step: Step) -> None:
        mounted = {m.mountpoint for m in mounts.read_mounts()}
        for tree in _trees(paths):
            if tree.is_symlink():  # never follow the tree itself out either: remove only the link
                tree.unlink()
                step.lines.append(f"removed link {tree}")
                continue
            keep_top = Path(os.path.realpath(tree)) in mounted
            result = remove_tree(tree, keep_top=keep_top)
            if result.removed:
                step.lines.append(f"removed {tree} ({len(result.removed)} entries)"
                                  + (" contents only: it is a mount point" if keep_top else ""))
            report.leftovers += result.leftovers
    return run


def _cni_files(opts: ResetOptions) -> list[Path]:
    return [in_root(opts.root, p) for p in CNI_FILES]


def _cni(opts: ResetOptions) -> Callable[[Step], None]:
    def run(step: Step) -> None:
        for path in _cni_files(opts):
            if path.exists():
                path.unlink()
                step.lines.append(f"removed {path}")
        if not step.lines:
            step.lines.append("no CNI files")
    return run


def _bridge_exists(opts: ResetOptions) -> bool:
    """The link lives in the network namespace, not the install root: only a live reset touches it."""
    return opts.root.resolve() == Path("/") and Path(f"/sys/class/net/{BRIDGE}").exists()


def _bridge(opts: ResetOptions) -> Callable[[Step], None]:
    def run(step: Step) -> None:
        if not _bridge_exists(opts):
            step.lines.append(f"no {BRIDGE} link")
            return
        ip = shutil.which("ip")
        if ip is None:
            raise K0spyError(f"cannot delete link {BRIDGE}: ip not found")
        proc = subprocess.run([ip, "link", "delete", BRIDGE], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise K0spyError(f"deleting link {BRIDGE}: {proc.stderr.strip()}")
        step.lines.append(f"deleted link {BRIDGE}")
    return run


def reset(opts: ResetOptions) -> ResetReport:
    refuse_if_running(opts.paths)
    report = ResetReport()
    _step(report, "containers", _containers(opts.paths))
    _step(report, "users", _users(opts))
    _step(report, "service", _services(opts))
    _step(report, "mounts", _mounts(opts.paths))
    _step(report, "directories", _directories(report, opts.paths))
    _step(report, "cni files", _cni(opts))
    _step(report, "network link", _bridge(opts))
    return report
