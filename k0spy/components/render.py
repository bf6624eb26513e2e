"""The controller's control-plane processes, rendered in k0s's start order; the dry run's data.

`render_controller(cfg, paths, opts, facts)` is pure: the CLI flags arrive as `ControllerOptions`, the few
facts k0s reads from the machine while starting (host name, the invocation id, the staged etcd's version,
whether an authentication config manages anonymous access, the etcd join answer) as `NodeFacts`, which
`NodeFacts.detect` gathers once. Order (k0s §1.2): storage (etcd, kine, or nothing for an external etcd),
konnectivity-server (unless --single or disabled), kube-apiserver, then kube-scheduler and
kube-controller-manager, the last processes k0s spawns. Stopping is the reverse.

Two helpers at the end do the I/O a spec implies, for the controller to call at init: `prepare` (dirs with
their modes and owners, config files written atomically) and `build_component` (a ProcessComponent with
the spec's probe).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from k0spy.components.apiserver import apiserver_spec
from k0spy.components.controller_manager import controller_manager_spec
from k0spy.components.etcd import EtcdJoin, etcd_spec
from k0spy.components.flags import (
    ComponentSpec,
    LogLevels,
    normalize_disabled_components,
    parse_logging,
)
from k0spy.components.kine import kine_spec
from k0spy.components.konnectivity import HEALTH_PORT, konnectivity_spec
from k0spy.components.scheduler import scheduler_spec
from k0spy.errors import K0spyError
from k0spy.paths import Paths

if TYPE_CHECKING:
    from k0spy.components.process import ProcessComponent
    from k0spy.config.model import ClusterConfig
    from k0spy.pki.users import UserLookup

DEFAULT_ETCD_VERSION = (3, 6)
SECOND_NS = 1_000_000_000


@dataclass(frozen=True)
class ControllerOptions:
    """The `k0spy controller` flags that shape what runs (k0s ControllerOptions + log levels)."""

    single: bool = False
    enable_worker: bool = False
    no_taints: bool = False
    disable_components: tuple[str, ...] = ()
    log_levels: LogLevels = field(default_factory=LogLevels)
    kcm_extra_args: str = ""
    enable_k0s_cloud_provider: bool = False
    api_server_stop_timeout: float | None = None
    init_only: bool = False
    ignore_pre_flight_checks: bool = False

    @classmethod
    def from_cli(cls, *, disable_components: Iterable[str] = (), logging: str = "", **flags: Any
                 ) -> tuple[ControllerOptions, tuple[str, ...]]:
        """Validate and normalise the raw flag values; returns the options and deprecation warnings."""
        disabled, warnings = normalize_disabled_components(disable_components)
        levels = parse_logging(logging) if logging else LogLevels()
        return cls(disable_components=disabled, log_levels=levels, **flags), warnings

    def disabled(self, component: str) -> bool:
        return component in self.disable_components


@dataclass(frozen=True)
class NodeFacts:
    """What rendering needs from this machine and this start; see `detect`."""

    hostname: str
    invocation_id: str
    etcd_version: tuple[int, int] = DEFAULT_ETCD_VERSION
    server_count: int = 1
    etcd_join: EtcdJoin | None = None
    etcd_jwt: bool = True
    auth_config_has_anonymous: bool = False
    konnectivity_health_port: int = HEALTH_PORT

    @classmethod
    def detect(cls, cfg: ClusterConfig, *, etcd_version: tuple[int, int] = DEFAULT_ETCD_VERSION,
               **overrides: Any) -> NodeFacts:
        """Host name, a fresh invocation id (16 random bytes, hex) and the authentication config test."""
        values: dict[str, Any] = {
            "hostname": socket.gethostname(),
            "invocation_id": secrets.token_hex(16),
            "etcd_version": etcd_version,
            "auth_config_has_anonymous": authentication_config_has_anonymous(
                cfg.spec.api.extra_args.get("authentication-config", "")),
        }
        values.update(overrides)
        return cls(**values)


def authentication_config_has_anonymous(path: str) -> bool:
    """Whether kube-apiserver's `--authentication-config` file has a non-null `anonymous` field.

    An unreadable or malformed file counts as "no" (k0s then applies `anonymous-auth=false` and warns).
    """
    if not path:
        return False
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and data.get("anonymous") is not None


def etcd_version_of(binary: str) -> tuple[int, int]:
    """(major, minor) from `etcd --version` (`etcd Version: 3.4.23`); an error names the binary."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, check=False)
    except OSError as err:
        raise K0spyError(f"running {binary} --version: {err}", hint="stage the etcd binary first") from err
    match = re.search(r"etcd Version:\s*(\d+)\.(\d+)", out.stdout)
    if not match:
        raise K0spyError(f"{binary} --version printed no etcd version: {out.stdout.strip()[:100]!r}",
                         hint="is this binary really etcd?")
    return int(match.group(1)), int(match.group(2))


def single_controller(cfg: ClusterConfig, opts: ControllerOptions) -> bool:
    """k0s: `--single`, or storage other controllers cannot share (kine on SQLite)."""
    return opts.single or not cfg.spec.storage.is_joinable()


def konnectivity_enabled(opts: ControllerOptions) -> bool:
    return not opts.single and not opts.disabled("konnectivity-server")


def k0s_reconciles_endpoint(cfg: ClusterConfig, opts: ControllerOptions) -> bool:
    """externalAddress set, endpoint-reconciler not disabled, and no control-plane load balancing."""
    cplb = cfg.spec.network.control_plane_load_balancing
    return (bool(cfg.spec.api.external_address) and not opts.disabled("endpoint-reconciler")
            and not (cplb is not None and cplb.enabled))


