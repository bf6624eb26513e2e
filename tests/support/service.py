"""Helpers for the service, install and reset tests: install roots, OpenRC in a mount namespace,
a busybox OCI image, a containerd on a test's own paths.

Nothing here touches the machine's /etc, users, init system or /var/lib/k0s: installs go into a temp root
whose /etc is a minimal skeleton, and OpenRC runs in a private mount namespace where its state (/run),
its scripts (/etc) and its programs (/usr/lib/rc, /usr/sbin) are overlays that vanish with the namespace.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

OPENRC_PACKAGES = ("openrc", "librc1", "libeinfo1")
OPENRC_CACHE = Path(os.environ.get("K0SPY_TEST_OPENRC", "/var/cache/k0spy-tests/openrc"))
IMAGE_NAME = "docker.io/library/k0spy-reset-test:1"

SLEEPER = textwrap.dedent("""\
    #!/usr/bin/python3
    # Stands in for `k0spy controller` until that command exists: logs its argv and environment,
    # runs until SIGTERM, then exits 0 (as the daemon does after stopping its children).
    import json, os, signal, sys, time
    def stop(*_):
        print("stopping on SIGTERM", flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    print(json.dumps({"argv": sys.argv[1:], "env": os.environ.get("K0SPY_TEST_ENV")}), flush=True)
    while True:
        time.sleep(1)
""")


def make_root(root: Path) -> Path:
    """An install root with a minimal /etc: root user and group only, no login.defs surprises."""
    etc = root / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (etc / "group").write_text("root:x:0:\nusers:x:100:\n")
    (etc / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    (etc / "gshadow").write_text("root:*::\n")
    os.chmod(etc / "shadow", 0o640)
    os.chmod(etc / "gshadow", 0o640)
    (etc / "login.defs").write_text("SYS_UID_MIN 100\nSYS_UID_MAX 999\nSYS_GID_MIN 100\nSYS_GID_MAX 999\n"
                                    "USERGROUPS_ENAB yes\n")
    return root


def passwd_names(root: Path) -> list[str]:
    return [line.split(":", 1)[0] for line in (root / "etc/passwd").read_text().splitlines() if line]


def write_sleeper(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SLEEPER)
    path.chmod(0o755)
    return path


def openrc_tree() -> Path:
    """Debian's openrc (and its two libraries) unpacked, not installed: installing it would register
    it with dpkg and its maintainer scripts as this machine's rc system. Fetched once with apt."""
    marker = OPENRC_CACHE / "sbin" / "openrc-run"
    if marker.exists():
        return OPENRC_CACHE
    debs = OPENRC_CACHE.parent / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", *OPENRC_PACKAGES], cwd=debs, check=True, capture_output=True)
    staging = OPENRC_CACHE.with_name("openrc.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(staging)], check=True)
    staging.rename(OPENRC_CACHE)
    return OPENRC_CACHE


def openrc_namespace_script(tree: Path, root: Path, body: str) -> str:
    """A shell script that gives OpenRC a private world, then runs `body` in it."""
    return textwrap.dedent(f"""\
        set -e
        mount -t overlay overlay -o lowerdir={tree}/lib:/usr/lib /usr/lib
        mount -t overlay overlay -o lowerdir={tree}/sbin:/usr/sbin /usr/sbin
        mount -t overlay overlay -o lowerdir={root}/etc:/etc /etc
        mount -t tmpfs tmpfs /run
        mount -t tmpfs tmpfs /var/log
        mkdir -p /run/openrc && cd /run/openrc
        mkdir -p started starting stopping inactive wasinactive failed hotplugged daemons options \\
            exclusive scheduled tmp
        touch softlevel
        cd /
        set +e
    """) + body


def run_in_openrc_namespace(tree: Path, root: Path, body: str, timeout: float = 120,
                            ) -> subprocess.CompletedProcess[str]:
    """Run the script under `unshare --mount`; every process it leaves is killed by the caller."""
    script = openrc_namespace_script(tree, root, body)
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                          capture_output=True, text=True, timeout=timeout, check=False)


def kill_matching(needle: str) -> None:
    """Kill processes whose command line contains `needle` (a test-unique temp path), never others."""
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            cmdline = (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmdline and int(pid_dir.name) != os.getpid():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_dir.name), signal.SIGKILL)


# --- an OCI image with busybox-static ---------------------------------------------------------------
def _blob(blobs: dict[str, bytes], data: bytes) -> dict[str, object]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return {"digest": digest, "size": len(data)}


def _add(tar: tarfile.TarFile, name: str, data: bytes | None = None, *, link: str | None = None,
         mode: int = 0o755, is_dir: bool = False) -> None:
    info = tarfile.TarInfo(name)
    info.mode = mode
    if is_dir:
        info.type = tarfile.DIRTYPE
    elif link is not None:
        info.type, info.linkname = tarfile.SYMTYPE, link
    else:
        info.size = len(data or b"")
    tar.addfile(info, io.BytesIO(data or b"") if not is_dir and link is None else None)


def busybox_image(path: Path, busybox: Path = Path("/bin/busybox")) -> Path:
    """An OCI layout tarball (one layer: busybox with sh and sleep links) that `ctr images import` takes."""
    layer_io = io.BytesIO()
    with tarfile.open(fileobj=layer_io, mode="w") as tar:
        for directory in ("bin", "etc", "tmp", "proc", "dev", "sys"):
            _add(tar, directory, is_dir=True)
        _add(tar, "bin/busybox", busybox.read_bytes())
        for applet in ("sh", "sleep"):
            _add(tar, f"bin/{applet}", link="busybox")
    layer = layer_io.getvalue()
    blobs: dict[str, bytes] = {}
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Cmd": ["/bin/sleep", "100000"]},
              "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}
    manifest = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   **_blob(blobs, json.dumps(config).encode())},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    **_blob(blobs, gzip.compress(layer, mtime=0))}],
    }
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        **_blob(blobs, json.dumps(manifest).encode()),
        "annotations": {"io.containerd.image.name": IMAGE_NAME, "org.opencontainers.image.ref.name": "1"},
    }]}
    with tarfile.open(path, "w") as tar:
        _add(tar, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode(), mode=0o644)
        _add(tar, "index.json", json.dumps(index).encode(), mode=0o644)
        for digest, data in blobs.items():
            _add(tar, f"blobs/sha256/{digest.split(':', 1)[1]}", data, mode=0o644)
    return path


@contextlib.contextmanager
def containerd(data_dir: Path, run_dir: Path, config: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real containerd on k0spy's paths (DATA/containerd, RUN/containerd, RUN/containerd.sock)."""
    socket = run_dir / "containerd.sock"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("version = 2\n")
    proc = subprocess.Popen(
        ["containerd", f"--root={data_dir / 'containerd'}", f"--state={run_dir / 'containerd'}",
         f"--address={socket}", f"--config={config}", "--log-level=error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while ctr(socket, "version").returncode != 0:
            assert proc.poll() is None and time.monotonic() < deadline, "containerd did not start"
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def ctr(socket: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ctr", "--address", str(socket), *args], capture_output=True, text=True,
                          timeout=60, check=False)
