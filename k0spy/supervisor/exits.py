"""Decode a child's returncode into words, once, for logs and status ("killed by SIGKILL")."""

from __future__ import annotations

import signal


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def describe_exit(returncode: int | None) -> str:
    """asyncio reports death by signal N as returncode -N; shells report 128+N, which is an exit code."""
    if returncode is None:
        return "still running"
    if returncode < 0:
        return f"killed by {signal_name(-returncode)}"
    return f"exited with code {returncode}"


def exit_fields(returncode: int) -> dict[str, object]:
    """Structured fields for a log event: exit_code or signal, never both."""
    if returncode < 0:
        return {"signal": signal_name(-returncode)}
    return {"exit_code": returncode}
