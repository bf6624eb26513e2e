"""Helpers for the bundle tests: dummy binaries, bundles built with the real builder, a loopback server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
if str(PACKAGING) not in sys.path:
    sys.path.insert(0, str(PACKAGING))

from k0spy_bundle.zipbundle import BundleSpec, write_bundle  # noqa: E402


def dummy_binary(directory: Path, name: str, size: int = 64 * 1024, *, tag: str = "v1") -> Path:
    """An executable shell script that prints `<name> <tag>`, padded with random bytes to `size`."""
    head = f"#!/bin/sh\necho {name} {tag}\nexit 0\n".encode()
    path = directory / name
    path.write_bytes(head + os.urandom(max(0, size - len(head))))
    path.chmod(0o755)
    return path


def make_bundle(
    out: Path, binaries: dict[str, Path], *, kind: str = "release", compression: str = "deflate",
    description: str = "",
) -> Path:
    spec = BundleSpec(binaries, "amd64", kind, description, {name: "1.0.0" for name in binaries})
    write_bundle(spec, out, compression=compression, level=1)
    return out


def run_binary(path: Path) -> str:
    return subprocess.run([str(path)], capture_output=True, text=True, check=True, timeout=10).stdout.strip()


@asynccontextmanager
async def serve(app: web.Application, port: int) -> AsyncIterator[str]:
    """Run `app` on 127.0.0.1:port for the duration of the block; yields the base URL."""
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def mount_tmpfs(directory: Path, size: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)], check=True)


def umount(directory: Path) -> None:
    subprocess.run(["umount", str(directory)], check=True)
