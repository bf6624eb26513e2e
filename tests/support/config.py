"""Helpers for ClusterConfig tests: load YAML text as k0spy does, with a fixed host address."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from k0spy.config.load import LoadedConfig, load_cluster_config
from k0spy.errors import ConfigError

CONFIGS_DIR = Path(__file__).resolve().parent.parent / "data" / "configs"
ADDRESS = "10.0.0.1"


def load_text(text: str | bytes, **kwargs: object) -> LoadedConfig:
    """Load `text` (dedented) as if it came on stdin; the host address is always ADDRESS."""
    data = text if isinstance(text, bytes) else textwrap.dedent(text).encode()
    kwargs.setdefault("address", ADDRESS)
    return load_cluster_config("-", stdin=io.BytesIO(data), **kwargs)  # type: ignore[arg-type]


def errors_of(text: str | bytes, **kwargs: object) -> list[tuple[str, str]]:
    """(field, message) of every issue in the ConfigError that loading `text` must raise."""
    try:
        load_text(text, **kwargs)
    except ConfigError as err:
        return [(issue.field, issue.message) for issue in err.issues]
    raise AssertionError("expected a ConfigError")


def warning_fields(loaded: LoadedConfig) -> list[str]:
    return [issue.field for issue in loaded.warnings]
