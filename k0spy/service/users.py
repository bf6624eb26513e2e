"""System users for the controller's components (`installConfig.users`), created and deleted.

`useradd --root ROOT` writes into ROOT/etc/passwd and friends, so an install root works without touching
the machine's users. Systems without shadow-utils (busybox, Alpine) get `adduser -S -D -H`, which has no
root option and therefore only acts on the live system.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from k0spy.errors import K0spyError
from k0spy.service.initsys import in_root


@dataclass(frozen=True)
class UserResult:
    name: str
    action: str  # "created", "exists", "deleted", "absent", "failed"
    detail: str = ""


def controller_users(users: object) -> list[str]:
    """Sorted, de-duplicated user names from a `SystemUsers` model (k0s does the same)."""
    names = {getattr(users, attr) for attr in (
        "etcd_user", "kine_user", "konnectivity_user", "kube_api_server_user", "kube_scheduler_user",
    )}
    return sorted(name for name in names if isinstance(name, str) and name)


def user_home(root: Path, name: str) -> str | None:
    """The home directory of `name` in the root's /etc/passwd, or None when there is no such user."""
    passwd = in_root(root, "/etc/passwd")
    try:
        lines = passwd.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    for line in lines:
        fields = line.split(":")
        if fields[0] == name:
            return fields[5] if len(fields) > 5 else ""
    return None


def user_exists(root: Path, name: str) -> bool:
    return user_home(root, name) is not None


def created_by_install(root: Path, name: str, data_dir: Path) -> bool:
    """Whether `name` looks like a user `k0spy install` made: its home is the data dir.

    k0s deletes every user named in installConfig.users on reset, including one that existed before the
    install (Debian's etcd package creates `etcd`, home /var/lib/etcd): that breaks the package. k0spy
    creates its users with the data dir as home, so that is the mark it deletes by.
    """
    home = user_home(root, name)
    return home is not None and home.rstrip("/") == str(data_dir).rstrip("/")


def nologin_shell(root: Path) -> str:
    for shell in ("/usr/sbin/nologin", "/sbin/nologin"):
        if in_root(root, shell).exists():
            return shell
    return "/bin/false"


def _live(root: Path) -> bool:
    return root.resolve() == Path("/")


def _create_argv(root: Path, name: str, home: Path) -> list[str]:
    shell = nologin_shell(root)
    if shutil.which("useradd"):
        root_flag = [] if _live(root) else ["--root", str(root)]
        return ["useradd", *root_flag, "--home-dir", str(home), "--shell", shell, "--system",
                "--no-create-home", name]
    if shutil.which("adduser") and _live(root):
        return ["adduser", "-S", "-D", "-H", "-h", str(home), "-s", shell, name]
    raise K0spyError(f"creating user {name}: neither useradd nor adduser can act on {root}",
                     hint="install shadow-utils (useradd) or create the users by hand")


def _delete_argv(root: Path, name: str) -> list[str]:
    if shutil.which("userdel"):
        return ["userdel", *([] if _live(root) else ["--root", str(root)]), name]
    if shutil.which("deluser") and _live(root):
        return ["deluser", name]
    raise K0spyError(f"deleting user {name}: neither userdel nor deluser can act on {root}")


def _run(argv: list[str]) -> tuple[bool, str]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        return False, str(err)
    return proc.returncode == 0, (proc.stderr or proc.stdout).strip()


def create_users(root: Path, names: Iterable[str], home: Path) -> list[UserResult]:
    """Create each missing user; raise on the first failure (install must not half-succeed silently)."""
    results = []
    for name in names:
        if user_exists(root, name):
            results.append(UserResult(name, "exists"))
            continue
        ok, detail = _run(_create_argv(root, name, home))
        if not ok:
            raise K0spyError(f"creating system user {name}: {detail}",
                             hint="check the users in installConfig.users of the config")
        results.append(UserResult(name, "created"))
    return results


def delete_users(root: Path, names: Iterable[str], data_dir: Path) -> list[UserResult]:
    """Delete each user `k0spy install` created (see `created_by_install`); failures are reported, not
    raised (reset carries on), and a user that existed before the install is kept with the reason."""
    results = []
    for name in names:
        home = user_home(root, name)
        if home is None:
            results.append(UserResult(name, "absent"))
            continue
        if not created_by_install(root, name, data_dir):
            results.append(UserResult(name, "kept", f"(home {home or '-'}: not created by k0spy install)"))
            continue
        try:
            ok, detail = _run(_delete_argv(root, name))
        except K0spyError as err:
            ok, detail = False, err.message
        results.append(UserResult(name, "deleted" if ok else "failed", detail))
    return results
