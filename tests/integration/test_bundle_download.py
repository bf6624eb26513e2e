"""The download path against a real loopback HTTP server: redirects, resume with Range, checksums, 404."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest
from aiohttp import web

from k0spy.errors import K0spyError
from tests.support.bundle import serve
from tests.support.net import free_port

from k0spy_bundle.download import download, fetch_text  # isort: skip

PAYLOAD = os.urandom(3 * 1024 * 1024 + 17)
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


class Server:
    """Serves PAYLOAD at /file (honours Range), /redirect, and /flaky, which drops the first response."""

    def __init__(self) -> None:
        self.ranges: list[str | None] = []
        self.flaky_drops = 1

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/file", self.file)
        app.router.add_get("/redirect", self.redirect)
        app.router.add_get("/hop", self.hop)
        app.router.add_get("/flaky", self.flaky)
        app.router.add_get("/sums", self.sums)
        return app

    async def redirect(self, _request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/hop")

    async def hop(self, _request: web.Request) -> web.StreamResponse:
        raise web.HTTPMovedPermanently("/file")

    async def sums(self, _request: web.Request) -> web.StreamResponse:
        return web.Response(text=f"{DIGEST}  file\n")

    def _slice(self, request: web.Request) -> tuple[int, bytes]:
        header = request.headers.get("Range")
        self.ranges.append(header)
        if header:
            start = int(header.removeprefix("bytes=").rstrip("-"))
            return 206, PAYLOAD[start:]
        return 200, PAYLOAD

    async def file(self, request: web.Request) -> web.StreamResponse:
        status, body = self._slice(request)
        return web.Response(status=status, body=body)

    async def flaky(self, request: web.Request) -> web.StreamResponse:
        status, body = self._slice(request)
        response = web.StreamResponse(status=status)
        response.content_length = len(body)
        await response.prepare(request)
        if self.flaky_drops:
            self.flaky_drops -= 1
            await response.write(body[: len(body) // 2])
            await asyncio.sleep(0.05)
            assert request.transport is not None
            request.transport.close()  # the connection dies mid-file
            return response
        await response.write(body)
        await response.write_eof()
        return response


@pytest.fixture
async def server() -> tuple[Server, str]:  # type: ignore[misc]
    state = Server()
    async with serve(state.app(), free_port()) as url:
        yield state, url


async def test_follows_redirects_and_verifies(server: tuple[Server, str], tmp_path: Path) -> None:
    _, url = server
    dest = await download(f"{url}/redirect", tmp_path / "bin", DIGEST)
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "bin.part").exists()


async def test_dropped_connection_resumes_with_range(server: tuple[Server, str], tmp_path: Path) -> None:
    state, url = server
    dest = await download(f"{url}/flaky", tmp_path / "bin", DIGEST)
    assert dest.read_bytes() == PAYLOAD
    assert state.ranges[0] is None
    assert state.ranges[1] is not None
    resumed_at = int(state.ranges[1].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at < len(PAYLOAD)


async def test_wrong_checksum_leaves_nothing(server: tuple[Server, str], tmp_path: Path) -> None:
    _, url = server
    with pytest.raises(K0spyError, match="does not match the pinned"):
        await download(f"{url}/file", tmp_path / "bin", "0" * 64)
    assert list(tmp_path.iterdir()) == []


async def test_404_is_an_error_naming_the_url(server: tuple[Server, str], tmp_path: Path) -> None:
    _, url = server
    with pytest.raises(K0spyError, match=r"/missing: HTTP 404"):
        await download(f"{url}/missing", tmp_path / "bin", DIGEST)
    assert not (tmp_path / "bin").exists()


async def test_verified_file_is_not_fetched_again(server: tuple[Server, str], tmp_path: Path) -> None:
    state, url = server
    (tmp_path / "bin").write_bytes(PAYLOAD)
    await download(f"{url}/file", tmp_path / "bin", DIGEST)
    assert state.ranges == []


async def test_fetch_text_reads_a_checksum_file(server: tuple[Server, str]) -> None:
    _, url = server
    assert (await fetch_text(f"{url}/sums")).split()[0] == DIGEST
