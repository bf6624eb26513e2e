"""Which join token the operator gave: a positional argument, `--token-file`, or `K0S_TOKEN`.

Exactly one source may be used (k0s cmd/internal/tokendata.go); the precedence when reading is argument,
then environment, then file, with k0s's wording for an empty or missing file. The variable is removed
from the environment children inherit (`scrub_token_env`), so the token never shows in a child's
/proc/<pid>/environ, and a token file readable by others is tightened to 0600 when read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from k0spy.errors import K0spyError

TOKEN_ENV = "K0S_TOKEN"
TOKEN_FILE_MODE = 0o600


def check_single_source(positional: str | None, token_file: str | None, env: Mapping[str, str]) -> None:
    """Refuse more than one token source, as k0s does, before anything else happens."""
    count = sum(1 for source in (positional, token_file, env.get(TOKEN_ENV)) if source)
    if count > 1:
        raise K0spyError(
            "you can only pass one token source: either as a CLI argument, via '--token-file [path]', "
            f"or via the {TOKEN_ENV} environment variable",
            hint="drop all but one of them",
        )


def resolve_token(positional: str | None, token_file: str | None, env: Mapping[str, str]) -> str | None:
    """The token text, or None when no source was given; errors name the file and what to do."""
    check_single_source(positional, token_file, env)
    if positional:
        return positional
    if env.get(TOKEN_ENV):
        return env[TOKEN_ENV]
    if not token_file:
        return None
    try:
        data = Path(token_file).read_text(errors="replace")
        keep_private(Path(token_file))
    except FileNotFoundError:
        problem = "not found"
    except OSError as err:
        raise K0spyError(f"failed to read token file {token_file!r}: {err.strerror or err}") from err
    else:
        problem = "is empty" if not data else ""
    if problem:
        raise K0spyError(
            f'token file "{token_file}" {problem}',
            hint='obtain a new token via "k0spy token create ..." and store it in the file, or reinstall '
            'this node via "k0spy install --force ..."',
        )
    return data


def keep_private(path: Path) -> bool:
    """Tighten a token file readable by group or others to 0600 (it is a credential); True if changed."""
    mode = path.stat().st_mode & 0o777
    if not mode & 0o077:
        return False
    os.chmod(path, TOKEN_FILE_MODE)
    return True


def scrub_token_env(env: MutableMapping[str, str] | None = None) -> None:
    """Remove K0S_TOKEN from `env` (default: this process's environment, inherited by children)."""
    target = os.environ if env is None else env
    target.pop(TOKEN_ENV, None)
