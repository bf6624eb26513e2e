"""structlog set-up, done once per process by the CLI.

JSON lines when the log stream is not a terminal (journald, files, log shippers), readable
`key=value` lines when it is. Events are short dotted names (`process.started`) with fields, never
prose with values baked in, so that tests and operators can grep and assert on them.

Child output does not go through here line by line: the supervisor forwards it through a batched
renderer that produces the same fields (see `k0spy.supervisor.output`), because one structlog call per
line cannot keep up with a chatty kube-apiserver.
"""

from __future__ import annotations

import logging
import sys
from typing import IO, Any, TextIO, cast

import structlog

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def configure(level: str = "warning", *, stream: IO[str] | None = None, json: bool | None = None) -> None:
    """Configure structlog for this process.

    `json=None` picks JSON when `stream` is not a terminal. Safe to call more than once (tests do).
    """
    out = stream if stream is not None else sys.stderr
    use_json = (not _isatty(out)) if json is None else json
    renderer: Any
    if use_json:
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False, pad_event_to=0)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(cast(TextIO, out)),
        cache_logger_on_first_use=False,
    )


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def get_logger(**fields: Any) -> Any:
    """A bound logger; `component=<name>` is the field every component's lines carry."""
    return structlog.get_logger().bind(**fields)
