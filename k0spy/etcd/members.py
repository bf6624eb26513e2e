"""`k0spy etcd member-list` and `k0spy etcd leave`, through the local etcd's JSON gateway.

The identity is the apiserver-etcd-client certificate (as k0s's etcd client uses), verified against the
etcd CA. Members are named by their first peer URL, as k0s prints them. A member to remove is found by
peer URL: `--peer-address` as an address (k0s: `https://<addr>:2380`) or as a full URL, else this node's
own advertised peer URL. etcd refuses a removal that would break the active quorum; that refusal is
reported with a hint to try again once the cluster is healthy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from k0spy.errors import K0spyError
from k0spy.joinapi.settings import EtcdAccess


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    peer_urls: tuple[str, ...]
    learner: bool


def parse_members(raw: list[dict[str, Any]]) -> list[Member]:
    return [Member(str(m.get("ID", "")), str(m.get("name", "")), tuple(m.get("peerURLs") or ()),
                   bool(m.get("isLearner"))) for m in raw]


def members_doc(members: list[Member]) -> dict[str, Any]:
    """k0s's member-list JSON: `{"members": {name: first peer URL}}` (a learner not started has no name)."""
    return {"members": {m.name or m.id: (m.peer_urls[0] if m.peer_urls else "") for m in members}}


def peer_url_of(address: str) -> str:
    """`10.0.0.2` -> `https://10.0.0.2:2380`; a URL stays as given."""
    from k0spy.components.etcd import PEER_PORT, join_host_port

    if "://" in address:
        return address.rstrip("/")
    return f"https://{join_host_port(address.strip('[]'), PEER_PORT)}"


def find_member(members: list[Member], peer_url: str) -> Member:
    for member in members:
        if peer_url in member.peer_urls:
            return member
    known = ", ".join(f"{m.name or m.id}={','.join(m.peer_urls)}" for m in members) or "none"
    raise K0spyError(f"no etcd member has the peer URL {peer_url}", hint=f"members: {known}")


async def _session_call(access: EtcdAccess, path: str, body: dict[str, Any]) -> dict[str, Any]:
    import aiohttp

    from k0spy.joinapi.etcdmembers import etcd_ssl

    url = f"{access.url.rstrip('/')}{path}"
    try:
        ctx = etcd_ssl(access)
    except OSError as err:
        raise K0spyError(f"reading the etcd client certificate: {err}",
                         hint="run this on a controller with internal etcd (as root)") from err
    timeout = aiohttp.ClientTimeout(total=10)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, session.post(
                url, json=body, ssl=ctx) as resp:
            data = await resp.json(content_type=None)
    except TimeoutError as err:
        raise K0spyError(f"etcd at {access.url} did not answer {path} within {timeout.total:g}s",
                         hint="etcd cannot change membership without quorum: are enough members up?") from err
    except (aiohttp.ClientError, ValueError) as err:
        raise K0spyError(f"etcd at {access.url} cannot be reached: {str(err) or type(err).__name__}",
                         hint="is the controller (and its etcd) running?") from err
    if resp.status != 200 or not isinstance(data, dict):
        message = (data.get("message") or data.get("error")) if isinstance(data, dict) else data
        refused = "quorum" in str(message) or "unhealthy" in str(message)
        hint = "try again once every member is up and healthy" if refused else None
        raise K0spyError(f"etcd {path}: {message}", hint=hint)
    return data


async def list_members(access: EtcdAccess) -> list[Member]:
    data = await _session_call(access, "/v3/cluster/member/list", {})
    return parse_members([m for m in data.get("members") or [] if isinstance(m, dict)])


async def remove_member(access: EtcdAccess, peer_url: str) -> Member:
    """Remove the member with `peer_url`; returns it."""
    member = find_member(await list_members(access), peer_url)
    await _session_call(access, "/v3/cluster/member/remove", {"ID": member.id})
    return member
