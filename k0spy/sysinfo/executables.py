"""Executables a worker calls from the host: k0s only warns when one is missing from PATH.

The missing-executable text is Go's `exec.LookPath` error, so the output reads as k0s's does.
"""

from __future__ import annotations

import os
import shutil

from k0spy.sysinfo.model import ProbeResult, Status

WORKER_EXECUTABLES = ("modprobe", "mount", "umount")


def probe_executable(parent: tuple[str, ...], executable: str, search_path: str | None = None) -> ProbeResult:
    path = (*parent, f"executableInPath:{executable}")
    name = f"Executable in PATH: {executable}"
    found = shutil.which(executable, path=search_path if search_path is not None else os.environ.get("PATH"))
    if found is None:
        missing = f'exec: "{executable}": executable file not found in $PATH'
        return ProbeResult(path, name, Status.WARN, missing)
    return ProbeResult(path, name, Status.PASS, found)
