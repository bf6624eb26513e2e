"""Who is calling (client certificate, bootstrap token, static token file) and what they may do.

Authentication follows the real apiserver: a client certificate verified against --client-ca-file gives
user = CN, groups = O; `Authorization: Bearer <id>.<secret>` is checked against Secret
kube-system/bootstrap-token-<id> (type, secret, expiration, usage-bootstrap-authentication) and gives
system:bootstrap:<id> in system:bootstrappers (+ auth-extra-groups).  Unlike the real server, a client
certificate from another CA fails the TLS handshake (Python's ssl cannot request a certificate without
verifying it) instead of yielding 401.

Authorization is a fixed policy standing in for Node+RBAC with the bindings k0s installs:
system:masters, system:kube-controller-manager and system:kube-scheduler may do anything; bootstrappers may
create/get/list/watch CSRs and read ConfigMaps; nodes may read nodes, write their own Node and Lease, read
ConfigMaps/Secrets, create CSRs and events; everyone authenticated may read discovery, /version and health.
"""

from __future__ import annotations

import base64
import datetime
import re
import ssl
from dataclasses import dataclass, field
from typing import Any

from .resources import RESOURCES, Resource
from .store import StatusError, Store

TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
SECRETS = next(r for r in RESOURCES if r.name == "secrets")
ALL_POWERFUL_USERS = {"system:kube-controller-manager", "system:kube-scheduler"}


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        return {"username": self.name, "groups": list(self.groups)}


def unauthorized() -> StatusError:
    return StatusError(401, "Unauthorized", "Unauthorized")


def user_from_peercert(peer: dict[str, Any] | None) -> User | None:
    """ssl.getpeercert() of a verified client certificate -> User (CN, O...)."""
    if not peer:
        return None
    cn, orgs = "", []
    for rdn in peer.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                cn = value
            elif key == "organizationName":
                orgs.append(value)
    return User(cn, (*orgs, "system:authenticated")) if cn else None


def _secret_field(secret: dict[str, Any], key: str) -> str:
    raw = (secret.get("data") or {}).get(key)
    return base64.b64decode(raw).decode() if raw else ""


async def user_from_bootstrap_token(store: Store, token: str) -> User | None:
    match = TOKEN_RE.match(token)
    if not match:
        return None
    token_id, token_secret = match.groups()
    try:
        secret = await store.get(SECRETS, "kube-system", f"bootstrap-token-{token_id}")
    except StatusError:
        return None
    if secret.get("type") != "bootstrap.kubernetes.io/token":
        return None
    if _secret_field(secret, "token-secret") != token_secret or _secret_field(secret, "token-id") != token_id:
        return None
    expiration = _secret_field(secret, "expiration")
    if expiration and _parse_time(expiration) <= datetime.datetime.now(datetime.UTC):
        return None
    if _secret_field(secret, "usage-bootstrap-authentication") != "true":
        return None
    extra = [g.strip() for g in _secret_field(secret, "auth-extra-groups").split(",") if g.strip()]
    return User(f"system:bootstrap:{token_id}", ("system:bootstrappers", *extra, "system:authenticated"))


def _parse_time(text: str) -> datetime.datetime:
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.datetime.min.replace(tzinfo=datetime.UTC)


def load_token_file(path: str, data: bytes) -> dict[str, User]:
    """--token-auth-file CSV: token,user,uid[,"group1,group2"]."""
    import csv
    import io

    users: dict[str, User] = {}
    for row in csv.reader(io.StringIO(data.decode())):
        if not row or row[0].startswith("#"):
            continue
        if len(row) < 3:
            from ..tlsfiles import StartupError

            raise StartupError(
                f"token file '{path}' must have at least 3 columns (token, user name, user "
                f"uid), found {len(row)}"
            )
        groups = tuple(g.strip() for g in row[3].split(",") if g.strip()) if len(row) > 3 else ()
        users[row[0]] = User(row[1], (*groups, "system:authenticated"))
    return users


@dataclass
class Authenticator:
    store: Store
    bootstrap_tokens: bool
    anonymous: bool
    static_tokens: dict[str, User]

    async def authenticate(self, ssl_object: ssl.SSLObject | None, authorization: str) -> User:
        if authorization.startswith("Bearer "):
            token = authorization[len("Bearer ") :].strip()
            if token in self.static_tokens:
                return self.static_tokens[token]
            if self.bootstrap_tokens:
                user = await user_from_bootstrap_token(self.store, token)
                if user is not None:
                    return user
            raise unauthorized()
        user = user_from_peercert(ssl_object.getpeercert() if ssl_object is not None else None)
        if user is not None:
            return user
        if self.anonymous:
            return User("system:anonymous", ("system:unauthenticated",))
        raise unauthorized()


def _node_name(user: User) -> str | None:
    if "system:nodes" in user.groups and user.name.startswith("system:node:"):
        return user.name[len("system:node:") :]
    return None


def allowed(user: User, verb: str, res: Resource, ns: str, name: str, sub: str) -> bool:
    groups = set(user.groups)
    if "system:masters" in groups or user.name in ALL_POWERFUL_USERS:
        return True
    reading = verb in ("get", "list", "watch")
    if res.name == "certificatesigningrequests" and not sub and verb in ("create", "get", "list", "watch"):
        return bool(groups & {"system:bootstrappers", "system:nodes"})
    if res.name == "configmaps" and reading:
        return bool(groups & {"system:bootstrappers", "system:nodes"})
    node = _node_name(user)
    if node is None:
        return False
    if res.name == "nodes":
        return reading or verb == "create" or name == node
    if res.name == "leases":
        return ns == "kube-node-lease" and (verb == "create" or name == node or reading)
    if res.name == "events":
        return verb in ("create", "update", "patch")
    return res.name in ("secrets", "namespaces", "serviceaccounts") and reading


def forbidden(user: User, verb: str, res: Resource, ns: str, name: str) -> StatusError:
    scope = f'in the namespace "{ns}"' if ns else "at the cluster scope"
    target = f'{res.name} "{name}"' if name else res.name
    resource = f"{res.name}.{res.group}" if res.group else res.name
    return StatusError(
        403,
        "Forbidden",
        f'{target} is forbidden: User "{user.name}" cannot {verb} resource '
        f'"{res.name}" in API group "{res.group}" {scope}',
        {"name": name, "group": res.group, "kind": res.name}
        if name
        else {"group": res.group, "kind": resource},
    )
