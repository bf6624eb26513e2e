"""A controller joining an existing cluster with a controller token (k0s §6.5), before anything is prepared.

k0s fetches the CA material when a join is needed, and asks for etcd membership inside `Etcd.Start`, after
its certificates exist. k0spy asks for both before the PKI step instead: `ensure_pki` keeps a CA it finds
and signs the leaves with it, so fetching the cluster CA *and* the etcd CA first means every certificate
this node makes (etcd peer and server ones included) chains to the cluster's CAs, with no second pass.
The joiner is added as a learner; it does not count towards quorum until the promoter of a running
controller (k0spy.components.controlapi) promotes it, so the few seconds of PKI and staging between the
member add and etcd's start cost the cluster nothing.

"Needs join" is k0s's rule (`needs_join`). A controller that needs none never reads its token: a token
kept in a service file, or a token file since deleted, is harmless on restarts. The token text is only
ever held in memory; it is never logged, and `K0S_TOKEN` is removed from the environment the children
inherit.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from k0spy.log import get_logger

if TYPE_CHECKING:
    from k0spy.config.model import ClusterConfig
    from k0spy.paths import Paths
    from k0spy.roles.controller import ControllerRequest
    from k0spy.status.timeline import Timeline

TokenReader = Callable[[], "str | None"]


def log() -> Any:
    return get_logger(component="join")


def redact_token_args(argv: Sequence[str], token: str | None) -> list[str]:
    """The command line with a positional token replaced, for status output and logs."""
    if not token:
        return list(argv)
    return ["<token>" if arg == token else arg for arg in argv]


def is_internal_etcd(req: ControllerRequest) -> bool:
    return req.storage == "etcd"


def configured_peer_url(cfg: ClusterConfig) -> str:
    """The peer URL etcd will advertise: `initial-advertise-peer-urls` from extraArgs, else k0s's URL."""
    from k0spy.components.etcd import peer_url

    given = cfg.spec.storage.etcd.extra_args.get("initial-advertise-peer-urls", "")
    return given.split(",")[0].strip() or peer_url(cfg)


def advertised_peer_url(req: ControllerRequest) -> str:
    return configured_peer_url(req.cfg)


def etcd_member_name(req: ControllerRequest) -> str:
    from k0spy.components.etcd import member_name

    return member_name(req.cfg, req.facts_overrides.get("hostname") or socket.gethostname())


def needs_join(paths: Paths, storage_type: str, external_etcd: bool) -> bool:
    """k0s's rule: internal etcd without member data, or other storage without the cluster CA.

    Here rather than with the join client: deciding must not import aiohttp (about 150 ms), which every
    start of a controller that needs no join would otherwise pay before its PKI step.
    """
    if storage_type == "etcd" and not external_etcd:
        return not paths.etcd_joined_marker.exists()
    return not ((paths.cert_dir / "ca.key").exists() and (paths.cert_dir / "ca.crt").exists())


def join_needed(req: ControllerRequest) -> bool:
    storage = req.cfg.spec.storage
    return needs_join(req.paths, storage.type, storage.type == "etcd" and storage.etcd.is_external())


async def join_cluster(req: ControllerRequest, read_token: TokenReader,
                       timeline: Timeline | None = None) -> ControllerRequest:
    """Fetch the CAs and the etcd membership when this node needs a join and has a token.

    Returns the request to prepare: unchanged, or with the etcd join answer as a rendering fact.
    """
    if not join_needed(req):
        log().info("join.skipped", reason="this controller already has its storage data or CA")
        return req
    text = read_token()
    if not text:
        return req  # the first controller of a new cluster
    from k0spy.joinapi.client import JoinClient, write_ca_bundle, write_etcd_ca
    from k0spy.roles.controller import Phase, make_base_dirs

    client = JoinClient.from_token_text(text.strip())
    del text
    make_base_dirs(req.paths)
    with Phase(timeline, "join-ca"):
        write_ca_bundle(req.paths, await client.get_ca())
    log().info("join.ca_written", server=client.base)
    if not is_internal_etcd(req):
        return req
    from k0spy.components.etcd import EtcdJoin

    name, url = etcd_member_name(req), advertised_peer_url(req)
    with Phase(timeline, "join-etcd"):
        answer = await client.join_etcd(name, url)
    write_etcd_ca(req.paths, answer.ca)
    log().info("join.etcd_member_added", name=name, peer_url=url, initial_cluster=answer.initial_cluster)
    facts = {**req.facts_overrides, "etcd_join": EtcdJoin(tuple(answer.initial_cluster))}
    return dataclasses.replace(req, facts_overrides=facts)


def token_reader(positional: str | None, token_file: str | None) -> TokenReader:
    """Reads the one token source when called (never before: a joined controller does not read it)."""
    import os

    from k0spy.joinapi.source import check_single_source, resolve_token, scrub_token_env

    env = {key: value for key, value in os.environ.items() if key == "K0S_TOKEN"}
    check_single_source(positional, token_file, env)
    scrub_token_env()

    def read() -> str | None:
        return resolve_token(positional, token_file, env)

    return read


def with_join_components(req: ControllerRequest, components: list[Any]) -> list[Any]:
    """Add `k0s-control-api` after kube-apiserver (and its worker-profile publisher), the promoter last."""
    import yaml

    from k0spy.components.controlapi import LearnerPromoter, control_api_component, control_api_wanted
    from k0spy.joinapi.settings import settings_from
    from k0spy.runtime import runtime_config_doc

    out = list(components)
    if control_api_wanted(req.cfg, req.opts.disable_components) and not req.opts.single:
        names = [component.name for component in out]
        anchor = next((n for n in ("worker-config", "kube-apiserver") if n in names), None)
        at = names.index(anchor) + 1 if anchor else len(out)
        doc = yaml.safe_dump(runtime_config_doc(req.paths, req.cfg.to_k0s_dict()), sort_keys=False)
        out.insert(at, control_api_component(req.cfg, req.paths, doc))
    access = settings_from(req.paths, req.cfg).etcd
    if access is not None and is_internal_etcd(req):
        out.append(LearnerPromoter(access))
    return out


async def build_joining_controller(req: ControllerRequest, read_token: TokenReader,
                                   timeline: Timeline | None = None) -> list[Any]:
    """The daemon's prepare hook: join when needed, then the controller node (and its embedded worker)."""
    from k0spy.roles.worker import build_controller_node

    return await build_controller_node(await join_cluster(req, read_token, timeline), timeline)
