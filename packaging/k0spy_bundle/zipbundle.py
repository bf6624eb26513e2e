"""Writing the bundle: a ZIP of binaries (flat names, sorted, as k0s's hack/zip-files) plus a manifest.

Members are deflated at level 9 by default, as in k0s: level 9 costs time once at build but inflates
as fast as any level, and every `unzip` can read it (zstd members inflate about 1.7x faster but neither
Info-ZIP unzip nor Python's zipfile before 3.14 can read them). `stored` trades a 3x larger artifact for
extraction at copy speed. The archive comment holds a one-line summary that `k0spy version` reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from k0spy import __version__
from k0spy.assets.payload import MANIFEST_NAME, NON_BINARY_ENTRIES, render_summary
from k0spy.errors import K0spyError

COMPRESSION = {"deflate": zipfile.ZIP_DEFLATED, "stored": zipfile.ZIP_STORED}


@dataclass
class BundleSpec:
    """What goes into a bundle: binaries by name, their versions, and what kind of bundle it is."""

    binaries: dict[str, Path]
    arch: str
    kind: str = "release"  # "release" or "dev"
    description: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def collect_dir(directory: Path) -> dict[str, Path]:
    """Every regular executable file directly in `directory`, by name (symlinks followed)."""
    if not directory.is_dir():
        raise K0spyError(f"binary directory {directory} does not exist")
    found = {}
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith(".") or entry.name in NON_BINARY_ENTRIES:
            continue
        if entry.is_file() and os.access(entry, os.X_OK):
            found[entry.name] = entry.resolve()
    return found


def manifest_for(spec: BundleSpec) -> dict[str, Any]:
    binaries = {}
    for name in sorted(spec.binaries):
        path = spec.binaries[name]
        binaries[name] = {
            "version": spec.versions.get(name, "unknown"),
            "sha256": sha256_file(path),
            "size": path.stat().st_size,
            "source": spec.sources.get(name, str(path)),
        }
    return {
        "format": 1, "kind": spec.kind, "arch": spec.arch, "description": spec.description,
        "k0spy": __version__, "built": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "binaries": binaries,
    }


def summary_of(manifest: dict[str, Any], **extra: str) -> str:
    fields = {"kind": manifest["kind"], "arch": manifest["arch"], "k0spy": manifest["k0spy"]}
    if manifest.get("description"):
        fields["description"] = manifest["description"]
    return render_summary({**fields, **extra})


def write_bundle(
    spec: BundleSpec, out: Path, *, compression: str = "deflate", level: int = 9
) -> dict[str, Any]:
    """Write the bundle ZIP to `out` (atomically: a temp file renamed at the end); return its manifest."""
    manifest = manifest_for(spec)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", COMPRESSION[compression], compresslevel=level) as archive:
            for name in sorted(spec.binaries):
                # write() streams the file with the archive's method and level; mode bits come from
                # the source file, which collect_dir only accepts when executable.
                archive.write(spec.binaries[name], arcname=name)
            archive.writestr(MANIFEST_NAME, json.dumps(manifest, indent=2) + "\n")
            archive.comment = summary_of(manifest).encode()
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return manifest


def extract_k0s_payload(k0s_executable: Path, dest: Path, names: list[str] | None = None) -> dict[str, Path]:
    """Unpack the ZIP appended to a k0s executable into `dest`; return the binaries by name."""
    try:
        archive = zipfile.ZipFile(k0s_executable)
    except (OSError, zipfile.BadZipFile) as err:
        raise K0spyError(f"{k0s_executable} carries no ZIP payload: {err}",
                         "use a k0s release executable, not a bare build") from err
    found: dict[str, Path] = {}
    with archive:
        for info in archive.infolist():
            if info.is_dir() or "/" in info.filename or (names and info.filename not in names):
                continue
            target = dest / info.filename
            with archive.open(info) as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            target.chmod(0o755)
            found[info.filename] = target
    return found
