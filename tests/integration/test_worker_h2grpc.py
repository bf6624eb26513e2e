"""k0spy's HTTP/2 unary client against real containerd 1.6, cross-checked with grpcio (the reference client),
and its failure modes against servers that misbehave."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from k0spy import protowire as pw
from k0spy.components.containerd import containerd_args, render_config
from k0spy.paths import Paths
from k0spy.worker import grpcraw as g
from k0spy.worker import h2grpc as h
from tests.support.worker import Daemon, build_oci_tar, start_containerd, worker_paths

pytestmark = pytest.mark.slow
CONTAINERD = shutil.which("containerd") or "/usr/bin/containerd"


@pytest.fixture(scope="module")
def runtime() -> Iterator[Paths]:
    tmp = Path(tempfile.mkdtemp(prefix="kh", dir="/tmp"))
    paths = worker_paths(tmp)
    for directory in (paths.etc_dir, paths.run_dir, paths.data_dir):
        directory.mkdir(parents=True)
    paths.containerd_config.write_text(render_config(schema=2, dropin_dir=paths.containerd_dropin_dir,
                                                     pause_image="example.com/pause:1"))
    daemon: Daemon | None = None
    try:
        daemon = start_containerd([CONTAINERD, *containerd_args(paths)], tmp / "containerd.log",
                                  paths.containerd_socket)
        bundle = build_oci_tar(tmp / "img.tar", "docker.io/k0spy/h2:1")
        subprocess.run(["ctr", "--address", str(paths.containerd_socket), "-n", "k8s.io", "images", "import",
                        str(bundle)], check=True, capture_output=True)
        subprocess.run(["ctr", "--address", str(paths.containerd_socket), "-n", "k8s.io", "images", "label",
                        "docker.io/k0spy/h2:1", 'x={"a,b":1}'], check=True, capture_output=True)
        yield paths
    finally:
        if daemon is not None:
            daemon.stop()
        shutil.rmtree(tmp, ignore_errors=True)


async def with_grpcio(socket: Path, method: str, request: bytes = b"", namespace: str | None = None) -> bytes:
    import grpc  # type: ignore[import-untyped]

    metadata = (("containerd-namespace", namespace),) if namespace else None
    async with grpc.aio.insecure_channel(f"unix:{socket}") as channel:
        call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        reply: bytes = await call(request, timeout=5, metadata=metadata)
    return reply


async def test_same_answers_as_grpcio(runtime: Paths) -> None:
    sock = runtime.containerd_socket
    assert g.parse_version(await g.unary(sock, g.CRI_VERSION)) == \
        g.parse_version(await with_grpcio(sock, g.CRI_VERSION))
    assert g.parse_status(await g.unary(sock, g.CRI_STATUS)) == \
        g.parse_status(await with_grpcio(sock, g.CRI_STATUS))
    verbose = b"\x08\x01"
    mine = g.parse_status_info(await g.unary(sock, g.CRI_STATUS, verbose))
    assert set(mine) == set(g.parse_status_info(await with_grpcio(sock, g.CRI_STATUS, verbose)))
    assert '"sandboxImage":"example.com/pause:1"' in mine["config"]
    request = pw.encode_string(1, 'name=="docker.io/k0spy/h2:1"')
    images = g.parse_images(await g.unary(sock, g.IMAGES_LIST, request, namespace="k8s.io"))
    assert images == g.parse_images(await with_grpcio(sock, g.IMAGES_LIST, request, "k8s.io"))
    assert [i.name for i in images] == ["docker.io/k0spy/h2:1"] and images[0].labels["x"] == '{"a,b":1}'


async def test_many_calls_and_concurrency(runtime: Paths) -> None:
    replies = await asyncio.gather(*(g.runtime_version(runtime.containerd_socket) for _ in range(20)))
    assert {r.runtime_name for r in replies} == {"containerd"}


async def test_failed_calls_raise(runtime: Paths) -> None:
    with pytest.raises(h.GrpcError, match="no reply message"):
        await h.unary(runtime.containerd_socket, "/no.such.Service/Call")
    with pytest.raises(h.GrpcError, match="no reply message"):
        await h.unary(runtime.containerd_socket, g.IMAGES_LIST)  # no namespace: containerd refuses
    with pytest.raises(h.GrpcError, match=r"cannot connect to .*missing\.sock"):
        await h.unary(runtime.run_dir / "missing.sock", g.CRI_VERSION)


@pytest.fixture
async def odd_server(tmp_path: Path) -> AsyncIterator[tuple[Path, list[str]]]:
    """A unix server whose behaviour the test picks: "close" at once, or "silent" (reads, never answers)."""
    sock = tmp_path / "odd.sock"
    mode: list[str] = ["close"]
    release = asyncio.Event()
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        if mode[0] == "silent":
            await reader.read(1 << 16)
            await release.wait()
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    server = await asyncio.start_unix_server(handle, path=str(sock))
    try:
        yield sock, mode
    finally:
        release.set()
        server.close()
        await server.wait_closed()
        for writer in writers:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def test_misbehaving_servers(odd_server: tuple[Path, list[str]]) -> None:
    sock, mode = odd_server
    with pytest.raises(h.GrpcError, match="connection closed before the reply ended"):
        await h.unary(sock, g.CRI_VERSION)
    mode[0] = "silent"
    with pytest.raises(h.GrpcError, match=r"no reply within 0\.3s"):
        await h.unary(sock, g.CRI_VERSION, timeout=0.3)
