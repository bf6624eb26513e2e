"""Which TCP ports a rendered control plane will listen on, and whether they are free before spawning.

A component that cannot bind its port exits, gets respawned with backoff and never becomes ready: k0s then
waits its full readiness timeout (2 minutes) and reports only "timed out". Checking the ports first turns
that into one precise error naming the component, the flag, the port and, when it can be found, the
process already holding it. A port held by this component's own stale child (named in its pid file) is not
a conflict: the supervisor replaces that child before spawning.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from k0spy.errors import K0spyError


@dataclass(frozen=True)
class Listener:
    component: str
    flag: str
    host: str
    port: int


# component name -> [(port flag, host flag or None, default port)]
_PORT_FLAGS: dict[str, list[tuple[str, str | None, int | None]]] = {
    "kube-apiserver": [("secure-port", "bind-address", 6443)],
    "konnectivity": [("agent-port", None, 8091), ("admin-port", None, 8095),
                     ("health-port", "health-bind-address", 8092)],
    "kube-scheduler": [("secure-port", "bind-address", 10259)],
    "kube-controller-manager": [("secure-port", "bind-address", 10257)],
}
_URL_FLAGS: dict[str, list[str]] = {
    "etcd": ["listen-client-urls", "listen-peer-urls", "listen-metrics-urls"],
}


def arg_values(args: Iterable[str]) -> dict[str, str]:
    """`--name=value` arguments as a map (the last one wins, as pflag does)."""
    values: dict[str, str] = {}
    for arg in args:
        if arg.startswith("--") and "=" in arg:
            name, value = arg[2:].split("=", 1)
            values[name] = value
    return values


def _host_port(value: str) -> tuple[str, int] | None:
    """`host:port`, `:port` or a URL with a port; None for unix sockets and unparsable values."""
    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme.startswith("unix") or parts.port is None:
            return None
        return parts.hostname or "0.0.0.0", parts.port
    host, _, port = value.rpartition(":")
    return (host.strip("[]") or "0.0.0.0", int(port)) if port.isdigit() else None


def listeners(name: str, args: Sequence[str]) -> list[Listener]:
    """Pure: the TCP listeners a component's rendered arguments ask for."""
    values = arg_values(args)
    found: list[Listener] = []
    for flag, host_flag, default in _PORT_FLAGS.get(name, []):
        raw = values.get(flag)
        port = int(raw) if raw is not None and raw.isdigit() else default
        if port:
            host = values.get(host_flag, "0.0.0.0") if host_flag else "0.0.0.0"
            found.append(Listener(name, flag, host or "0.0.0.0", port))
    for flag in _URL_FLAGS.get(name, []):
        for url in filter(None, values.get(flag, "").split(",")):
            hp = _host_port(url)
            if hp:
                found.append(Listener(name, flag, *hp))
    if name == "kine" and (hp := _host_port(values.get("metrics-bind-address", ""))):
        found.append(Listener(name, "metrics-bind-address", *hp))
    return found


def port_in_use(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    bind_host = "127.0.0.1" if host == "localhost" else host
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((bind_host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                return True
            if err.errno == errno.EADDRNOTAVAIL:
                return False  # not an address of this host: the component itself will say so
            raise
    return False


def holder(port: int) -> tuple[int, str] | None:
    """(pid, name) of the process listening on `port`, when it can be seen."""
    import psutil

    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return conn.pid, psutil.Process(conn.pid).name()
    except (psutil.Error, OSError):
        return None
    return None


def check_ports(wanted: Iterable[Listener], own_pids: dict[str, int]) -> None:
    """Raise one error listing every port already taken by something other than our own stale child."""
    problems = []
    for item in wanted:
        if not port_in_use(item.host, item.port):
            continue
        held = holder(item.port)
        if held and own_pids.get(item.component) == held[0]:
            continue
        by = f" by {held[1]} (pid {held[0]})" if held else ""
        problems.append(f"{item.component}: port {item.port} on {item.host} (--{item.flag}) is already "
                        f"in use{by}")
    if problems:
        raise K0spyError("; ".join(problems), hint="stop what holds the port, or move the component with "
                         "its extraArgs / the config's port settings")
