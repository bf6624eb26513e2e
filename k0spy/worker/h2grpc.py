"""A minimal gRPC unary client over HTTP/2 cleartext on a unix socket, in plain asyncio.

grpcio costs the supervising process about 45 ms to import and 20 MiB of resident memory (measured on
the CI machine: `import grpc.aio`), for three read-only calls to containerd. This module speaks just
enough HTTP/2 for one unary call per connection: the client preface, SETTINGS with a large window (so no
flow control is needed afterwards), one HEADERS frame (HPACK literals without indexing and without
Huffman, which every decoder accepts), one DATA frame carrying the 5-byte gRPC message prefix, then it
reads frames until the stream ends, answering SETTINGS and PING as the protocol requires.

A call succeeds when the server sent one complete, uncompressed gRPC message. A failed call has no
message (gRPC puts the status in trailers, which servers Huffman-encode; it is not decoded here), so the
error says which method got no answer and what the connection did.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from pathlib import Path

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0x0, 0x1, 0x3, 0x4, 0x6, 0x7, 0x8
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
STREAM = 1
MAX_WINDOW = 2**31 - 1
DEFAULT_WINDOW = 65535
SETTINGS_INITIAL_WINDOW_SIZE, SETTINGS_ENABLE_PUSH = 0x4, 0x2
MAX_REPLY = 64 << 20


class GrpcError(Exception):
    """The call got no message back; the text says what happened instead."""


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes((kind, flags)) + struct.pack(">I", stream) + payload


def hpack_int(value: int, prefix_bits: int, first: int = 0) -> bytes:
    """RFC 7541 5.1 integer with an N-bit prefix; `first` holds the representation's leading bits."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first | value,))
    out = bytearray((first | limit,))
    value -= limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


def hpack_literal(name: str, value: str) -> bytes:
    """Literal header field without indexing, new name, no Huffman (RFC 7541 6.2.2)."""
    raw_name, raw_value = name.encode(), value.encode()
    return (b"\x00" + hpack_int(len(raw_name), 7) + raw_name + hpack_int(len(raw_value), 7) + raw_value)


def request_headers(path: str, metadata: tuple[tuple[str, str], ...] = ()) -> bytes:
    block = b"\x83\x86"  # :method POST, :scheme http (static table 3 and 6)
    block += b"\x04" + hpack_int(len(path.encode()), 7) + path.encode()  # :path, indexed name 4
    block += hpack_literal(":authority", "localhost")
    for name, value in (("content-type", "application/grpc"), ("te", "trailers"), *metadata):
        block += hpack_literal(name, value)
    return block


def request_bytes(path: str, message: bytes, metadata: tuple[tuple[str, str], ...] = ()) -> bytes:
    """Everything the client sends, in one write."""
    settings = struct.pack(">HI", SETTINGS_ENABLE_PUSH, 0) + struct.pack(">HI", SETTINGS_INITIAL_WINDOW_SIZE,
                                                                           MAX_WINDOW)
    return (PREFACE + frame(SETTINGS, 0, 0, settings)
            + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", MAX_WINDOW - DEFAULT_WINDOW))
            + frame(HEADERS, END_HEADERS, STREAM, request_headers(path, metadata))
            + frame(DATA, END_STREAM, STREAM, b"\x00" + struct.pack(">I", len(message)) + message))


def grpc_message(body: bytes, method: str) -> bytes:
    """The one message of a unary reply from the concatenated DATA payloads."""
    if len(body) < 5:
        raise GrpcError(f"{method}: no reply message (the call failed; status in trailers)")
    compressed, length = body[0], struct.unpack(">I", body[1:5])[0]
    if compressed:
        raise GrpcError(f"{method}: compressed reply not supported")
    if len(body) < 5 + length:
        raise GrpcError(f"{method}: truncated reply ({len(body) - 5} of {length} bytes)")
    return body[5:5 + length]


async def _read_frame(reader: asyncio.StreamReader) -> tuple[int, int, int, bytes]:
    head = await reader.readexactly(9)
    length = int.from_bytes(head[:3], "big")
    kind, flags = head[3], head[4]
    stream = struct.unpack(">I", head[5:9])[0] & 0x7FFFFFFF
    return kind, flags, stream, await reader.readexactly(length)


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, method: str) -> bytes:
    body = bytearray()
    while True:
        kind, flags, stream, payload = await _read_frame(reader)
        if kind == SETTINGS and not flags & ACK:
            writer.write(frame(SETTINGS, ACK, 0))
        elif kind == PING and not flags & ACK:
            writer.write(frame(PING, ACK, 0, payload))
        elif kind == GOAWAY:
            code = struct.unpack(">I", payload[4:8])[0] if len(payload) >= 8 else -1
            raise GrpcError(f"{method}: server closed the connection (GOAWAY, code {code})")
        elif kind == RST_STREAM and stream == STREAM:
            code = struct.unpack(">I", payload[:4])[0] if len(payload) >= 4 else -1
            raise GrpcError(f"{method}: stream reset by the server (code {code})")
        elif kind == DATA and stream == STREAM:
            if flags & 0x8:  # PADDED
                pad = payload[0]
                payload = payload[1:len(payload) - pad]
            body += payload
            if len(body) > MAX_REPLY:
                raise GrpcError(f"{method}: reply larger than {MAX_REPLY} bytes")
        if stream == STREAM and kind in (DATA, HEADERS) and flags & END_STREAM:
            return grpc_message(bytes(body), method)


async def unary(socket: Path | str, method: str, message: bytes = b"", *, timeout: float = 2.0,
                metadata: tuple[tuple[str, str], ...] = ()) -> bytes:
    """Call `method` (`/package.Service/Method`) with a serialised request; the serialised reply."""
    path = str(socket).removeprefix("unix://")

    async def call() -> bytes:
        try:
            reader, writer = await asyncio.open_unix_connection(path, limit=1 << 20)
        except OSError as err:
            raise GrpcError(f"{method}: cannot connect to {path}: {err.strerror or err}") from err
        try:
            writer.write(request_bytes(method, message, metadata))
            await writer.drain()
            return await _exchange(reader, writer, method)
        except (asyncio.IncompleteReadError, ConnectionError) as err:
            raise GrpcError(f"{method}: connection closed before the reply ended") from err
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    try:
        return await asyncio.wait_for(call(), timeout)
    except TimeoutError as err:
        raise GrpcError(f"{method}: no reply within {timeout:g}s") from err
