"""The kinds the apiserver double serves, and the discovery documents kubectl reads to find them.

One table drives routing, storage keys (the real apiserver's etcd names: nodes live under `minions`) and
discovery.  Adding a kind is one line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Resource:
    name: str
    kind: str
    group: str
    version: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    etcd_name: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def storage_name(self) -> str:
        return self.etcd_name or self.name

    @property
    def singular(self) -> str:
        return self.kind.lower()


RESOURCES: tuple[Resource, ...] = (
    Resource("namespaces", "Namespace", "", "v1", False, ("ns",), ("status", "finalize")),
    Resource("secrets", "Secret", "", "v1", True),
    Resource("configmaps", "ConfigMap", "", "v1", True, ("cm",)),
    Resource("serviceaccounts", "ServiceAccount", "", "v1", True, ("sa",)),
    Resource("nodes", "Node", "", "v1", False, ("no",), ("status",), etcd_name="minions"),
    Resource("events", "Event", "", "v1", True, ("ev",)),
    Resource("leases", "Lease", "coordination.k8s.io", "v1", True),
    Resource(
        "certificatesigningrequests",
        "CertificateSigningRequest",
        "certificates.k8s.io",
        "v1",
        False,
        ("csr",),
        ("approval", "status"),
    ),
    # Stored and served generically (no controllers act on them), for manifests k0s applies.
    Resource("services", "Service", "", "v1", True, ("svc",), ("status",), etcd_name="services/specs"),
    Resource("pods", "Pod", "", "v1", True, ("po",), ("status",)),
    Resource("clusterroles", "ClusterRole", "rbac.authorization.k8s.io", "v1", False),
    Resource("clusterrolebindings", "ClusterRoleBinding", "rbac.authorization.k8s.io", "v1", False),
    Resource("roles", "Role", "rbac.authorization.k8s.io", "v1", True),
    Resource("rolebindings", "RoleBinding", "rbac.authorization.k8s.io", "v1", True),
    Resource("deployments", "Deployment", "apps", "v1", True, ("deploy",), ("status",)),
    Resource("daemonsets", "DaemonSet", "apps", "v1", True, ("ds",), ("status",)),
)

GROUP_VERSIONS: dict[tuple[str, str], list[Resource]] = {}
for _res in RESOURCES:
    GROUP_VERSIONS.setdefault((_res.group, _res.version), []).append(_res)


def find(group: str, version: str, name: str) -> Resource | None:
    for res in GROUP_VERSIONS.get((group, version), []):
        if res.name == name:
            return res
    return None


def has_status(res: Resource) -> bool:
    return "status" in res.subresources


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group_doc(group: str) -> dict[str, Any]:
    versions = [{"groupVersion": f"{g}/{v}", "version": v} for (g, v) in GROUP_VERSIONS if g == group]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def api_group_list() -> dict[str, Any]:
    groups = sorted({g for (g, _) in GROUP_VERSIONS if g})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group_doc(g) for g in groups]}


def api_group(group: str) -> dict[str, Any] | None:
    if not any(g == group for (g, _) in GROUP_VERSIONS):
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(group)}


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    entries = GROUP_VERSIONS.get((group, version))
    if entries is None:
        return None
    out: list[dict[str, Any]] = []
    for res in entries:
        out.append(
            {
                "name": res.name,
                "singularName": res.singular,
                "namespaced": res.namespaced,
                "kind": res.kind,
                "verbs": VERBS,
                "shortNames": list(res.short_names),
            }
        )
        for sub in res.subresources:
            verbs = ["update"] if sub == "finalize" else ["get", "patch", "update"]
            out.append(
                {
                    "name": f"{res.name}/{sub}",
                    "singularName": "",
                    "namespaced": res.namespaced,
                    "kind": res.kind,
                    "verbs": verbs,
                }
            )
    group_version = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": out}


def openapi_v3(group: str, version: str, entries: list[Resource]) -> dict[str, Any]:
    prefix = f"/apis/{group}/{version}" if group else "/api/v1"
    field_validation = {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for res in entries:
        gvk = {"group": group, "version": version, "kind": res.kind}
        schemas[f"io.k8s.double.{group or 'core'}.{version}.{res.kind}"] = {
            "type": "object",
            "x-kubernetes-group-version-kind": [gvk],
        }
        scope = f"{prefix}/namespaces/{{namespace}}/{res.name}" if res.namespaced else f"{prefix}/{res.name}"
        op = {"x-kubernetes-group-version-kind": gvk, "parameters": [field_validation], "responses": {}}
        paths[scope] = {"post": op}
        paths[scope + "/{name}"] = {"put": op, "patch": op}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.35.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
