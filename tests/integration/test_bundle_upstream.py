"""`bundle --upstream` against a loopback release server: pinned tarballs and bare binaries, verified."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from k0spy.errors import K0spyError
from k0spy.pins import COMPONENT_VERSIONS
from tests.support.bundle import dummy_binary, run_binary, serve
from tests.support.net import free_port

from k0spy_bundle import components  # isort: skip
from k0spy_bundle.cli import fetch_upstream  # isort: skip

ETCD = COMPONENT_VERSIONS["etcd"]
RUNC = COMPONENT_VERSIONS["runc"]


def tarball(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def release(tmp_path: Path) -> dict[str, bytes]:
    etcd = dummy_binary(tmp_path, "etcd").read_bytes()
    runc = dummy_binary(tmp_path, "runc").read_bytes()
    return {
        f"/etcd/v{ETCD}/etcd-v{ETCD}-linux-amd64.tar.gz": tarball({f"etcd-v{ETCD}-linux-amd64/etcd": etcd}),
        f"/runc/v{RUNC}/runc.amd64": runc,
    }


def manifest(base: str) -> dict[str, Any]:
    return {"binaries": {
        "etcd": {"version": "etcd", "source": "tar", "member": "etcd-v{version}-linux-{arch}/etcd",
                 "url": base + "/etcd/v{version}/etcd-v{version}-linux-{arch}.tar.gz"},
        "runc": {"version": "runc", "source": "url", "url": base + "/runc/v{version}/runc.{arch}"},
        "kine": {"version": "kine", "source": "k0s"},
    }}


def pins(spec: dict[str, Any], release: dict[str, bytes]) -> dict[str, str]:
    sums = {}
    for binary in components.binaries("amd64", spec, {}):
        if binary.artifact:
            path = "/" + binary.artifact.url.split("/", 3)[3]
            sums[binary.artifact.key] = hashlib.sha256(release[path]).hexdigest()
    return sums


async def test_fetches_verifies_and_unpacks(release: dict[str, bytes], tmp_path: Path) -> None:
    app = web.Application()

    async def handler(request: web.Request) -> web.StreamResponse:
        body = release.get(request.path)
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body)

    app.router.add_get("/{tail:.*}", handler)
    async with serve(app, free_port()) as base:
        spec = manifest(base)
        found = await fetch_upstream("amd64", tmp_path / "cache", tmp_path / "out", spec, pins(spec, release))
    assert set(found) == {"etcd", "runc"}  # kine has no upstream release: it comes from k0s or a dir
    assert run_binary(found["etcd"]) == "etcd v1"
    assert run_binary(found["runc"]) == "runc v1"


async def test_unpinned_file_is_refused_before_any_download(tmp_path: Path) -> None:
    spec = manifest("http://127.0.0.1:9")  # nothing listens: a download attempt would fail differently
    with pytest.raises(K0spyError, match=r"has no pinned sha256.*checksums\.json") as caught:
        await fetch_upstream("amd64", tmp_path / "cache", tmp_path / "out", spec, {})
    assert caught.value.hint is not None and "build.py pin" in caught.value.hint
