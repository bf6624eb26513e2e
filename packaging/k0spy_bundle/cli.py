"""`python packaging/build.py`: pin, fetch, bundle, artifact, dev-bundle (see each `--help`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from k0spy.errors import K0spyError
from k0spy.fsutil import CONFIG_FILE_MODE, atomic_write

from . import components
from .artifact import build_artifact
from .zipbundle import BundleSpec, collect_dir, extract_k0s_payload, write_bundle

DEBIAN_BINARIES = ("etcd", "containerd", "containerd-shim-runc-v2", "runc")
DEV_DESCRIPTION = "Debian etcd/containerd/runc + test doubles"
DEV_DESCRIPTION_NO_DOUBLES = "Debian etcd/containerd/runc only"
REPO = Path(__file__).resolve().parents[2]


def host_arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


async def pin(arches: list[str]) -> dict[str, str]:
    """Fetch the upstream checksum files of every pinned version and write checksums.json."""
    from .download import fetch_text

    sums = components.load_checksums()
    for arch in arches:
        artifacts = {b.artifact.key: b.artifact for b in components.binaries(arch) if b.artifact}
        release = components.k0s_release(arch)
        artifacts[release.key] = release
        for key, artifact in sorted(artifacts.items()):
            if artifact.checksum_url is None:
                continue
            text = await fetch_text(artifact.checksum_url)
            sums[key] = components.parse_checksum_file(text, artifact.checksum_format, artifact.checksum_name)
            print(f"pinned {key} = {sums[key]}", file=sys.stderr)
    data = json.loads(components.CHECKSUMS_FILE.read_text())
    data["sha256"] = dict(sorted(sums.items()))
    atomic_write(components.CHECKSUMS_FILE, json.dumps(data, indent=2) + "\n", CONFIG_FILE_MODE)
    return sums


def _require_pin(artifact: components.Artifact) -> str:
    if artifact.sha256 is None:
        raise K0spyError(f"{artifact.key} has no pinned sha256 in {components.CHECKSUMS_FILE}",
                         "run `python packaging/build.py pin` (needs internet) and commit checksums.json")
    return artifact.sha256


async def fetch_upstream(
    arch: str, cache: Path, out: Path, manifest: dict[str, Any] | None = None,
    sums: dict[str, str] | None = None,
) -> dict[str, Path]:
    """Download and verify every url/tar binary for `arch` into `out` (archives cached in `cache`).

    Every file must have a pinned sha256: nothing unpinned is downloaded. An archive shared by several
    binaries (containerd's) is fetched once.
    """
    from .download import download

    cache.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    found: dict[str, Path] = {}
    for binary in components.binaries(arch, manifest, sums):
        if binary.artifact is None:
            continue
        file = cache / binary.artifact.key.replace("/", "_").replace(":", "_")
        await download(binary.artifact.url, file, _require_pin(binary.artifact), label=binary.name)
        target = out / binary.name
        if binary.source == "tar":
            with tarfile.open(file) as archive:
                member = archive.extractfile(binary.member or "")
                if member is None:
                    raise K0spyError(f"{binary.artifact.url} has no file {binary.member}")
                target.write_bytes(member.read())
        else:
            target.write_bytes(file.read_bytes())
        target.chmod(0o755)
        found[binary.name] = target
    return found


async def fetch_k0s(arch: str, cache: Path) -> Path:
    from .download import download

    release = components.k0s_release(arch)
    cache.mkdir(parents=True, exist_ok=True)
    file = cache / release.key.replace("/", "_").replace(":", "_")
    return await download(release.url, file, _require_pin(release), label="k0s")


def debian_version(path: Path) -> str:
    """The Debian package version of `path` ("unknown" when dpkg does not own it)."""
    owner = subprocess.run(["dpkg", "-S", str(path.resolve())], capture_output=True, text=True, check=False)
    if owner.returncode != 0:
        return "unknown"
    package = owner.stdout.split(":", 1)[0]
    version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True,
                             text=True, check=False)
    return f"debian-{version.stdout.strip()}" if version.returncode == 0 else "unknown"


def dev_sources(
    work: Path, doubles_python: str | None = None
) -> tuple[dict[str, Path], dict[str, str], dict[str, str]]:
    """Debian's binaries plus the test doubles (tests/doubles/layout.py), when that layout exists.

    The doubles are zipapps whose `#!` line names `doubles_python` (default: the interpreter running the
    build, i.e. the repository's venv), which must have their dependencies: a dev bundle is for this
    machine and CI, not for copying elsewhere.
    """
    binaries, versions, sources = {}, {}, {}
    for name in DEBIAN_BINARIES:
        path = Path("/usr/bin") / name
        if not path.exists():
            raise K0spyError(f"{path} is missing", "apt-get install -y etcd-server containerd runc")
        binaries[name], versions[name], sources[name] = path.resolve(), debian_version(path), f"debian:{path}"
    if (REPO / "tests" / "doubles" / "layout.py").exists():
        doubles = work / "doubles"
        python = doubles_python or sys.executable
        subprocess.run([sys.executable, "-m", "tests.doubles.layout", str(doubles), "--python", python],
                       cwd=REPO, check=True, stdout=subprocess.DEVNULL)
        for name, path in collect_dir(doubles).items():
            binaries.setdefault(name, path)
            versions.setdefault(name, "double")
            sources.setdefault(name, f"test-double (runs with {python})")
    else:
        print("tests/doubles/layout.py not found: the dev bundle holds the Debian binaries only",
              file=sys.stderr)
    return binaries, versions, sources


async def cmd_bundle(args: argparse.Namespace) -> None:
    binaries: dict[str, Path] = {}
    versions: dict[str, str] = {b.name: b.version for b in components.binaries(args.arch)}
    sources: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="k0spy-bundle-") as tmp:
        work = Path(tmp)
        if args.upstream:
            for name, path in (await fetch_upstream(args.arch, args.cache, work / "upstream")).items():
                binaries[name], sources[name] = path, "upstream"
        if args.k0s or args.k0s_release:
            k0s = args.k0s or await fetch_k0s(args.arch, args.cache)
            for name, path in extract_k0s_payload(k0s, _mkdir(work / "k0s")).items():
                if name not in binaries:
                    binaries[name], sources[name] = path, f"k0s:{k0s.name}"
        for directory in args.dir or []:
            for name, path in collect_dir(directory).items():
                binaries[name], sources[name] = path, f"dir:{path}"
        if not binaries:
            raise K0spyError("no binaries to bundle", "give --dir DIR, --upstream or --k0s FILE")
        spec = BundleSpec(binaries, args.arch, "dev" if args.dev else "release", args.description or "",
                          versions, sources)
        _write(spec, args.output, args.compression)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write(spec: BundleSpec, out: Path, compression: str) -> None:
    manifest = write_bundle(spec, out, compression=compression)
    total = sum(b["size"] for b in manifest["binaries"].values())
    print(f"wrote {out}: {len(manifest['binaries'])} binaries, {total / 2**20:.1f} MiB -> "
          f"{out.stat().st_size / 2**20:.1f} MiB ({compression}), kind={spec.kind}", file=sys.stderr)


def cmd_dev_bundle(args: argparse.Namespace) -> None:
    args.output.mkdir(parents=True, exist_ok=True)
    arch = host_arch()
    bundle = args.output / f"k0spy-dev-bundle-linux-{arch}.zip"
    with tempfile.TemporaryDirectory(prefix="k0spy-dev-") as tmp:
        binaries, versions, sources = dev_sources(Path(tmp), args.doubles_python)
        doubles = any(source.startswith("test-double") for source in sources.values())
        description = DEV_DESCRIPTION if doubles else DEV_DESCRIPTION_NO_DOUBLES
        spec = BundleSpec(binaries, arch, "dev", description, versions, sources)
        _write(spec, bundle, args.compression)
    if not args.no_artifact:
        artifact = build_artifact(args.output / f"k0spy-dev-linux-{arch}", bundle)
        print(f"wrote {artifact}", file=sys.stderr)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="build.py", description="Build k0spy bundles and the single-file "
                                   "artifact (see README, 'Building the bundle').")
    sub = root.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pin", help="fetch upstream checksum files, write packaging/checksums.json")
    p.add_argument("--arch", action="append", choices=components.ARCHES)
    p = sub.add_parser("bundle", help="build a bundle ZIP from upstream, a k0s executable and/or dirs")
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--arch", default=host_arch(), choices=components.ARCHES)
    p.add_argument("--dir", type=Path, action="append", help="a directory of binaries (repeatable; wins)")
    p.add_argument("--upstream", action="store_true", help="download the official releases (pinned)")
    p.add_argument("--k0s", type=Path, help="a k0s release executable: its payload fills what is missing")
    p.add_argument("--k0s-release", action="store_true", help="download the pinned k0s release for that")
    p.add_argument("--cache", type=Path, default=REPO / ".cache" / "downloads")
    p.add_argument("--dev", action="store_true", help="mark as a dev bundle (logs and `version` say so)")
    p.add_argument("--description", help="free text shown by `k0spy version`")
    p.add_argument("--compression", choices=("deflate", "stored"), default="deflate")
    p = sub.add_parser("artifact", help="build the single-file k0spy artifact (optionally with a bundle)")
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--bundle", type=Path, help="the bundle ZIP to carry (none: a bare artifact)")
    p = sub.add_parser("dev-bundle", help="offline dev bundle: Debian binaries + test doubles, + artifact")
    p.add_argument("-o", "--output", type=Path, default=REPO / "dist")
    p.add_argument("--compression", choices=("deflate", "stored"), default="deflate")
    p.add_argument("--no-artifact", action="store_true", help="only the bundle ZIP")
    p.add_argument("--doubles-python", help="interpreter for the doubles' #! line (default: this one)")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "pin":
            asyncio.run(pin(args.arch or list(components.ARCHES)))
        elif args.command == "bundle":
            asyncio.run(cmd_bundle(args))
        elif args.command == "artifact":
            print(f"wrote {build_artifact(args.output, args.bundle)}", file=sys.stderr)
        else:
            cmd_dev_bundle(args)
    except K0spyError as err:
        print(err.render(), file=sys.stderr)
        return 1
    return 0
