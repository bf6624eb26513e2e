"""Finding and reading the bundle: the ZIP of component binaries that k0spy carries.

k0s appends a ZIP of its binaries to its own executable. k0spy does the same: the single-file artifact is a
Python launcher stub followed by one ZIP that holds the binaries (flat names, as in k0s), the k0spy code,
and a manifest `k0spy-bundle.json` (name, version, sha256, size of each binary, and whether this is a dev
bundle). A bare bundle ZIP, or a k0s release executable, is read the same way: `zipfile` skips data
prepended to an archive.

Where the payload comes from, first match wins:
  1. an explicit path (a `--bundle FILE` option of a command),
  2. `K0SPY_BUNDLE` (development: a bundle ZIP or a k0s executable),
  3. `K0SPY_ARTIFACT`, set by the single-file artifact's launcher to its own path (k0s's os.Executable()).

The archive comment carries a one-line summary (`k0spy-bundle kind=dev ...`) so that `k0spy version` can
say which bundle is running by reading the last bytes of the file, without importing `zipfile` or
decompressing anything.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from k0spy.errors import K0spyError

if TYPE_CHECKING:
    import zipfile

MANIFEST_NAME = "k0spy-bundle.json"
SITE_NAME = "k0spy-site.zip"
COMMENT_PREFIX = "k0spy-bundle"
BUNDLE_ENV = "K0SPY_BUNDLE"
ARTIFACT_ENV = "K0SPY_ARTIFACT"
# Entries of the artifact's ZIP that are not binaries.
NON_BINARY_ENTRIES = frozenset({MANIFEST_NAME, SITE_NAME, "__main__.py"})

_EOCD_SIGNATURE = b"PK\x05\x06"
_EOCD_SIZE = 22
_MAX_COMMENT = 0xFFFF


def locate_bundle(explicit: Path | str | None = None, environ: dict[str, str] | None = None) -> Path | None:
    """The file to read binaries from, or None when this k0spy carries no payload."""
    env = os.environ if environ is None else environ
    for candidate in (explicit, env.get(BUNDLE_ENV), env.get(ARTIFACT_ENV)):
        if candidate:
            return Path(os.path.abspath(candidate))
    return None


def read_comment(path: Path) -> str | None:
    """The ZIP archive comment of `path`, read from the file's tail; None if `path` is not a ZIP."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            tail_len = min(size, _EOCD_SIZE + _MAX_COMMENT)
            handle.seek(size - tail_len)
            tail = handle.read(tail_len)
    except OSError:
        return None
    index = tail.rfind(_EOCD_SIGNATURE)
    while index >= 0:
        (comment_len,) = struct.unpack_from("<H", tail, index + 20)
        if index + _EOCD_SIZE + comment_len == len(tail):
            return tail[index + _EOCD_SIZE :].decode("utf-8", "replace")
        index = tail.rfind(_EOCD_SIGNATURE, 0, index)
    return None


def parse_summary(comment: str | None) -> dict[str, str]:
    """`k0spy-bundle kind=dev arch=amd64 ...` -> {"kind": "dev", ...}; {} when not a k0spy bundle."""
    if not comment or not comment.startswith(COMMENT_PREFIX + " "):
        return {}
    line = comment.splitlines()[0]
    fields: dict[str, str] = {}
    for part in line[len(COMMENT_PREFIX) + 1 :].split(";"):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def render_summary(fields: dict[str, str]) -> str:
    """The inverse of `parse_summary`: `;` separates fields so that descriptions may hold spaces."""
    return COMMENT_PREFIX + " " + "; ".join(f"{key}={value}" for key, value in fields.items())


def describe(path: Path | None) -> str:
    """One line for `k0spy version`: what payload this k0spy carries (cheap: reads the file's tail)."""
    if path is None:
        return "none (binaries from DATA/bin or PATH)"
    comment = read_comment(path)
    if comment is None and not path.is_file():
        return f"missing: {path} does not exist"
    fields = parse_summary(comment)
    if not fields:
        return f"{path} (no k0spy manifest: every entry is a binary, as in a k0s executable)"
    if fields.get("kind") == "bare":
        return f"none (bare artifact {path}: binaries from DATA/bin or PATH)"
    text = fields.get("kind", "release")
    if fields.get("description"):
        text += f" ({fields['description']})"
    return f"{text}, linux-{fields.get('arch', '?')}, {path}"


@dataclass(frozen=True)
class Entry:
    """One binary in the bundle: its member name, size once extracted, and (when known) sha256."""

    name: str
    size: int
    sha256: str | None
    version: str | None


class Bundle:
    """An open bundle: the binaries it holds and its manifest. Use as a context manager."""

    def __init__(self, path: Path) -> None:
        import zipfile

        self.path = path
        try:
            stat = os.stat(path)
            self._zip = zipfile.ZipFile(path)
        except FileNotFoundError as err:
            raise K0spyError(f"bundle {path} does not exist", f"unset {BUNDLE_ENV} or fix the path") from err
        except (OSError, zipfile.BadZipFile) as err:
            raise K0spyError(
                f"bundle {path} is not a readable ZIP payload: {err}",
                "build one with `python packaging/build.py bundle` or point at a k0s executable",
            ) from err
        self.mtime_ns = stat.st_mtime_ns
        self.manifest = self._read_manifest()
        self.entries = self._entries()

    @property
    def zip(self) -> zipfile.ZipFile:
        return self._zip

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind", "k0s" if not self.manifest else "release"))

    def _read_manifest(self) -> dict[str, Any]:
        try:
            raw = self._zip.read(MANIFEST_NAME)
        except KeyError:
            return {}
        try:
            data = json.loads(raw)
        except ValueError as err:
            raise K0spyError(f"bundle {self.path}: {MANIFEST_NAME} is not valid JSON: {err}") from err
        if not isinstance(data, dict):
            raise K0spyError(f"bundle {self.path}: {MANIFEST_NAME} is not a JSON object")
        return data

    def _entries(self) -> dict[str, Entry]:
        listed: dict[str, Any] = self.manifest.get("binaries", {})
        entries: dict[str, Entry] = {}
        for info in self._zip.infolist():
            if info.is_dir() or "/" in info.filename or info.filename in NON_BINARY_ENTRIES:
                continue
            meta = listed.get(info.filename, {})
            entries[info.filename] = Entry(
                info.filename, info.file_size, meta.get("sha256"), meta.get("version")
            )
        return entries

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
