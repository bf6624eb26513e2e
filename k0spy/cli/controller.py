"""`k0spy controller`: run the control plane as k0s does, or show what it would run (`--dry-run`).

Thin: parse and validate the flags, load the config, run the pre-flight checks, then hand over to the
controller role (`k0spy.roles.controller`) and the daemon (`k0spy.daemon`). No pydantic, cryptography or
aiohttp at import time: `k0spy --help` imports this module's click command only when asked.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from k0spy.cli.options import common_options, configure_logging, global_options
from k0spy.cli.worker import worker_flags

if TYPE_CHECKING:
    from k0spy.components.flags import ComponentSpec
    from k0spy.paths import Paths
    from k0spy.roles.controller import ControllerRequest


def _split_list(values: tuple[str, ...]) -> list[str]:
    """`--disable-components a,b --disable-components c` -> [a, b, c] (pflag StringSlice semantics)."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _duration(value: str | None, flag: str) -> float | None:
    """A Go duration flag value in seconds; must be positive."""
    if value is None:
        return None
    from k0spy.config.durations import parse_go_duration_ns
    from k0spy.errors import K0spyError

    try:
        seconds = parse_go_duration_ns(value) / 1e9
    except ValueError as err:
        raise K0spyError(f"--{flag}: invalid duration {value!r}: {err}") from err
    if seconds <= 0:
        raise K0spyError(f"--{flag}: must be positive (got {value!r})")
    return seconds


def build_request(*, single: bool, enable_worker: bool, disable_components: tuple[str, ...], logging: str,
                  kcm_extra_args: str,
                  api_server_stop_timeout: str | None, no_taints: bool, init_only: bool,
                  ignore_pre_flight_checks: bool, feature_gates: tuple[str, ...], bundle: str | None,
                  konnectivity_health_port: int, cert_renewal_window: str = "720h",
                  **worker_flags: Any) -> tuple[ControllerRequest, list[str]]:
    """Validate the flags and load the config; returns the request and the config's warnings."""
    from k0spy.cli.worker import worker_options
    from k0spy.components.render import ControllerOptions
    from k0spy.config.load import load_cluster_config
    from k0spy.roles.controller import ControllerRequest

    opts_g = global_options()
    paths = opts_g.paths(kubelet_root_dir=worker_flags.get("kubelet_root_dir"))
    opts, deprecations = ControllerOptions.from_cli(
        single=single, enable_worker=enable_worker or single,
        disable_components=_split_list(disable_components), logging=logging,
        kcm_extra_args=kcm_extra_args,
        api_server_stop_timeout=_duration(api_server_stop_timeout, "api-server-stop-timeout"),
        no_taints=no_taints, init_only=init_only, ignore_pre_flight_checks=ignore_pre_flight_checks)
    gates = [gate.split("=", 1)[0] for gate in _split_list(feature_gates)
             if not gate.endswith("=false")]
    loaded = load_cluster_config(opts_g.config, single=single, stdin=sys.stdin.buffer,
                                 default_path=paths.default_config, data_dir=paths.data_dir,
                                 k0s_feature_gates=gates)
    warnings = [*deprecations, *(issue.render(loaded.source) for issue in loaded.warnings)]
    facts = {"konnectivity_health_port": konnectivity_health_port}
    worker = worker_options(logging=logging, ignore_pre_flight_checks=ignore_pre_flight_checks,
                            **worker_flags)
    return ControllerRequest(loaded.config, paths, opts, Path(bundle) if bundle else None, facts, worker,
                             cert_renewal_window=_duration(cert_renewal_window, "cert-renewal-window")
                             ), warnings


def print_dry_run(req: ControllerRequest, output: str) -> None:
    """Print what would run, and for a running controller what a restart would change."""
    from k0spy.components.render import NodeFacts, args_diff, render_controller

    version = staged_etcd_version(req)
    facts_kwargs: dict[str, Any] = {**req.facts_overrides, **({"etcd_version": version} if version else {})}
    specs = render_controller(req.cfg, req.paths, req.opts, NodeFacts.detect(req.cfg, **facts_kwargs))
    docs = []
    for spec in specs:
        doc = spec.to_dict()
        running = running_child_args(req.paths, spec)
        if running is not None:
            doc["running"] = args_diff(_comparable(spec.args), _comparable(running))
        docs.append(doc)
    if output == "yaml":
        import yaml

        click.echo(yaml.safe_dump(docs, sort_keys=False, width=1000), nl=False)
    else:
        import json

        click.echo(json.dumps(docs, indent=2))


def staged_etcd_version(req: ControllerRequest) -> tuple[int, int] | None:
    """The etcd version a start would render for: the staged binary's, else the bundle's, else unknown."""
    from k0spy.assets.payload import Bundle, locate_bundle
    from k0spy.components.render import etcd_version_of

    etcd = req.paths.bin_dir / "etcd"
    if etcd.exists():
        return etcd_version_of(str(etcd))
    source = locate_bundle(req.bundle)
    if source is None:
        return None
    with Bundle(source) as bundle:
        entry = bundle.entries.get("etcd")
        parts = (entry.version or "").lstrip("v").split(".") if entry else []
    return (int(parts[0]), int(parts[1])) if len(parts) >= 2 and all(p.isdigit() for p in parts[:2]) else None


def _comparable(args: Any) -> list[str]:
    """Arguments that change on every start by design (konnectivity's --server-id) are not a difference."""
    return [arg for arg in args if not arg.startswith("--server-id=")]


