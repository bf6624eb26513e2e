"""The controller role: prepare the node (dirs, PKI, binaries), render the control plane, build components.

This is k0s's controller start sequence (§1.2) after the config is loaded and the pre-flight checks pass,
run while the daemon holds the runtime lock so that two starts never race on the PKI:

1. base directories with k0s's modes (DATA 0755, RUN 0755, DATA/bin 0755, PKI 0751);
2. the PKI and the binaries at the same time: key generation is CPU work on a thread pool, staging is
   zlib and disk work in threads, so the two overlap instead of adding up;
3. rendering, which needs the staged etcd's version (3.4 lacks flags 3.6 has);
4. each component's directories and files, then one ProcessComponent per rendered spec.

Each phase is marked on the start-up timeline under a `k0spy:<phase>` row, so `k0spy status timeline`
shows k0spy's own share of a slow start next to the children's.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from k0spy.fsutil import BIN_DIR_MODE, CERT_ROOT_DIR_MODE, DATA_DIR_MODE, RUN_DIR_MODE, ensure_dir
from k0spy.log import get_logger
from k0spy.paths import Paths

if TYPE_CHECKING:
    from k0spy.assets.stage import StagedBinary
    from k0spy.components.base import Component
    from k0spy.components.flags import ComponentSpec
    from k0spy.components.render import ControllerOptions, NodeFacts
    from k0spy.config.model import ClusterConfig
    from k0spy.pki.settings import PKISettings
    from k0spy.status.timeline import Timeline


def log() -> Any:
    return get_logger(component="controller")


@dataclass(frozen=True)
class ControllerRequest:
    """Everything the controller role starts from: the loaded config, the paths and the CLI options."""

    cfg: ClusterConfig
    paths: Paths
    opts: ControllerOptions
    bundle: Path | None = None
    facts_overrides: dict[str, Any] = dataclasses.field(default_factory=dict)
    worker: Any = None  # k0spy.roles.worker.WorkerOptions of the embedded worker (--enable-worker/--single)
    cert_renewal_window: float | None = None  # seconds (--cert-renewal-window); None: 30 days

    @property
    def storage(self) -> str:
        """The storage process this controller runs: etcd, kine, or "" for an external etcd."""
        storage = self.cfg.spec.storage
        if storage.type == "etcd" and storage.etcd.is_external():
            return ""
        return storage.type

    def pki_settings(self) -> PKISettings:
        from k0spy.components.render import konnectivity_enabled
        from k0spy.pki.settings import PKISettings

        return PKISettings.from_cluster_config(self.cfg, konnectivity_enabled=konnectivity_enabled(self.opts))

    def binaries(self) -> list[str]:
        """What this controller stages: its storage binary (none for external etcd) and the control plane."""
        from k0spy.assets.stage import role_binaries

        names = role_binaries(controller=True, worker=False, storage=self.storage or "etcd")
        if not self.storage:
            names = [name for name in names if name != "etcd"]
        if not self.konnectivity:
            names = [name for name in names if name != "konnectivity-server"]
        return names

    @property
    def konnectivity(self) -> bool:
        from k0spy.components.render import konnectivity_enabled

        return konnectivity_enabled(self.opts)


def make_base_dirs(paths: Paths) -> None:
    """k0s's dir.Init for DATA, RUN, DATA/bin and the PKI dir (mkdir -p, then the mode)."""
    ensure_dir(paths.data_dir, DATA_DIR_MODE)
    ensure_dir(paths.run_dir, RUN_DIR_MODE)
    ensure_dir(paths.bin_dir, BIN_DIR_MODE)
    ensure_dir(paths.cert_dir, CERT_ROOT_DIR_MODE)


def node_facts(req: ControllerRequest, staged: dict[str, StagedBinary]) -> NodeFacts:
    from k0spy.components.render import DEFAULT_ETCD_VERSION, NodeFacts, etcd_version_of

    etcd = staged.get("etcd")
    version = etcd_version_of(str(etcd.path)) if etcd is not None else DEFAULT_ETCD_VERSION
    return NodeFacts.detect(req.cfg, etcd_version=version, **req.facts_overrides)


def with_staged_binaries(specs: Sequence[ComponentSpec], staged: dict[str, StagedBinary]
                         ) -> list[ComponentSpec]:
    """Point each spec at the binary staging found (DATA/bin, or PATH when the bundle lacks it)."""
    out = []
    for spec in specs:
        found = staged.get(Path(spec.binary).name)
        out.append(dataclasses.replace(spec, binary=str(found.path)) if found else spec)
    return out


