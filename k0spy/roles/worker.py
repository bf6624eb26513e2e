"""The worker role: kubelet's client certificate, its profile, containerd, image bundles and kubelet (§7).

    pure worker (`k0spy worker`), under the runtime lock:
      dirs -> staging (worker binaries) | bootstrap (token -> kubelet.conf) -> profile -> kernel set-up
      components: containerd, ocibundle, kubelet           (without containerd and ocibundle: --cri-socket)
    embedded worker (`k0spy controller --enable-worker|--single`): the same components after the control
      plane; kubelet's start does the bootstrap (with admin.conf) and the profile fetch, because both need
      kube-apiserver, kube-controller-manager and the published profiles, which start before it.

Each phase is a `k0spy:<phase>` row on the timeline (`k0spy status timeline`). kubelet is a
ProcessComponent built when it starts, from the profile's KubeletConfiguration plus the node-local fields;
its readiness is kubelet's `/healthz` on healthzBindAddress:healthzPort.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from k0spy.components.base import NotReady
from k0spy.errors import K0spyError
from k0spy.fsutil import BIN_DIR_MODE, CERT_MODE, DATA_DIR_MODE, RUN_DIR_MODE, atomic_write, ensure_dir
from k0spy.log import get_logger
from k0spy.paths import Paths
from k0spy.roles.controller import Phase

if TYPE_CHECKING:
    from k0spy.components.base import Component
    from k0spy.components.flags import ComponentSpec, LogLevels
    from k0spy.components.kubelet import KubeletOptions
    from k0spy.components.process import ProcessComponent
    from k0spy.roles.controller import ControllerRequest
    from k0spy.status.timeline import Timeline
    from k0spy.worker.profile import WorkerProfile

CONTROL_PLANE_LABEL = ("node.k0sproject.io/role", "control-plane")
CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane:NoSchedule"
DEFAULT_HEALTHZ_PORT = 10248
DEFAULT_PAUSE_IMAGE = "quay.io/k0sproject/pause:3.10.2-0"


def log() -> Any:
    return get_logger(component="worker")


@dataclass(frozen=True)
class WorkerOptions:
    """k0s's worker flags (pkg/config/cli.go GetWorkerFlags), validated."""

    profile: str = "default"
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[str, ...] = ()
    kubelet_extra_args: Mapping[str, str] = field(default_factory=dict)
    cri_socket: str | None = None
    enable_cloud_provider: bool = False
    ignore_pre_flight_checks: bool = False
    log_levels: LogLevels | None = None
    iptables_mode: str = "auto"

    @classmethod
    def from_cli(cls, *, labels: tuple[str, ...] = (), taints: tuple[str, ...] = (),
                 kubelet_extra_args: str = "", logging: str = "", **flags: Any) -> WorkerOptions:
        from k0spy.components.flags import parse_logging
        from k0spy.components.kubelet import parse_extra_args, parse_labels, parse_taints
        from k0spy.worker.iptables import validate_mode

        parse_taints(taints)  # refuse a bad taint before anything starts
        flags["iptables_mode"] = validate_mode(flags.get("iptables_mode") or "")
        return cls(labels=parse_labels(labels), taints=tuple(taints),
                   kubelet_extra_args=parse_extra_args(kubelet_extra_args),
                   log_levels=parse_logging(logging) if logging else None, **flags)

    def level(self, component: str) -> str:
        from k0spy.components.flags import LogLevels

        return (self.log_levels or LogLevels()).level(component)


@dataclass(frozen=True)
class Embedded:
    """What the controller adds for its own worker: admin.conf bootstrap, direct API URL, label, taint."""

    api_url: str  # kubelet-direct.conf's server: loopback (or api.address with onlyBindToAddress) + port
    taint: bool
    pause_image: str


@dataclass(frozen=True)
class WorkerRequest:
    paths: Paths
    opts: WorkerOptions
    token: Callable[[], str | None] = lambda: None  # read only when a bootstrap needs it
    bundle: Path | None = None
    embedded: Embedded | None = None
    hostname: str = field(default_factory=socket.gethostname)

    @property
    def node_name(self) -> str:
        from k0spy.components.kubelet import node_name

        return node_name(self.hostname, self.opts.kubelet_extra_args)

    @property
    def kubeconfig(self) -> Path:
        return self.paths.kubelet_direct_kubeconfig if self.embedded else self.paths.kubelet_kubeconfig

    def kubelet_options(self) -> KubeletOptions:
        from k0spy.components.kubelet import KubeletOptions

        labels, taints = dict(self.opts.labels), list(self.opts.taints)
        if self.embedded is not None:
            labels.setdefault(*CONTROL_PLANE_LABEL)
            if self.embedded.taint:
                taints.append(CONTROL_PLANE_TAINT)
        return KubeletOptions(node_name=self.node_name, kubeconfig=self.kubeconfig, labels=labels,
                              taints=tuple(taints), extra_args=dict(self.opts.kubelet_extra_args),
                              cri_socket=self.opts.cri_socket, cloud_provider=self.opts.enable_cloud_provider,
                              log_level=self.opts.level("kubelet"))


