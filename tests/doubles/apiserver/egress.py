"""--egress-selector-config-file: strict decoding and validation of EgressSelectorConfiguration, per
flags/egress-selector.txt (unknown fields are errors, GRPC needs uds.udsName, names are unique)."""

from __future__ import annotations

from typing import Any

from ..tlsfiles import StartupError, read_file

API_VERSIONS = {"apiserver.k8s.io/v1alpha1", "apiserver.k8s.io/v1beta1", "apiserver.k8s.io/v1"}
FIELDS: dict[str, set[str]] = {
    "": {"apiVersion", "kind", "egressSelections"},
    "egressSelections[]": {"name", "connection"},
    "connection": {"proxyProtocol", "transport"},
    "transport": {"tcp", "uds"},
    "tcp": {"url", "tlsConfig"},
    "tlsConfig": {"caBundle", "clientKey", "clientCert"},
    "uds": {"udsName"},
}


def _strict(path: str, section: str, doc: Any) -> None:
    if not isinstance(doc, dict):
        raise StartupError(
            f'failed to read egress selector configuration from "{path}": {section or "root"} '
            "must be an object"
        )
    for key in doc:
        if key not in FIELDS[section]:
            raise StartupError(
                f'failed to read egress selector configuration from "{path}": strict decoding '
                f'error: unknown field "{section + "." if section else ""}{key}"'
            )


def load(path: str) -> None:
    import yaml

    try:
        doc = yaml.safe_load(read_file(path))
    except yaml.YAMLError as err:
        raise StartupError(f'failed to read egress selector configuration from "{path}": {err}') from None
    _strict(path, "", doc)
    if doc.get("kind") != "EgressSelectorConfiguration" or doc.get("apiVersion") not in API_VERSIONS:
        raise StartupError(
            f'failed to read egress selector configuration from "{path}": no kind '
            f'"{doc.get("kind")}" is registered for version "{doc.get("apiVersion")}"'
        )
    seen: set[str] = set()
    for selection in doc.get("egressSelections") or []:
        _strict(path, "egressSelections[]", selection)
        name = str(selection.get("name", "")).lower()
        if name not in ("controlplane", "cluster", "etcd"):
            raise StartupError(
                f'invalid egress selector configuration: egressSelection.name: Unsupported value: "{name}"'
            )
        if name in seen:
            raise StartupError(
                f'invalid egress selector configuration: egressSelection.name: Duplicate value: "{name}"'
            )
        seen.add(name)
        _check_connection(path, selection.get("connection") or {})


def _check_connection(path: str, conn: Any) -> None:
    _strict(path, "connection", conn)
    protocol = conn.get("proxyProtocol")
    transport = conn.get("transport")
    if transport is not None:
        _strict(path, "transport", transport)
        for kind in ("tcp", "uds"):
            if transport.get(kind) is not None:
                _strict(path, kind, transport[kind])
        if (transport.get("tcp") or {}).get("tlsConfig") is not None:
            _strict(path, "tlsConfig", transport["tcp"]["tlsConfig"])
    if protocol == "GRPC":
        if not (transport or {}).get("uds", {}).get("udsName"):
            raise StartupError(
                "invalid egress selector configuration: connection.transport.uds.udsName: "
                "Required value: udsName should be set for GRPC"
            )
    elif protocol == "HTTPConnect":
        if not transport or bool(transport.get("tcp")) == bool(transport.get("uds")):
            raise StartupError(
                "invalid egress selector configuration: connection.transport: Required value: "
                "exactly one of tcp or uds must be set for HTTPConnect"
            )
    elif protocol == "Direct":
        if transport:
            raise StartupError(
                "invalid egress selector configuration: connection.transport: Forbidden: "
                "transport must be empty for Direct"
            )
    else:
        raise StartupError(
            f"invalid egress selector configuration: connection.proxyProtocol: Unsupported "
            f'value: "{protocol}"'
        )
