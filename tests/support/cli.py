"""Run `k0spy` as an operator does: a real process, its exit code, stdout and stderr."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


def run_k0spy(
    args: Sequence[str], *, input: str | bytes | None = None, env: dict[str, str] | None = None,
    timeout: float = 60, cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    data = input.decode() if isinstance(input, bytes) else input
    return subprocess.run(
        [sys.executable, "-m", "k0spy", *args], input=data, capture_output=True, text=True,
        env=env, timeout=timeout, cwd=cwd, check=False,
    )
