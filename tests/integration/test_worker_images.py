"""Image bundles with real containerd 1.6: tarballs built by the test (busybox-static inside) dropped into
DATA/images appear pinned in `k0spy ctr -n k8s.io images ls`; removing the bundle unpins the image;
an image held by two bundles stays pinned until both are gone; a broken file is reported and skipped."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from k0spy.components.base import NotReady
from k0spy.components.containerd import ContainerdComponent
from k0spy.paths import Paths
from k0spy.worker import grpcraw
from k0spy.worker.images import PINNED_LABEL, SOURCES_LABEL, ImageBundles, decode_sources
from tests.support.cli import run_k0spy
from tests.support.worker import (
    build_docker_tar,
    build_oci_tar,
    private_worker_paths,
)

pytestmark = pytest.mark.slow
CONTAINERD = shutil.which("containerd") or "/usr/bin/containerd"


@pytest.fixture
def paths() -> Iterator[Paths]:
    with private_worker_paths("ki") as private:
        yield private


@pytest.fixture
async def bundles(paths: Paths) -> AsyncIterator[ImageBundles]:
    runtime = ContainerdComponent(paths, pause_image="example.com/pause:1", binary=CONTAINERD)
    importer = ImageBundles(paths, debounce=0.3, retry_interval=0.2)
    try:
        await runtime.init()
        await importer.init()
        await runtime.start()
        await importer.start()  # before containerd answers: the first pass retries
        deadline = time.monotonic() + 20
        while True:
            try:
                await runtime.ready()
                break
            except NotReady:
                assert time.monotonic() < deadline, "containerd not ready"
                await asyncio.sleep(0.05)
        yield importer
    finally:
        await importer.stop()
        await runtime.stop()


async def labels_of(paths: Paths, name: str) -> dict[str, str]:
    images = await grpcraw.list_images(paths.containerd_socket, "k8s.io", (f'name=="{name}"',))
    return images[0].labels if images else {}


async def sources_become(paths: Paths, name: str, want: set[str] | None,
                         timeout: float = 30.0) -> dict[str, str]:
    """Wait until the image's bundle sources are `want` (None: not pinned); returns its labels."""
    deadline = time.monotonic() + timeout
    while True:
        labels = await labels_of(paths, name)
        if want is None and PINNED_LABEL not in labels and SOURCES_LABEL not in labels and labels:
            return labels
        if want is not None and labels.get(PINNED_LABEL) == "pinned" and \
                set(decode_sources(labels.get(SOURCES_LABEL))) == want:
            return labels
        assert time.monotonic() < deadline, f"{name}: labels stayed {labels}"
        await asyncio.sleep(0.05)


def drop(build: Callable[[Path, str], Path], directory: Path, file: str, name: str) -> Path:
    """Build under a dot-name (skipped by the importer), then rename in, as a careful operator would."""
    built = build(directory / f".{file}.part", name)
    target = directory / file
    built.rename(target)
    return target


async def ctr_ls(paths: Paths) -> str:
    args = ["--data-dir", str(paths.data_dir), "--run-dir", str(paths.run_dir),
            "ctr", "-n", "k8s.io", "images", "ls"]
    done = await asyncio.to_thread(run_k0spy, args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def ls_line(listing: str, name: str) -> str:
    return next(line for line in listing.splitlines() if line.startswith(name + " "))


async def test_oci_bundle_pinned_then_unpinned(bundles: ImageBundles, paths: Paths) -> None:
    name = "docker.io/k0spy/oci-test:1"
    bundle = drop(build_oci_tar, paths.images_dir, "oci.tar", name)
    labels = await sources_become(paths, name, {str(bundle)})
    assert decode_sources(labels[SOURCES_LABEL]) == {str(bundle): bundle.stat().st_mtime_ns}
    line = ls_line(await ctr_ls(paths), name)
    assert f"{PINNED_LABEL}=pinned" in line

    bundle.unlink()
    await sources_become(paths, name, None)
    line = ls_line(await ctr_ls(paths), name)  # still there: unpinned, not deleted
    assert PINNED_LABEL not in line and SOURCES_LABEL not in line


async def test_docker_archive_and_shared_image(bundles: ImageBundles, paths: Paths) -> None:
    name = "docker.io/k0spy/shared:2"
    (paths.images_dir / "broken.tar").write_bytes(b"not a tarball")
    first = drop(build_docker_tar, paths.images_dir, "docker.tar", name)
    second = drop(build_oci_tar, paths.images_dir, "oci.tar", name)
    await sources_become(paths, name, {str(first), str(second)})
    assert str(paths.images_dir / "broken.tar") not in bundles.imported

    first.unlink()
    await sources_become(paths, name, {str(second)})

    mtime = second.stat().st_mtime_ns + 1_000_000_000
    os.utime(second, ns=(mtime, mtime))  # a changed bundle is imported again; the label follows
    deadline = time.monotonic() + 30
    while decode_sources((await labels_of(paths, name)).get(SOURCES_LABEL)) != {str(second): mtime}:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)

    second.unlink()
    await sources_become(paths, name, None)


async def test_under_the_component_manager(paths: Paths) -> None:
    """containerd then the bundle reconciler, as the worker command will run them: ordered start with
    readiness (the CRI ping), reverse stop; a bundle present before start is imported by the first pass."""
    from k0spy.components.base import Manager

    paths.images_dir.mkdir(parents=True)
    bundle = drop(build_oci_tar, paths.images_dir, "pre.tar", "docker.io/k0spy/pre:1")
    runtime = ContainerdComponent(paths, pause_image="example.com/pause:1", binary=CONTAINERD)
    importer = ImageBundles(paths, debounce=0.3)
    manager = Manager([runtime, importer], ready_timeout=30)
    await manager.init()
    try:
        await manager.start()
        await sources_become(paths, "docker.io/k0spy/pre:1", {str(bundle)})
    finally:
        await manager.stop()
    assert runtime.process is not None and runtime.process.status() is not None
    status = runtime.process.status()
    assert status is not None and status.pid is None