def render(req: ControllerRequest, facts: NodeFacts) -> list[ComponentSpec]:
    from k0spy.components.render import render_controller

    specs = render_controller(req.cfg, req.paths, req.opts, facts)
    for spec in specs:
        for key in spec.overridden:
            log().warning("args.overridden", target=spec.name, flag=key,
                          detail="a k0s-managed flag is overridden by extraArgs")
    return specs


def own_pids(paths: Paths, names: Sequence[str]) -> dict[str, int]:
    """The pids in our components' pid files (possibly stale children about to be replaced)."""
    pids = {}
    for name in names:
        try:
            pids[name] = int(paths.pid_file(name).read_text().strip())
        except (OSError, ValueError):
            continue
    return pids


def check_listeners(paths: Paths, specs: Sequence[ComponentSpec]) -> None:
    """Fail before spawning when a port the control plane needs is taken (see k0spy.roles.ports)."""
    from k0spy.roles.ports import check_ports, listeners

    wanted = [item for spec in specs for item in listeners(spec.name, spec.args)]
    check_ports(wanted, own_pids(paths, [spec.name for spec in specs]))


class Phase:
    """A `k0spy:<name>` row on the timeline: init when the phase begins, ready when it ends."""

    def __init__(self, timeline: Timeline | None, name: str) -> None:
        self.timeline = timeline
        self.name = f"k0spy:{name}"

    def __enter__(self) -> Phase:
        if self.timeline is not None:
            self.timeline.mark(self.name, "init")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.timeline is not None and exc[0] is None:
            self.timeline.mark(self.name, "ready")


async def prepare_node(req: ControllerRequest, timeline: Timeline | None = None) -> list[ComponentSpec]:
    """Steps 1-3: directories, PKI and binaries concurrently, then the rendered specs (nothing spawned)."""
    from k0spy.assets.stage import stage_binaries
    from k0spy.pki.ensure import ensure_pki
    from k0spy.pki.spare import SpareKeys

    make_base_dirs(req.paths)

    async def pki() -> None:
        reserve = SpareKeys(req.paths.pki_spare_dir)  # leaf keys generated while idle after the last start
        with Phase(timeline, "pki"):
            result = await asyncio.to_thread(ensure_pki, req.paths, req.pki_settings(), reserve=reserve)
        log().info("pki.ready", renewed=len(result.renewed), created_cas=result.created_cas,
                   keys_generated=result.keys_generated, keys_from_reserve=result.keys_from_reserve,
                   seconds=round(result.seconds, 3))

    async def stage() -> dict[str, StagedBinary]:
        with Phase(timeline, "staging"):
            return await stage_binaries(req.paths, req.binaries(), bundle=req.bundle)

    _, staged = await asyncio.gather(pki(), stage())
    with Phase(timeline, "render"):
        specs = with_staged_binaries(render(req, node_facts(req, staged)), staged)
    return specs


async def build_controller(req: ControllerRequest, timeline: Timeline | None = None) -> list[Component]:
    """Prepare the node and return the control-plane components in start order."""
    from k0spy.components.render import build_component, prepare
    from k0spy.roles.join import with_join_components

    specs = await prepare_node(req, timeline)
    check_listeners(req.paths, specs)
    with Phase(timeline, "files"):
        for spec in specs:
            prepare(spec)
    components: list[Component] = [build_component(spec, req.paths) for spec in specs]
    components = with_csr_approver(req, with_join_components(req, with_worker_config(req, components)))
    return [*components, cert_renewer(req, components)]


def cert_renewer(req: ControllerRequest, components: list[Component]) -> Component:
    """Renewal without a restart goes last: it restarts the components above when their leaves renew."""
    import datetime as dt

    from k0spy.pki.renew import DEFAULT_RENEW_WINDOW
    from k0spy.pki.renewer import CertRenewer

    window = DEFAULT_RENEW_WINDOW if req.cert_renewal_window is None else dt.timedelta(
        seconds=req.cert_renewal_window)
    targets = list(components)
    return CertRenewer(req.paths, req.pki_settings(), lambda: targets, window=window)


def with_csr_approver(req: ControllerRequest, components: list[Component]) -> list[Component]:
    """The kubelet serving-CSR approver after the join components (k0s's order), unless disabled."""
    if req.opts.disabled("csr-approver"):
        return components
    from k0spy.components.csrapprover import CSRApprover

    return [*components, CSRApprover(req.paths)]


def with_worker_config(req: ControllerRequest, components: list[Component]) -> list[Component]:
    """The worker-profile publisher goes right after kube-apiserver (it needs the API, nothing else)."""
    from k0spy.components.workerconfig import WorkerConfigComponent

    names = [component.name for component in components]
    at = names.index("kube-apiserver") + 1 if "kube-apiserver" in names else len(components)
    publisher = WorkerConfigComponent(req.cfg, req.paths, konnectivity=req.konnectivity)
    return [*components[:at], publisher, *components[at:]]
