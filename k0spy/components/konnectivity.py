"""konnectivity-server's command line (k0s konnectivity.go); supervisor name `konnectivity`.

k0s gives it no extraArgs. Ports come from `spec.konnectivity` (agent, admin); the health port is 8092 on
localhost, as in k0s, unless the caller moves it (`health_port`, for tests and second instances).
`server_id` is k0s's InvocationID (16 random bytes in hex, new every start) and `server_count` the number
of active controllers; both are inputs so that rendering stays pure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from k0spy.components.flags import TLS12_CIPHER_SUITES, ComponentSpec, DirSpec, ProbeSpec, render_args
from k0spy.fsutil import RUN_DIR_MODE
from k0spy.paths import Paths

if TYPE_CHECKING:
    from k0spy.config.model import ClusterConfig

NAME = "konnectivity"
COMPONENT = "konnectivity-server"
KONNECTIVITY_USER = "konnectivity-server"
HEALTH_PORT = 8092


def konnectivity_arg_map(cfg: ClusterConfig, paths: Paths, *, log_level: str, server_id: str,
                         server_count: int = 1, health_port: int = HEALTH_PORT) -> dict[str, str]:
    spec = cfg.spec.konnectivity
    return {
        "uds-name": str(paths.konnectivity_socket),
        "cluster-cert": str(paths.cert_dir / "server.crt"),
        "cluster-key": str(paths.cert_dir / "server.key"),
        "kubeconfig": str(paths.konnectivity_kubeconfig),
        "mode": "grpc",
        "server-port": "0",
        "agent-port": str(spec.agent_port),
        "admin-port": str(spec.admin_port),
        "health-bind-address": "localhost",
        "health-port": str(health_port),
        "graceful-shutdown-timeout": "1ns",
        "agent-namespace": "kube-system",
        "agent-service-account": "konnectivity-agent",
        "authentication-audience": "system:konnectivity-server",
        "logtostderr": "true",
        "stderrthreshold": "1",
        "v": log_level,
        "enable-profiling": "false",
        "delete-existing-uds-file": "true",
        "server-count": str(max(1, server_count)),
        "server-id": server_id,
        "proxy-strategies": "destHost,defaultRoute,default",
        "cipher-suites": TLS12_CIPHER_SUITES,
    }


def konnectivity_args(cfg: ClusterConfig, paths: Paths, *, log_level: str, server_id: str,
                      server_count: int = 1, health_port: int = HEALTH_PORT) -> list[str]:
    return render_args(konnectivity_arg_map(cfg, paths, log_level=log_level, server_id=server_id,
                                            server_count=server_count, health_port=health_port))


def konnectivity_spec(cfg: ClusterConfig, paths: Paths, *, log_level: str, server_id: str,
                      server_count: int = 1, health_port: int = HEALTH_PORT) -> ComponentSpec:
    return ComponentSpec(
        name=NAME, component=COMPONENT, binary=str(paths.bin_dir / COMPONENT),
        args=tuple(konnectivity_args(cfg, paths, log_level=log_level, server_id=server_id,
                                     server_count=server_count, health_port=health_port)),
        user=KONNECTIVITY_USER,
        dirs=(DirSpec(str(paths.konnectivity_socket_dir), RUN_DIR_MODE, KONNECTIVITY_USER),),
        probe=ProbeSpec("http", f"http://localhost:{health_port}/healthz", timeout=3.0),
    )
