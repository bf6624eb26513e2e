"""`k0spy install controller|worker`: write the service, its private files and users; enable it.

Order matters for a clean failure: everything that can be refused (flags, environment, token file,
config) is checked before anything is written, and the service file is written last, so an install that
fails leaves no half-configured service that an init system would try to run.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from k0spy.errors import K0spyError
from k0spy.fsutil import OWNER_ONLY_MODE, atomic_write, ensure_dir
from k0spy.paths import DEFAULT_DATA_DIR
from k0spy.service import users as users_mod
from k0spy.service.description import ETC_K0S, describe, service_name, token_file_path
from k0spy.service.flags import flag_value, service_flags
from k0spy.service.initsys import InitSystem, choose, in_root
from k0spy.service.render import render, render_env_file

ETC_DIR_MODE = 0o755


@dataclass
class InstallRequest:
    role: str
    args: Sequence[str]
    env: Sequence[str] = ()
    force: bool = False
    start: bool = False
    init_system: str = "auto"
    root: Path = Path("/")
    executable: str | None = None
    cwd: str | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass
class InstallReport:
    name: str
    init_system: str
    service_file: Path
    lines: list[str] = field(default_factory=list)


def default_executable(argv0: str | None = None) -> str:
    """The k0spy executable the service runs: this program if it is one, else `k0spy` on PATH."""
    candidate = os.path.abspath(argv0 if argv0 is not None else sys.argv[0])
    if os.path.isfile(candidate) and os.access(candidate, os.X_OK) and not candidate.endswith(".py"):
        return candidate
    found = shutil.which("k0spy")
    if found:
        return os.path.abspath(found)
    raise K0spyError("cannot tell which k0spy executable the service should run",
                     hint="pass --executable /path/to/k0spy")


def parse_env(values: Sequence[str], environ: Mapping[str, str]) -> dict[str, str]:
    """`-e NAME=VALUE` as given; a bare `-e NAME` takes NAME's current value (as k0s does)."""
    env: dict[str, str] = {}
    for item in values:
        name, eq, value = item.partition("=")
        if not eq:
            if name not in environ:
                raise K0spyError(f"-e {name}: {name} is not set in this environment",
                                 hint=f"use -e {name}=VALUE")
            value = environ[name]
        env[name] = value
    return env


def _controller_users(flags: list[str]) -> list[str]:
    from k0spy.config.load import load_cluster_config

    config = flag_value(flags, "config")
    etc_dir = flag_value(flags, "etc-dir") or str(ETC_K0S)
    loaded = load_cluster_config(config, default_path=Path(etc_dir) / "k0s.yaml")
    return users_mod.controller_users(loaded.config.spec.install_config.users)


def uninstall_service(init: InitSystem, name: str) -> list[Path]:
    """Disable the service and remove its file, env file and token copy; returns what was removed."""
    removed = []
    if init.is_installed(name):
        init.disable(name)
    for target in (init.service_file(name), ETC_K0S / f"{name}.env", token_file_path(name)):
        path = in_root(init.root, target)
        if path.exists() or path.is_symlink():
            path.unlink()
            removed.append(path)
    if removed:
        init.forget()
    return removed


def _token(flags: list[str], name: str) -> tuple[list[str], bytes | None]:
    """Read `--token-file` now and point the flag at the service's private 0600 copy."""
    source = flag_value(flags, "token-file")
    if source is None:
        return flags, None
    try:
        data = Path(source).read_bytes()
    except OSError as err:
        raise K0spyError(f"reading token file {source}: {err.strerror}") from err
    target = f"--token-file={token_file_path(name)}"
    return [target if w.startswith("--token-file=") else w for w in flags], data


def _write_private(root: Path, target: PurePosixPath, data: bytes) -> Path:
    ensure_dir(in_root(root, target.parent), ETC_DIR_MODE)
    path = in_root(root, target)
    atomic_write(path, data, OWNER_ONLY_MODE)
    return path


def install(req: InstallRequest) -> InstallReport:
    """Check everything, then (with --force) remove the old service, then write the new one."""
    name = service_name(req.role)
    flags, token = _token(service_flags(req.role, req.args, cwd=req.cwd), name)
    env = parse_env(req.env, req.environ)
    executable = req.executable or default_executable()
    init = choose(req.init_system, req.root)
    report = InstallReport(name, init.kind, in_root(req.root, init.service_file(name)))
    installed = init.is_installed(name)
    if installed and not req.force:
        raise K0spyError(f"service {name} is already installed ({report.service_file})",
                         hint="use --force to reinstall it, or k0spy reset to remove it")
    user_names = _controller_users(flags) if req.role == "controller" else []
    desc = describe(req.role, executable, flags, with_env_file=bool(env))
    text = render(init.kind, desc)
    if installed:
        report.lines += [f"removed {p}" for p in uninstall_service(init, name)]
    home = Path(flag_value(flags, "data-dir") or DEFAULT_DATA_DIR)
    for result in users_mod.create_users(req.root, user_names, home):
        report.lines.append(f"user {result.name}: {result.action}")
    if token is not None:
        report.lines.append(f"wrote {_write_private(req.root, token_file_path(name), token)} (mode 0600)")
    if desc.env_file is not None:
        path = _write_private(req.root, desc.env_file, render_env_file(env).encode())
        report.lines.append(f"wrote {path} (mode 0600)")
    ensure_dir(report.service_file.parent, ETC_DIR_MODE)
    atomic_write(report.service_file, text.encode(), init.file_mode)
    report.lines.append(f"wrote {report.service_file} (mode {init.file_mode:04o})")
    init.enable(name)
    report.lines.append(f"enabled {name} ({init.kind})")
    if req.start:
        init.start(name)
        report.lines.append(f"started {name}")
    return report
