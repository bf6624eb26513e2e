"""The pinned component manifest: components.toml (where) + k0spy/pins.py (which version) + checksums.json.

Pure reading and rendering: which URL to fetch for a binary on an arch, and which sha256 it must have.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from k0spy.errors import K0spyError
from k0spy.pins import COMPONENT_VERSIONS

HERE = Path(__file__).resolve().parent.parent
COMPONENTS_FILE = HERE / "components.toml"
CHECKSUMS_FILE = HERE / "checksums.json"
ARCHES = ("amd64", "arm64")


@dataclass(frozen=True)
class Artifact:
    """One downloadable file for one arch: its URL, pinned sha256 (None until pinned), checksum source."""

    key: str
    url: str
    sha256: str | None
    checksum_url: str | None
    checksum_format: str
    checksum_name: str | None


@dataclass(frozen=True)
class Binary:
    """A binary of the bundle: name, version, source kind, and (for tar sources) the member to take."""

    name: str
    component: str
    version: str
    source: str
    artifact: Artifact | None
    member: str | None


def load_manifest(path: Path = COMPONENTS_FILE) -> dict[str, Any]:
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def load_checksums(path: Path = CHECKSUMS_FILE) -> dict[str, str]:
    data = json.loads(path.read_text())
    sums: dict[str, str] = data.get("sha256", {})
    return sums


def version_of(component: str) -> str:
    try:
        return COMPONENT_VERSIONS[component]
    except KeyError as err:
        raise K0spyError(f"components.toml names version key {component!r}, not in k0spy/pins.py") from err


def _artifact(spec: dict[str, Any], component: str, arch: str, sums: dict[str, str]) -> Artifact:
    version = version_of(component)
    fill = {"version": version, "arch": arch}
    key = f"{component}@{version}/{arch}:{spec['url'].rsplit('/', 1)[-1].format(**fill)}"
    checksum_url = spec.get("checksum_url")
    name = spec.get("checksum_name")
    return Artifact(
        key=key,
        url=spec["url"].format(**fill),
        sha256=sums.get(key),
        checksum_url=checksum_url.format(**fill) if checksum_url else None,
        checksum_format=spec.get("checksum_format", "bare"),
        checksum_name=name.format(**fill) if name else None,
    )


def binaries(arch: str, manifest: dict[str, Any] | None = None,
             sums: dict[str, str] | None = None) -> list[Binary]:
    """Every binary of the manifest for `arch`, with its URL and pinned sha256 rendered."""
    if arch not in ARCHES:
        raise K0spyError(f"unknown arch {arch!r}", f"use one of {', '.join(ARCHES)}")
    manifest = load_manifest() if manifest is None else manifest
    sums = load_checksums() if sums is None else sums
    result = []
    for name, spec in manifest["binaries"].items():
        component = spec["version"]
        version = version_of(component)
        artifact = _artifact(spec, component, arch, sums) if spec["source"] in ("url", "tar") else None
        member = spec.get("member")
        result.append(Binary(name, component, version, spec["source"], artifact,
                             member.format(version=version, arch=arch) if member else None))
    return result


def k0s_release(arch: str, manifest: dict[str, Any] | None = None,
                sums: dict[str, str] | None = None) -> Artifact:
    """The k0s release executable whose payload supplies the binaries that have no upstream release."""
    manifest = load_manifest() if manifest is None else manifest
    sums = load_checksums() if sums is None else sums
    spec = manifest["k0s"]
    return _artifact(spec, spec["version"], arch, sums)


def parse_checksum_file(text: str, fmt: str, name: str | None) -> str:
    """The hex digest from an upstream checksum file: a bare digest, or the line naming `name`."""
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        digest = parts[0].lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            continue
        if fmt == "bare" or (len(parts) > 1 and parts[-1].lstrip("*") == name):
            return digest
    raise K0spyError(f"no sha256 for {name or 'the file'} in the checksum file",
                     "the upstream release layout may have changed: check components.toml")
