"""Kubeconfigs with embedded credentials, shaped like client-go's `clientcmd.Write` output.

Component kubeconfigs (admin, scheduler, ccm, konnectivity) use cluster `local`, context `Default`, user
`user` and the local URL, and are rewritten on every start because the certificates they embed are. User
kubeconfigs (`kubeconfig create`) name cluster and context after `--context-name` and the user after
the user.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def kubeconfig_dict(
    server: str, ca_pem: bytes, cert_pem: bytes, key_pem: bytes, *,
    cluster: str = "local", context: str = "Default", user: str = "user",
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "clusters": [{"cluster": {"certificate-authority-data": _b64(ca_pem), "server": server},
                      "name": cluster}],
        "contexts": [{"context": {"cluster": cluster, "user": user}, "name": context}],
        "current-context": context,
        "kind": "Config",
        "preferences": {},
        "users": [{"name": user, "user": {"client-certificate-data": _b64(cert_pem),
                                          "client-key-data": _b64(key_pem)}}],
    }


def render_kubeconfig(
    server: str, ca_pem: bytes, cert_pem: bytes, key_pem: bytes, *,
    cluster: str = "local", context: str = "Default", user: str = "user",
) -> str:
    """The kubeconfig as YAML text, laid out as `kubeconfig_dict` (and client-go) order it.

    Rendered by hand: PyYAML's pure-Python emitter spent ~14 ms per file scanning the base64 data, which
    is a tenth of a warm start. Names and the URL are quoted whenever they are not plainly safe.
    """
    c, x, u = _scalar(cluster), _scalar(context), _scalar(user)
    return (
        "apiVersion: v1\nclusters:\n- cluster:\n"
        f"    certificate-authority-data: {_b64(ca_pem)}\n    server: {_scalar(server)}\n  name: {c}\n"
        f"contexts:\n- context:\n    cluster: {c}\n    user: {u}\n  name: {x}\n"
        f"current-context: {x}\nkind: Config\npreferences: {{}}\nusers:\n- name: {u}\n  user:\n"
        f"    client-certificate-data: {_b64(cert_pem)}\n    client-key-data: {_b64(key_pem)}\n"
    )


_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9._:/@\[\]-]*$")
_YAML11_WORDS = frozenset({"y", "yes", "n", "no", "on", "off", "true", "false", "null"})


def _scalar(value: str) -> str:
    """`value` as a YAML scalar: plain when unambiguous, else double-quoted (JSON strings are YAML)."""
    if _PLAIN.match(value) and value.lower() not in _YAML11_WORDS and ": " not in value:
        return value
    return json.dumps(value)