def storage_spec(cfg: ClusterConfig, paths: Paths, opts: ControllerOptions, facts: NodeFacts
                 ) -> ComponentSpec | None:
    storage = cfg.spec.storage
    if storage.type == "kine":
        return kine_spec(cfg, paths)
    if storage.type == "etcd" and not storage.etcd.is_external():
        return etcd_spec(cfg, paths, log_level=opts.log_levels.etcd, hostname=facts.hostname,
                         etcd_version=facts.etcd_version, join=facts.etcd_join, jwt=facts.etcd_jwt)
    if storage.type == "etcd":
        return None
    raise K0spyError(f"spec.storage.type: invalid storage type {storage.type!r}", hint="use etcd or kine")


def render_controller(cfg: ClusterConfig, paths: Paths, opts: ControllerOptions,
                      facts: NodeFacts) -> list[ComponentSpec]:
    """Every control-plane process of this controller, in start order."""
    single = single_controller(cfg, opts)
    specs = [s for s in (storage_spec(cfg, paths, opts, facts),) if s is not None]
    konnectivity = konnectivity_enabled(opts)
    if konnectivity:
        specs.append(konnectivity_spec(cfg, paths, log_level=opts.log_levels.konnectivity_server,
                                       server_id=facts.invocation_id, server_count=facts.server_count,
                                       health_port=facts.konnectivity_health_port))
    stop_ns = int(opts.api_server_stop_timeout * SECOND_NS) if opts.api_server_stop_timeout else None
    specs.append(apiserver_spec(
        cfg, paths, log_level=opts.log_levels.kube_apiserver, konnectivity=konnectivity,
        disable_endpoint_reconciler=k0s_reconciles_endpoint(cfg, opts),
        auth_config_has_anonymous=facts.auth_config_has_anonymous, stop_timeout_override_ns=stop_ns))
    if not opts.disabled("kube-scheduler"):
        specs.append(scheduler_spec(cfg, paths, log_level=opts.log_levels.kube_scheduler,
                                    single_controller=single))
    if not opts.disabled("kube-controller-manager"):
        specs.append(controller_manager_spec(cfg, paths, log_level=opts.log_levels.kube_controller_manager,
                                             single_controller=single, cli_extra_args=opts.kcm_extra_args))
    return specs


def specs_to_data(specs: Sequence[ComponentSpec]) -> list[dict[str, Any]]:
    """The dry run's objects: name, binary, args, user, files (+ dirs, stop timeout, probe, overrides)."""
    return [spec.to_dict() for spec in specs]


def specs_to_json(specs: Sequence[ComponentSpec]) -> str:
    return json.dumps(specs_to_data(specs), indent=2) + "\n"


def args_diff(rendered: Sequence[str], running: Sequence[str]) -> dict[str, list[str]]:
    """What a restart would change for one child: arguments only rendered now / only in the running one."""
    now, before = list(rendered), list(running)
    return {"added": [a for a in now if a not in before], "removed": [a for a in before if a not in now]}


def running_args(pid: int, binary: str | None = None) -> list[str]:
    """A live child's arguments from /proc, for `args_diff`.

    Everything up to the binary is dropped: argv[0], and for a script (a `#!` interpreter runs it) the
    interpreter and its options too.
    """
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        data = handle.read()
    parts = [os.fsdecode(part) for part in data.removesuffix(b"\0").split(b"\0")]
    if binary is not None and binary in parts:
        return parts[parts.index(binary) + 1:]
    return parts[1:]


# --- mechanism: what a spec needs on disk, and the component that runs it ----------------------------------
def _chown(path: str, uid: int, recursive: bool) -> None:
    os.chown(path, uid, 0)
    if recursive:
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                os.chown(os.path.join(root, name), uid, 0, follow_symlinks=False)


def prepare(spec: ComponentSpec, *, user_lookup: UserLookup | None = None) -> None:
    """Create the spec's dirs (mode, and owner:0 when root and the user exists) and write its files."""
    from k0spy.fsutil import atomic_write, ensure_dir
    from k0spy.pki.users import system_lookup

    lookup = user_lookup or system_lookup
    root = os.geteuid() == 0
    try:
        for directory in spec.dirs:
            ensure_dir(Path(directory.path), directory.mode)
            uid = lookup(directory.owner) if directory.owner and root else None
            if uid is not None:
                _chown(directory.path, uid, directory.recursive)
        for file in spec.files:
            uid = lookup(file.owner) if file.owner and root else None
            atomic_write(Path(file.path), file.content.encode(), file.mode, uid=uid,
                         gid=0 if uid is not None else None)
    except OSError as err:
        raise K0spyError(f"preparing {spec.name}: {err}",
                         hint="check that the data and run dirs are writable by this user") from err


def build_component(spec: ComponentSpec, paths: Paths, **kwargs: Any) -> ProcessComponent:
    """A ProcessComponent running the spec (extra keyword arguments go to ProcessComponent)."""
    from k0spy.components.probes import build_probe
    from k0spy.components.process import ProcessComponent

    return ProcessComponent(
        spec.name, spec.binary, spec.args, paths, user=spec.user, keep_env_prefix=spec.keep_env_prefix,
        stop_timeout=spec.stop_timeout, probe=build_probe(spec.probe) if spec.probe else None,
        binds_privileged_ports=spec.binds_privileged_ports, **kwargs)
