"""The single-file release artifact: a two-line shell stub, then one ZIP holding everything.

    #!/bin/sh
    exec "${K0SPY_PYTHON:-python3}" "$0" "$@"
    <ZIP: kubelet, etcd, ... (the bundle, as k0s appends it), k0spy-bundle.json, k0spy-site.zip, __main__.py>

The shell execs python on the file itself; Python runs a ZIP with a `__main__.py` as an application, and
ignores the bytes before it (so does `unzip`, with a warning). The launcher (launcher.py) unpacks the k0spy
code and its dependencies once into a cache dir and runs the CLI; staging reads the binaries from the same
file. Why this over zipapp alone, shiv, pex or PyInstaller is in the README ("The single-file artifact").
"""

from __future__ import annotations

import compileall
import hashlib
import importlib.metadata as metadata
import os
import platform
import py_compile
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from k0spy.assets.payload import MANIFEST_NAME, SITE_NAME, parse_summary, render_summary
from k0spy.errors import K0spyError

STUB = b'#!/bin/sh\nexec "${K0SPY_PYTHON:-python3}" -S "$0" "$@"\n'
LAUNCHER = Path(__file__).with_name("launcher.py")
K0SPY_SOURCE = Path(__file__).resolve().parents[2] / "k0spy"


def _requirement_names(dist: metadata.Distribution) -> list[str]:
    from packaging.requirements import Requirement  # PyPI's packaging (always present next to pip)

    names = []
    for text in dist.requires or []:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            names.append(req.name)
    return names


def dependency_closure(root: str = "k0spy") -> list[metadata.Distribution]:
    """The installed distributions k0spy needs at run time (its requirements, recursively)."""
    seen: dict[str, metadata.Distribution] = {}
    todo = _requirement_names(metadata.distribution(root))
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError as err:
            raise K0spyError(f"dependency {name} of k0spy is not installed in {sys.prefix}") from err
        seen[name] = dist
        todo.extend(_requirement_names(dist))
    return list(seen.values())


def build_site(dest: Path) -> None:
    """Copy k0spy and its dependency closure into `dest` (a site-packages tree), then byte-compile it."""
    shutil.copytree(K0SPY_SOURCE, dest / "k0spy", ignore=shutil.ignore_patterns("__pycache__"))
    for dist in dependency_closure():
        for file in dist.files or []:
            if file.parts[0] == ".." or "__pycache__" in file.parts:
                continue
            source = Path(str(dist.locate_file(file)))
            if source.is_file():
                target = dest / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    # Unchecked-hash .pyc files: valid whatever mtimes the unpacked sources get, so no start ever
    # recompiles (a ZIP keeps mtimes to 2 s, and extraction does not restore them at all).
    compileall.compile_dir(dest, quiet=1, workers=os.cpu_count() or 1,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)


def zip_dir(directory: Path, out: Path) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())


def launcher_text(site_key: str) -> str:
    text = LAUNCHER.read_text()
    for marker, value in (("@SITE_KEY@", site_key), ("@MACHINE@", platform.machine()),
                          ("@PYTHON@", f"{sys.version_info.major}.{sys.version_info.minor}")):
        text = text.replace(marker, value)
    return text


def build_artifact(out: Path, bundle: Path | None) -> Path:
    """Write the single-file artifact `out`: stub + (bundle ZIP, if any) + site + launcher."""
    with tempfile.TemporaryDirectory(prefix="k0spy-artifact-") as work:
        site = Path(work) / "site"
        build_site(site)
        site_zip = Path(work) / SITE_NAME
        zip_dir(site, site_zip)
        site_key = hashlib.sha256(site_zip.read_bytes()).hexdigest()[:16]
        tmp = out.with_name(f".{out.name}.tmp")
        try:
            _assemble(tmp, bundle, site_zip, launcher_text(site_key), site_key)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
    return out


def _assemble(tmp: Path, bundle: Path | None, site_zip: Path, launcher: str, site_key: str) -> None:
    fields = {"kind": "bare", "arch": _arch()}
    if bundle is not None:
        with zipfile.ZipFile(bundle) as source:
            if MANIFEST_NAME not in source.namelist():
                raise K0spyError(f"{bundle} is not a k0spy bundle (no {MANIFEST_NAME})",
                                 "build one with `build.py bundle` (a k0s executable is a source for that)")
            fields = parse_summary(source.comment.decode("utf-8", "replace"))
    with open(tmp, "wb") as handle:
        handle.write(STUB)
        if bundle is not None:
            with open(bundle, "rb") as src:
                shutil.copyfileobj(src, handle, 1 << 20)
    # Mode "a" keeps the bundle's members as they are (no recompression) and rewrites the central
    # directory with offsets from the start of the file, as `zip -A` does for self-extracting archives;
    # on the bare stub (not a ZIP) it starts a new archive after it.
    with zipfile.ZipFile(tmp, "a") as archive:
        archive.write(site_zip, SITE_NAME, compress_type=zipfile.ZIP_STORED)
        archive.writestr("__main__.py", launcher, compress_type=zipfile.ZIP_DEFLATED)
        archive.comment = render_summary({**fields, "site": site_key}).encode()
    os.chmod(tmp, 0o755)


def _arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
