# The `__main__.py` of the single-file artifact (a template: the builder fills the @...@ markers).
#
# Python runs it from the ZIP at the end of the artifact. It unpacks the k0spy code and its dependencies
# (k0spy-site.zip, with the compiled .so files that cannot be imported from a ZIP) once into a cache dir
# keyed by their hash, puts that dir on sys.path, tells k0spy where its payload is (K0SPY_ARTIFACT, the
# equivalent of k0s's os.Executable()) and runs the CLI. Every later start only stats the cache dir.
from __future__ import annotations

import os
import sys
from typing import NoReturn

SITE_KEY = "@SITE_KEY@"
PYTHON = "@PYTHON@"
MACHINE = "@MACHINE@"


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"Error: {message}\n")
    sys.exit(1)


def _cache_root() -> str:
    explicit = os.environ.get("K0SPY_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "k0spy")


def _unpack(artifact: str, target: str) -> None:
    import shutil
    import tempfile
    import zipfile

    os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".site-", dir=os.path.dirname(target))
    try:
        with (zipfile.ZipFile(artifact) as outer, outer.open("k0spy-site.zip") as inner,
              zipfile.ZipFile(inner) as site):
            site.extractall(tmp)
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, target)
        except OSError:
            if not os.path.isdir(target):  # lost a race with another start: theirs is as good
                raise
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def run() -> None:
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if running != PYTHON:
        _fail(f"this k0spy artifact needs Python {PYTHON} (it carries compiled modules for it), "
              f"{sys.executable} is {running}; set K0SPY_PYTHON to a python{PYTHON}")
    if os.uname().machine != MACHINE:
        _fail(f"this k0spy artifact is built for {MACHINE}, this machine is {os.uname().machine}")
    artifact = os.path.realpath(sys.argv[0])
    target = os.path.join(_cache_root(), f"site-{SITE_KEY}")
    if not os.path.isdir(target):
        try:
            _unpack(artifact, target)
        except OSError as err:
            _fail(f"unpacking the k0spy code of {artifact} into {target}: {err}; "
                  "set K0SPY_CACHE_DIR to a writable directory")
    sys.path[0] = target
    os.environ["K0SPY_ARTIFACT"] = artifact
    from k0spy.cli.main import main

    main()


if __name__ == "__main__":
    run()
