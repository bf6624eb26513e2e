"""Decoding the Kubernetes protobuf request bodies kubectl's typed commands send.

`kubectl create namespace|secret|configmap|serviceaccount` and `kubectl certificate approve|deny` send
`application/vnd.kubernetes.protobuf` (no JSON fallback exists), so the double decodes those kinds:
the `k8s\\0` envelope (runtime.Unknown) and the fields of k8s.io/api's generated.proto for them.
Responses stay JSON (kubectl accepts both).
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

MAGIC = b"k8s\x00"

# message -> field number -> (json name, kind, repeated); kind is a scalar type or a message name.
TIME = {1: ("seconds", "int", False), 2: ("nanos", "int", False)}
OWNER_REF = {
    1: ("kind", "string", False),
    3: ("name", "string", False),
    4: ("uid", "string", False),
    5: ("apiVersion", "string", False),
    6: ("controller", "bool", False),
    7: ("blockOwnerDeletion", "bool", False),
}
OBJECT_META = {
    1: ("name", "string", False),
    2: ("generateName", "string", False),
    3: ("namespace", "string", False),
    5: ("uid", "string", False),
    6: ("resourceVersion", "string", False),
    7: ("generation", "int", False),
    8: ("creationTimestamp", "Time", False),
    9: ("deletionTimestamp", "Time", False),
    10: ("deletionGracePeriodSeconds", "int", False),
    11: ("labels", "map:string", False),
    12: ("annotations", "map:string", False),
    13: ("ownerReferences", "OwnerReference", True),
    14: ("finalizers", "string", True),
}
SCHEMAS: dict[str, dict[int, tuple[str, str, bool]]] = {
    "Time": TIME,
    "OwnerReference": OWNER_REF,
    "ObjectMeta": OBJECT_META,
    "Namespace": {
        1: ("metadata", "ObjectMeta", False),
        2: ("spec", "NamespaceSpec", False),
        3: ("status", "NamespaceStatus", False),
    },
    "NamespaceSpec": {1: ("finalizers", "string", True)},
    "NamespaceStatus": {1: ("phase", "string", False)},
    "Secret": {
        1: ("metadata", "ObjectMeta", False),
        2: ("data", "map:bytes", False),
        3: ("type", "string", False),
        4: ("stringData", "map:string", False),
        5: ("immutable", "bool", False),
    },
    "ConfigMap": {
        1: ("metadata", "ObjectMeta", False),
        2: ("data", "map:string", False),
        3: ("binaryData", "map:bytes", False),
        4: ("immutable", "bool", False),
    },
    "ServiceAccount": {
        1: ("metadata", "ObjectMeta", False),
        2: ("secrets", "ObjectReference", True),
        3: ("imagePullSecrets", "LocalObjectReference", True),
        4: ("automountServiceAccountToken", "bool", False),
    },
    "ObjectReference": {
        1: ("kind", "string", False),
        2: ("namespace", "string", False),
        3: ("name", "string", False),
        4: ("uid", "string", False),
        5: ("apiVersion", "string", False),
    },
    "LocalObjectReference": {1: ("name", "string", False)},
    "CertificateSigningRequest": {
        1: ("metadata", "ObjectMeta", False),
        2: ("spec", "CSRSpec", False),
        3: ("status", "CSRStatus", False),
    },
    "CSRSpec": {
        1: ("request", "bytes", False),
        2: ("username", "string", False),
        3: ("uid", "string", False),
        4: ("groups", "string", True),
        5: ("usages", "string", True),
        7: ("signerName", "string", False),
        8: ("expirationSeconds", "int", False),
    },
    "CSRStatus": {1: ("conditions", "CSRCondition", True), 2: ("certificate", "bytes", False)},
    "CSRCondition": {
        1: ("type", "string", False),
        2: ("reason", "string", False),
        3: ("message", "string", False),
        4: ("lastUpdateTime", "Time", False),
        5: ("lastTransitionTime", "Time", False),
        6: ("status", "string", False),
    },
}


class ProtobufError(ValueError):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value: int or bytes) in order."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _scalar(kind: str, value: Any) -> Any:
    if kind == "string":
        return bytes(value).decode()
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode()
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return value - (1 << 64) if value >= 1 << 63 else value
    raise ProtobufError(f"unknown scalar {kind}")


def decode_message(name: str, data: bytes) -> Any:
    schema = SCHEMAS[name]
    out: dict[str, Any] = {}
    for number, _, value in fields(data):
        if number not in schema:
            continue
        key, kind, repeated = schema[number]
        if kind.startswith("map:"):
            entry = dict((n, v) for n, _, v in fields(value))
            out.setdefault(key, {})[bytes(entry.get(1, b"")).decode()] = _scalar(kind[4:], entry.get(2, b""))
            continue
        decoded = decode_message(kind, value) if kind in SCHEMAS else _scalar(kind, value)
        if repeated:
            out.setdefault(key, []).append(decoded)
        elif decoded not in ("", 0, False, {}):
            out[key] = decoded  # proto2 sends empty optionals; Go's JSON would omit them
    if name == "Time":
        stamp = datetime.datetime.fromtimestamp(out.get("seconds", 0), datetime.UTC)
        return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf-encoded object of a supported kind, as the JSON the apiserver would have received."""
    if not body.startswith(MAGIC):
        raise ProtobufError("provided data does not contain the Kubernetes protobuf magic prefix")
    envelope = dict((n, v) for n, _, v in fields(body[len(MAGIC) :]))
    type_meta = dict((n, v) for n, _, v in fields(envelope.get(1, b"")))
    api_version, kind = bytes(type_meta.get(1, b"")).decode(), bytes(type_meta.get(2, b"")).decode()
    if kind not in SCHEMAS:
        raise ProtobufError(f"the k0spy apiserver double cannot decode protobuf for kind {kind!r}")
    obj = decode_message(kind, envelope.get(2, b""))
    obj["apiVersion"], obj["kind"] = api_version, kind
    return dict(obj)
