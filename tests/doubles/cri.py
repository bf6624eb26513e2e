"""CRI v1 calls to a real containerd with grpcio, without generated stubs: the requests are empty messages
and the replies are decoded by hand (RuntimeService.Version: four string fields; Status: conditions)."""

from __future__ import annotations

from dataclasses import dataclass

VERSION = "/runtime.v1.RuntimeService/Version"
STATUS = "/runtime.v1.RuntimeService/Status"


@dataclass(frozen=True)
class RuntimeVersion:
    version: str
    runtime_name: str
    runtime_version: str
    runtime_api_version: str


def _strings(data: bytes) -> dict[int, str]:
    """Top-level length-delimited fields of a protobuf message, as text."""
    out: dict[int, str] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 2:
            length, pos = _varint(data, pos)
            out.setdefault(number, data[pos : pos + length].decode(errors="replace"))
            pos += length
        elif wire == 0:
            _, pos = _varint(data, pos)
        else:
            break
    return out


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while pos < len(data):
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
    return result, pos


def grpc_target(endpoint: str) -> str:
    """A CRI endpoint (unix:///path, or a bare path) as a grpc target."""
    if endpoint.startswith("unix://"):
        return "unix:" + endpoint[len("unix://") :]
    if endpoint.startswith("/"):
        return "unix:" + endpoint
    return endpoint


async def runtime_version(endpoint: str, timeout: float = 2.0) -> RuntimeVersion:
    """Raises grpc.aio.AioRpcError when the runtime does not answer."""
    import grpc  # type: ignore[import-untyped]

    async with grpc.aio.insecure_channel(grpc_target(endpoint)) as channel:
        call = channel.unary_unary(VERSION, request_serializer=None, response_deserializer=None)
        reply: bytes = await call(b"", timeout=timeout)
    fields = _strings(reply)
    return RuntimeVersion(fields.get(1, ""), fields.get(2, ""), fields.get(3, ""), fields.get(4, ""))
