"""The version report, without click: `k0spy version` is answered from here on the fast path.

Imports only the standard library and k0spy's import-free modules, so the whole command costs about one
interpreter start-up (the floor) plus reading the tail of the bundle file.
"""

from __future__ import annotations

import json
import platform

from k0spy import __version__
from k0spy.pins import COMPONENT_VERSIONS


def version_info() -> dict[str, str]:
    from k0spy.assets.payload import describe, locate_bundle  # reads the file's tail only: cheap

    return {"k0spy": __version__, "python": platform.python_version(), **COMPONENT_VERSIONS,
            "bundle": describe(locate_bundle())}


def render(output: str) -> str:
    """`short`, `json` or `text` (one `name: value` line per entry)."""
    if output == "short":
        return f"v{__version__}\n"
    info = version_info()
    if output == "json":
        return json.dumps(info, indent=2) + "\n"
    width = max(len(name) for name in info)
    lines = []
    for name, value in info.items():
        prefix = "" if name in ("python", "bundle") else "v"
        lines.append(f"{name + ':':<{width + 1}} {prefix}{value}")
    return "\n".join(lines) + "\n"