def running_child_args(paths: Paths, spec: ComponentSpec) -> list[str] | None:
    """The arguments the running child of `spec` was started with, when a controller runs on this data dir."""
    from k0spy.components.render import running_args
    from k0spy.fsutil import lock_is_held

    if not lock_is_held(paths.runtime_lock):
        return None
    try:
        pid = int(paths.pid_file(spec.name).read_text().strip())
        return running_args(pid, spec.binary)
    except (OSError, ValueError):
        return None


def run_controller(req: ControllerRequest, argv: list[str], ready_timeout: float,
                   read_token: Callable[[], str | None] = lambda: None) -> int:
    """Pre-flight, then the daemon (or, with --init-only, the preparation alone); joins when needed."""
    import asyncio

    from k0spy import __version__, daemon
    from k0spy.pki.spare import refill_in_background
    from k0spy.roles.controller import make_base_dirs, prepare_node
    from k0spy.roles.join import build_joining_controller, join_cluster
    from k0spy.runtime import runtime_lock
    from k0spy.status.server import StatusInfo
    from k0spy.sysinfo.runner import preflight

    preflight(req.paths, controller=True, worker=req.opts.enable_worker,
              lenient=req.opts.ignore_pre_flight_checks)
    node_config = req.cfg.to_k0s_dict()
    if req.opts.init_only:
        make_base_dirs(req.paths)
        with runtime_lock(req.paths, node_config):
            asyncio.run(_init_only(req, prepare_node, join_cluster, read_token))
        return 0
    info = StatusInfo(version=__version__, role="controller", k0s_vars=req.paths.as_k0s_vars(), args=argv,
                      single_node=req.opts.single, cluster_config=node_config,
                      workloads=req.opts.enable_worker)
    make_base_dirs(req.paths)
    return daemon.run(req.paths, [], info, node_config=node_config, ready_timeout=ready_timeout,
                      prepare=lambda timeline: build_joining_controller(req, read_token, timeline),
                      after_ready=lambda: refill_in_background(req.paths, req.pki_settings()))


async def _init_only(req: ControllerRequest, prepare_node: Any, join: Any, read_token: Any) -> None:
    from k0spy.components.render import prepare
    from k0spy.pki.spare import refill_now

    joined = await join(req, read_token)
    for spec in await prepare_node(joined):
        prepare(spec)
    refill_now(joined.paths, joined.pki_settings())  # so that the first real start does not wait for keys


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("join_token", required=False, metavar="[JOIN_TOKEN]")
@click.option("--token-file", default=None, metavar="FILE",
              help="Path to the file containing the controller join token.")
@click.option("--single", is_flag=True,
              help="Single node: kine (SQLite) storage, no konnectivity (implies --enable-worker).")
@click.option("--enable-worker", is_flag=True,
              help="Also run a worker (containerd and kubelet) on this node.")
@click.option("--disable-components", multiple=True, metavar="LIST",
              help="Components not to run (comma-separated, repeatable).")
@click.option("-l", "--logging", default="", metavar="NAME=LEVEL,...",
              help="Log levels of the components, e.g. etcd=debug,kube-apiserver=3.")
@click.option("--kube-controller-manager-extra-args", "kcm_extra_args", default="", metavar="ARGS",
              help="Extra arguments for kube-controller-manager (k=v, whitespace-separated).")
@click.option("--api-server-stop-timeout", metavar="DURATION",
              help="Time to wait for kube-apiserver to stop.")
@click.option("--no-taints", is_flag=True, help="Do not taint this node as control plane.")
@click.option("--init-only", is_flag=True,
              help="Prepare directories, PKI, kubeconfigs and binaries, then exit.")
@click.option("--ready-timeout", default="2m", show_default=True, metavar="DURATION",
              help="How long each component may take to become ready (k0s: fixed 2m).")
@click.option("--ignore-pre-flight-checks", is_flag=True, help="Start even if pre-flight checks fail.")
@click.option("--feature-gates", multiple=True, metavar="NAME=BOOL,...", help="k0s feature gates.")
@click.option("--bundle", metavar="FILE", envvar="K0SPY_BUNDLE",
              help="Stage binaries from this bundle (or k0s executable) [env: K0SPY_BUNDLE].")
@click.option("--konnectivity-health-port", type=click.IntRange(1, 65535), default=8092, show_default=True,
              help="konnectivity-server's health port (k0spy addition: k0s fixes it at 8092; change it to "
              "run several controllers on one host).")
@click.option("--cert-renewal-window", default="720h", show_default=True, metavar="DURATION",
              help="While running, renew a leaf certificate that expires within this window and restart "
              "only the components that read it.")
@click.option("--dry-run", is_flag=True, help="Print what would run; write and start nothing.")
@click.option("-o", "--output", type=click.Choice(["json", "yaml"]), default="json", show_default=True,
              help="Output format of --dry-run.")
@worker_flags
@common_options
def controller(dry_run: bool, output: str, ready_timeout: str, join_token: str | None, token_file: str | None,
               **flags: Any) -> int:
    """Run the controller: storage, kube-apiserver, konnectivity, scheduler and controller-manager.

    To add a controller to a cluster, give it a controller token (`k0spy token create --role controller`
    on a running controller) as the argument, with --token-file or in K0S_TOKEN (exactly one source).
    """
    from k0spy.roles.join import redact_token_args, token_reader

    configure_logging(daemon=not dry_run)
    read_token = token_reader(join_token, token_file)
    req, warnings = build_request(**flags)
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)
    if dry_run:
        print_dry_run(req, output)
        return 0
    return run_controller(req, redact_token_args(sys.argv[1:], join_token),
                          _duration(ready_timeout, "ready-timeout") or 120.0, read_token)
