"""One spawned process as asyncio sees it: its pipes forwarded line by line, its exit and close as futures.

Kept apart from `process`, which decides (restart policy, stop sequence); this only observes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time

from k0spy.supervisor.output import BatchRenderer, LineSplitter

STREAMS = {1: "stdout", 2: "stderr"}


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by `pid`; gone already (or not ours to signal) is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class Child(asyncio.SubprocessProtocol):
    """One spawned process: forwards its pipes to the renderer and resolves futures on exit/close."""

    def __init__(self, name: str, renderer: BatchRenderer, loop: asyncio.AbstractEventLoop) -> None:
        self.name = name
        self.renderer = renderer
        self.splitters = {1: LineSplitter(), 2: LineSplitter()}
        self.exited: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.SubprocessTransport | None = None
        self.pid = 0
        self.uptime: float | None = None
        self.started_mono = time.monotonic()
        self.started_wall = time.time()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.transport = transport

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        assert isinstance(data, bytes)
        self.renderer.write_block(self.name, STREAMS[fd], data, self.splitters[fd])

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd in self.splitters:
            self.renderer.write(self.name, STREAMS[fd], self.splitters[fd].close())

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    @property
    def returncode(self) -> int | None:
        return self.transport.get_returncode() if self.transport else None
