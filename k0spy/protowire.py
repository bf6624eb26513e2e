"""The protobuf wire format, by hand: what k0spy's few gRPC calls (containerd's CRI, kine's etcd API) need.

Generated stubs would pull in protobuf and whole .proto trees for a handful of small messages; varints
and length-delimited fields are all those messages use, so they are encoded and decoded here. Pure
functions, no I/O.
"""

from __future__ import annotations

Fields = list[tuple[int, int | bytes]]


def encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_int(number: int, value: int) -> bytes:
    """A varint field."""
    return encode_varint(number << 3) + encode_varint(value)


def encode_bytes(number: int, value: bytes) -> bytes:
    """A length-delimited field (bytes, strings, embedded messages)."""
    return encode_varint(number << 3 | 2) + encode_varint(len(value)) + value


def encode_string(number: int, value: str) -> bytes:
    return encode_bytes(number, value.encode())


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, next position); a truncated varint ends at the end of the data."""
    shift = result = 0
    while pos < len(data):
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
    return result, pos


def decode_fields(data: bytes) -> Fields:
    """Every top-level (field number, value) of a message: ints for varints, bytes for the rest."""
    out: Fields = []
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(data, pos)
            out.append((number, value))
        elif wire == 2:
            length, pos = read_varint(data, pos)
            out.append((number, data[pos:pos + length]))
            pos += length
        elif wire == 1:
            out.append((number, data[pos:pos + 8]))
            pos += 8
        elif wire == 5:
            out.append((number, data[pos:pos + 4]))
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    return out


def decode_message(data: bytes) -> dict[int, list[int | bytes]]:
    """{field number: [values]}, for messages read by field number rather than in order."""
    fields: dict[int, list[int | bytes]] = {}
    for number, value in decode_fields(data):
        fields.setdefault(number, []).append(value)
    return fields
