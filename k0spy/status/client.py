"""The status API client: one GET over the unix socket, no keep-alive, stdlib only.

`k0spy status` must be cheap and must say "k0spy is not running" (exit 1) when the socket is absent or
nobody answers on it, so it uses a plain socket rather than importing an HTTP library.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from k0spy.errors import NotRunningError

TIMEOUT = 10.0


def get(socket_path: Path, path: str, timeout: float = TIMEOUT) -> bytes:
    """The body of `GET path`; NotRunningError when no daemon answers, K0spyError on HTTP errors."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(str(socket_path))
        except (FileNotFoundError, ConnectionRefusedError) as err:
            raise NotRunningError("k0spy is not running",
                                  hint=f"no daemon answers on {socket_path}") from err
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    except (ConnectionResetError, TimeoutError, BrokenPipeError) as err:
        raise NotRunningError("k0spy is not running", hint=f"{socket_path}: {err}") from err
    finally:
        sock.close()
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise NotRunningError("k0spy is not running", hint=f"{socket_path}: no HTTP answer")
    if parts[1] != "200":
        from k0spy.errors import K0spyError

        raise K0spyError(f"status API {path}: {status_line}: {body.decode(errors='replace')}")
    return body


def get_json(socket_path: Path, path: str) -> Any:
    return json.loads(get(socket_path, path))