def make_dirs(paths: Paths) -> None:
    ensure_dir(paths.data_dir, DATA_DIR_MODE)
    ensure_dir(paths.run_dir, RUN_DIR_MODE)
    ensure_dir(paths.bin_dir, BIN_DIR_MODE)


class WorkerSetup:
    """Bootstrap and profile, each done once, whoever asks first (prepare, or kubelet's start)."""

    def __init__(self, req: WorkerRequest, timeline: Timeline | None) -> None:
        self.req = req
        self.timeline = timeline
        self.profile: WorkerProfile | None = None

    async def bootstrap(self) -> None:
        from k0spy.worker.bootstrap import bootstrap_kubelet, with_server

        paths = self.req.paths
        with Phase(self.timeline, "bootstrap"):
            await bootstrap_kubelet(paths, self.req.node_name, self.req.token,
                                    admin=self.req.embedded is not None)
            if self.req.embedded is not None:
                text = with_server(paths.kubelet_kubeconfig.read_text(), self.req.embedded.api_url)
                atomic_write(paths.kubelet_direct_kubeconfig, text, 0o640)

    async def load_profile(self) -> WorkerProfile:
        from k0spy.worker.profile import load_profile

        if self.profile is None:
            await self.bootstrap()
            with Phase(self.timeline, "profile"):
                self.profile = await load_profile(self.req.paths, self.req.kubeconfig, self.req.opts.profile)
        return self.profile


def healthz_url(config: Mapping[str, Any], extra_args: Mapping[str, str]) -> str | None:
    """kubelet's /healthz from its config and extra args; None when disabled (port 0)."""
    port = int(extra_args.get("--healthz-port") or config.get("healthzPort") or DEFAULT_HEALTHZ_PORT)
    host = extra_args.get("--healthz-bind-address") or config.get("healthzBindAddress") or "127.0.0.1"
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    if not port:
        return None
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/healthz"


def render_kubelet(req: WorkerRequest, profile: WorkerProfile, binary: str) -> ComponentSpec:
    """kubelet's spec: the profile's config with the node-local fields, its CA file, its probe."""
    from k0spy.components.flags import FileSpec, ProbeSpec
    from k0spy.components.kubelet import kubeconfig_ca, kubelet_config, kubelet_spec, resolv_conf_path

    paths = req.paths
    opts = req.kubelet_options()
    ca_pem, ca_file = kubeconfig_ca(req.kubeconfig.read_text())
    try:
        resolv = Path("/etc/resolv.conf").read_text()
    except OSError:
        resolv = None
    config = kubelet_config(profile.kubelet_configuration, paths, opts, resolv_conf=resolv_conf_path(resolv),
                            client_ca=None if ca_pem else ca_file)
    spec = kubelet_spec(paths, opts, config, binary=binary)
    files = spec.files
    if ca_pem:
        files = (FileSpec(str(paths.kubelet_client_ca), ca_pem.decode(), CERT_MODE), *files)
    url = healthz_url(config, opts.extra_args)
    probe = ProbeSpec("http", url, timeout=2.0) if url else None
    return dataclasses.replace(spec, files=files, probe=probe)


class KubeletComponent:
    """kubelet, rendered at start (after its credentials and profile exist), then supervised."""

    def __init__(self, setup: WorkerSetup, binary: str) -> None:
        self.name = "kubelet"
        self.setup = setup
        self.binary = binary
        self.process: ProcessComponent | None = None

    async def init(self) -> None:
        import os

        if not os.access(self.binary, os.X_OK):
            raise K0spyError(f"kubelet: binary {self.binary} is missing or not executable",
                             hint="stage the worker binaries into DATA/bin")

    async def start(self) -> None:
        from k0spy.components.render import build_component, prepare

        profile = await self.setup.load_profile()
        spec = render_kubelet(self.setup.req, profile, self.binary)
        prepare(spec)
        self.process = build_component(spec, self.setup.req.paths)
        await self.process.init()
        await self.process.start()

    async def ready(self) -> None:
        if self.process is None:
            raise NotReady("kubelet is not started")
        await self.process.ready()

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.stop()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def status(self) -> Any:
        return self.process.status() if self.process is not None else None


