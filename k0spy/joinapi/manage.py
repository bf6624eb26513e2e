"""`token create|list|invalidate` as library calls: policy (pure) and the three API round trips.

The running controller is asked through its status socket whether joining is possible (k0s refuses for
single-node clusters, and controller tokens when the storage cannot be shared); the token's URL comes
from the node config's api section exactly as k0s builds it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from k0spy.errors import K0spyError
from k0spy.joinapi.token import ROLE_CONTROLLER, ROLES, make_join_token
from k0spy.joinapi.tokens import BootstrapToken, create_token, format_expiry, invalidate_token, list_tokens
from k0spy.kube.client import KubeClient, credentials_from_kubeconfig


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _has_port(address: str) -> bool:
    if address.startswith("["):
        return "]:" in address
    return address.count(":") == 1


def join_url(api: dict[str, Any], role: str) -> str:
    """k0s getExternalURIForPort: externalAddress with a port verbatim, else host + port of the role."""
    port = int(api.get("k0sApiPort") or 9443) if role == ROLE_CONTROLLER else int(api.get("port") or 6443)
    external = str(api.get("externalAddress") or "")
    if external and _has_port(external):
        return f"https://{external}"
    return f"https://{_host_port(external or str(api.get('address') or ''), port)}"


def storage_joinable(storage: dict[str, Any]) -> bool:
    """spec.storage.IsJoinable on the JSON form of the config."""
    from k0spy.config.model_storage import KineConfig

    kind = storage.get("type") or "etcd"
    if kind == "etcd":
        return True
    if kind == "kine":
        kine = storage.get("kine") or {}
        return KineConfig.model_validate({"dataSource": str(kine.get("dataSource", ""))}).is_joinable()
    return False


def check_acceptable(status: dict[str, Any], role: str) -> None:
    """k0s ensureTokenCreationAcceptable, on the daemon's `/status` document."""
    if role not in ROLES:
        raise K0spyError(f"unsupported role {role!r}; supported roles are \"controller\" and \"worker\"")
    if status.get("SingleNode"):
        raise K0spyError("refusing to create token: cannot join into a single node cluster",
                         hint="a controller started with --single (or on sqlite kine) cannot take more nodes")
    spec = (status.get("ClusterConfig") or {}).get("spec") or {}
    if role == ROLE_CONTROLLER and not storage_joinable(spec.get("storage") or {}):
        raise K0spyError("refusing to create token: cannot join controller into current storage",
                         hint="controllers can join etcd or a shared kine backend, not sqlite")


async def create(admin_kubeconfig: Path, ca_cert: Path, api: dict[str, Any], role: str,
                 expiry: dt.timedelta | None) -> str:
    try:
        ca_pem = ca_cert.read_bytes()
    except OSError as err:
        raise K0spyError(f"failed to read cluster CA from {str(ca_cert)!r}: {err.strerror or err}",
                         hint="check if the control plane is initialized on this node") from err
    url = join_url(api, role)
    async with KubeClient(credentials_from_kubeconfig(admin_kubeconfig)) as kube:
        token = await create_token(kube, role, expiry)
    return make_join_token(url, ca_pem, role, token)


async def list_(admin_kubeconfig: Path) -> list[BootstrapToken]:
    async with KubeClient(credentials_from_kubeconfig(admin_kubeconfig)) as kube:
        return await list_tokens(kube)


async def invalidate(admin_kubeconfig: Path, token_ids: list[str]) -> list[str]:
    """Delete each token; returns the ids (missing ones count as deleted, as in k0s)."""
    async with KubeClient(credentials_from_kubeconfig(admin_kubeconfig)) as kube:
        for token_id in token_ids:
            await invalidate_token(kube, token_id)
    return token_ids


def token_rows(tokens: list[BootstrapToken], role: str | None) -> list[dict[str, str]]:
    rows = []
    for tok in sorted(tokens, key=lambda t: (t.created, t.token_id)):
        if role and tok.role != role:
            continue
        rows.append({"id": tok.token_id, "role": tok.role, "created": tok.created,
                     "expires": format_expiry(tok.expires) if tok.expires else "",
                     "description": tok.description})
    return rows


def render_table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return "No k0s join tokens found\n"
    header = ["ID", "ROLE", "CREATED", "EXPIRES AT", "DESCRIPTION"]
    keys = ["id", "role", "created", "expires", "description"]
    table = [header] + [[row[k] for k in keys] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(keys))]
    return "".join("   ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() + "\n"
                   for line in table)


def render_json(rows: list[dict[str, str]]) -> str:
    return json.dumps(rows, indent=2) + "\n"
