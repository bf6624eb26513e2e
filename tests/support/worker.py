"""Helpers for the worker tests: image tarballs built in Python, and a k0s-shaped containerd under tmp.

The tarballs are what `k0s airgap bundle-artifacts` or `docker save` produce: an OCI image layout
(`oci-layout`, `index.json` naming the image in `io.containerd.image.name`, `blobs/sha256/...`) or a
docker archive (`manifest.json` with RepoTags). One layer holds busybox-static (apt's busybox-static) and
any extra files, so `ctr run` could execute it.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import signal
import subprocess
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from k0spy.paths import Paths

BUSYBOX = Path("/bin/busybox")
SHIM_DIR = Path("/run/containerd/s")


def _layer(files: dict[str, bytes], *, compress: bool = True) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=1, mtime=0) if compress else raw.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _image_files(extra: dict[str, bytes] | None) -> dict[str, bytes]:
    files = {"bin/busybox": BUSYBOX.read_bytes(), "etc/hello.txt": b"hello from a k0spy test image\n"}
    files.update(extra or {})
    return files


def _config(diff_id: str) -> bytes:
    return json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/busybox", "cat", "/etc/hello.txt"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }).encode()


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def build_oci_tar(path: Path, name: str, extra: dict[str, bytes] | None = None, *,
                  compress: bool = True) -> Path:
    """An OCI image-layout tarball holding one image called `name`."""
    uncompressed = _layer(_image_files(extra), compress=False)
    layer = gzip.compress(uncompressed, compresslevel=1, mtime=0) if compress else uncompressed
    config = _config(_sha(uncompressed))
    layer_type = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compress else "")
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _sha(config),
                   "size": len(config)},
        "layers": [{"mediaType": layer_type, "digest": _sha(layer), "size": len(layer)}],
    }).encode()
    index = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": _sha(manifest),
                       "size": len(manifest), "platform": {"architecture": "amd64", "os": "linux"},
                       "annotations": {"io.containerd.image.name": name,
                                       "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]}}],
    }).encode()
    with tarfile.open(path, "w") as tar:
        _add(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add(tar, "index.json", index)
        for blob in (layer, config, manifest):
            _add(tar, "blobs/sha256/" + _sha(blob).removeprefix("sha256:"), blob)
    return path


def build_docker_tar(path: Path, name: str, extra: dict[str, bytes] | None = None) -> Path:
    """A `docker save` archive holding one image tagged `name`."""
    layer = _layer(_image_files(extra), compress=False)
    config = _config(_sha(layer))
    config_name = _sha(config).removeprefix("sha256:") + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [name], "Layers": ["layer0/layer.tar"]}])
    with tarfile.open(path, "w") as tar:
        _add(tar, "manifest.json", manifest.encode())
        _add(tar, config_name, config)
        _add(tar, "layer0/layer.tar", layer)
    return path


# --- containerd under tmp ------------------------------------------------------------------------------
def shim_sockets() -> set[str]:
    """The shim sockets containerd 1.6 always puts in /run/containerd/s (environment.md 4)."""
    return set(os.listdir(SHIM_DIR)) if SHIM_DIR.is_dir() else set()


def remove_new_shim_sockets(before: set[str]) -> None:
    """Remove shim sockets a test created; never ones that were there before it."""
    for name in shim_sockets() - before:
        with contextlib.suppress(OSError):
            (SHIM_DIR / name).unlink()


@contextlib.contextmanager
def private_worker_paths(prefix: str) -> Iterator[Paths]:
    """Worker paths under a short new /tmp dir (a unix socket path holds at most 107 bytes); the dir and
    any containerd shim socket created meanwhile in the shared /run/containerd/s are removed afterwards."""
    import shutil
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    before = shim_sockets()
    try:
        yield worker_paths(tmp)
    finally:
        remove_new_shim_sockets(before)
        shutil.rmtree(tmp, ignore_errors=True)


def worker_paths(tmp: Path) -> Paths:
    """Data, run and etc dirs under tmp (short: unix socket paths are limited to 107 bytes)."""
    return Paths.build(tmp / "d", run_dir=tmp / "r", etc_dir=tmp / "e")


@dataclass
class Daemon:
    """A containerd started by a test; `stop()` is idempotent."""

    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def start_containerd(argv: list[str], log: Path, socket: Path) -> Daemon:
    """Spawn containerd with `argv` (binary first) and wait for its socket."""
    with log.open("ab") as out:
        popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while not socket.exists():
        if popen.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"containerd did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.02)
    return Daemon(popen, log)