def supervised_containerd(paths: Paths, **kwargs: Any) -> Component:
    """ContainerdComponent with `status()`, so `k0spy status components` shows its pid and probe."""
    from k0spy.components.containerd import ContainerdComponent

    class Containerd(ContainerdComponent):
        def status(self) -> Any:
            return self.process.status() if self.process is not None else None

    return Containerd(paths, **kwargs)


def worker_binaries(req: WorkerRequest) -> list[str]:
    from k0spy.assets.stage import role_binaries

    names = role_binaries(controller=False, worker=True)
    return ["kubelet"] if req.opts.cri_socket else names


async def stage(req: WorkerRequest, timeline: Timeline | None) -> dict[str, Any]:
    from k0spy.assets.stage import stage_binaries

    with Phase(timeline, "staging-worker" if req.embedded else "staging"):
        return await stage_binaries(req.paths, worker_binaries(req), bundle=req.bundle)


def components(req: WorkerRequest, setup: WorkerSetup, staged: Mapping[str, Any],
               pause_image: str) -> list[Component]:
    """containerd and the image bundles (unless --cri-socket), the iptables links, then kubelet."""
    from k0spy.worker.images import ImageBundles
    from k0spy.worker.iptables import IPTablesComponent

    def binary(name: str) -> str:
        found = staged.get(name)
        return str(found.path) if found is not None else str(req.paths.bin_dir / name)

    out: list[Component] = []
    if not req.opts.cri_socket:
        out.append(supervised_containerd(req.paths, pause_image=pause_image, binary=binary("containerd"),
                                         log_level=req.opts.level("containerd")))
        out.append(ImageBundles(req.paths))
    out.append(IPTablesComponent(req.paths, mode=req.opts.iptables_mode, bundle=req.bundle))
    out.append(KubeletComponent(setup, binary("kubelet")))
    return out


async def kernel(timeline: Timeline | None) -> None:
    from k0spy.worker.kernel import kernel_setup

    with Phase(timeline, "kernel"):
        await asyncio.to_thread(kernel_setup)


async def build_worker(req: WorkerRequest, timeline: Timeline | None = None) -> list[Component]:
    """The pure worker: bootstrap and profile before anything spawns (a bad token fails fast)."""
    make_dirs(req.paths)
    setup = WorkerSetup(req, timeline)
    try:
        async with asyncio.TaskGroup() as group:
            staging = group.create_task(stage(req, timeline))
            loading = group.create_task(setup.load_profile())
    except ExceptionGroup as eg:
        raise eg.exceptions[0] from None
    staged, profile = staging.result(), loading.result()
    await kernel(timeline)
    return components(req, setup, staged, profile.pause_image or DEFAULT_PAUSE_IMAGE)


async def build_embedded_worker(req: WorkerRequest, timeline: Timeline | None = None) -> list[Component]:
    """The controller's worker: staged and set up now; bootstrap and profile when kubelet starts."""
    assert req.embedded is not None
    staged = await stage(req, timeline)
    await kernel(timeline)
    return components(req, WorkerSetup(req, timeline), staged, req.embedded.pause_image)


def embedded_request(req: ControllerRequest) -> WorkerRequest:
    """The controller's own worker: its worker flags, admin.conf bootstrap, direct API URL, taint rule."""
    url = req.pki_settings().local_url().replace("://localhost:", "://127.0.0.1:")
    taint = req.opts.enable_worker and not req.opts.single and not req.opts.no_taints
    opts = req.worker or WorkerOptions()
    if opts.log_levels is None:
        opts = dataclasses.replace(opts, log_levels=req.opts.log_levels)
    return WorkerRequest(req.paths, opts, bundle=req.bundle,
                         embedded=Embedded(api_url=url, taint=taint,
                                           pause_image=req.cfg.spec.images.pause.uri))


async def build_controller_node(req: ControllerRequest, timeline: Timeline | None = None) -> list[Component]:
    """`k0spy controller`: the control plane, then (with --enable-worker or --single) the embedded worker."""
    from k0spy.roles.controller import build_controller

    components = await build_controller(req, timeline)
    if req.opts.enable_worker or req.opts.single:
        components += await build_embedded_worker(embedded_request(req), timeline)
    return components
