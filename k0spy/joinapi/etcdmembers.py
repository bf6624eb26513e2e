"""Add a joining controller to etcd as a learner, through etcd's JSON gateway (`/v3/cluster/member/add`).

The gateway speaks the same MemberAdd RPC as k0s's Go client, with the apiserver-etcd-client certificate.
The answer is turned into `--initial-cluster` entries (`name=peerURL`), the new member under the name
the joiner asked for, as k0s's AddMemberAsLearner does. A retry after a lost answer finds its own
peer URL already present; that member is reported instead of failing the join.
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from k0spy.errors import K0spyError
from k0spy.joinapi.settings import EtcdAccess


class EtcdMemberError(K0spyError):
    """etcd refused or could not be reached."""


def valid_peer_url(text: str) -> bool:
    """An absolute http(s) URL with a host and a port, as etcd accepts for peer URLs."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and port is not None \
        and parts.path in ("", "/") and not parts.query and not parts.fragment


def initial_cluster(members: list[dict[str, Any]], new_id: str, name: str) -> list[str]:
    """`name=firstPeerURL` for each member; the new (still nameless) member gets `name`."""
    out = []
    for member in members:
        urls = member.get("peerURLs") or []
        if not urls:
            continue
        member_name = name if str(member.get("ID", "")) == new_id else str(member.get("name", ""))
        out.append(f"{member_name}={urls[0]}")
    return out


def etcd_ssl(access: EtcdAccess) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(access.ca_file))
    ctx.load_cert_chain(str(access.cert_file), str(access.key_file))
    return ctx


async def _post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        async with session.post(url, json=body) as resp:
            data = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as err:
        raise EtcdMemberError(f"etcd at {url} cannot be reached: {err or type(err).__name__}") from err
    if resp.status != 200 or not isinstance(data, dict):
        message = data.get("message") or data.get("error") if isinstance(data, dict) else data
        raise EtcdMemberError(f"etcd member add as learner failed: {message}")
    return data


async def add_learner(session: aiohttp.ClientSession, access: EtcdAccess, name: str, peer_url: str
                      ) -> list[str]:
    """MemberAddAsLearner(peer_url); returns the initial cluster for the joiner."""
    base = access.url.rstrip("/")
    try:
        body = {"peerURLs": [peer_url], "isLearner": True}
        data = await _post(session, f"{base}/v3/cluster/member/add", body)
    except EtcdMemberError as err:
        if "already exist" not in str(err):
            raise
        listing = await _post(session, f"{base}/v3/cluster/member/list", {})
        members = listing.get("members") or []
        mine = [m for m in members if peer_url in (m.get("peerURLs") or [])]
        if not mine or mine[0].get("name"):  # a started member owns that URL: a real conflict
            raise
        return initial_cluster(members, str(mine[0].get("ID", "")), name)
    return initial_cluster(data.get("members") or [], str((data.get("member") or {}).get("ID", "")), name)


async def list_members(session: aiohttp.ClientSession, access: EtcdAccess) -> list[dict[str, Any]]:
    data = await _post(session, f"{access.url.rstrip('/')}/v3/cluster/member/list", {})
    return [m for m in data.get("members") or [] if isinstance(m, dict)]


async def promote_one_learner(session: aiohttp.ClientSession, access: EtcdAccess) -> str | None:
    """Promote the first learner that has started (has a name); etcd refuses one not yet in sync.

    One per call, as k0s's EtcdMemberReconciler does per tick: call it periodically on the leader.
    Returns the promoted member's name, or None when there was nothing (yet) to promote.
    """
    for member in await list_members(session, access):
        if not member.get("isLearner") or not member.get("name"):
            continue
        try:
            await _post(session, f"{access.url.rstrip('/')}/v3/cluster/member/promote", {"ID": member["ID"]})
        except EtcdMemberError as err:
            if "in sync" in str(err) or "not ready" in str(err) or "too many learner" in str(err):
                return None
            raise
        return str(member["name"])
    return None
