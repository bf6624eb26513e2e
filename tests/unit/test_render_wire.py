"""The hand-encoded etcd protobuf messages the kine probe sends, checked byte for byte."""

from __future__ import annotations

from k0spy.components.probes import (
    create_txn_request,
    decode_message,
    lease_grant_request,
    range_request,
    range_values,
)


def test_lease_grant_request() -> None:
    assert lease_grant_request(64) == b"\x08\x40"
    assert lease_grant_request(300) == b"\x08\xac\x02"


def test_range_request() -> None:
    assert range_request(b"/k") == b"\x0a\x02/k"


def test_create_txn_is_a_mod_revision_zero_compare_and_one_put() -> None:
    msg = decode_message(create_txn_request(b"/k", b"v", 7))
    assert set(msg) == {1, 2}
    compare = decode_message(msg[1][0])  # type: ignore[arg-type]
    assert compare == {2: [2], 3: [b"/k"], 6: [0]}  # target MOD, key, mod_revision 0 (explicit: oneof)
    op = decode_message(msg[2][0])  # type: ignore[arg-type]
    assert decode_message(op[2][0]) == {1: [b"/k"], 2: [b"v"], 3: [7]}  # type: ignore[arg-type]


def test_range_values_reads_kvs_in_order() -> None:
    kv1 = b"\x0a\x02/k" + b"\x2a\x01a"
    kv2 = b"\x0a\x02/k" + b"\x10\x05" + b"\x2a\x01b"
    header = b"\x0a\x04\x08\x01\x10\x02"
    response = header + b"\x12" + bytes([len(kv1)]) + kv1 + b"\x12" + bytes([len(kv2)]) + kv2 + b"\x20\x02"
    assert range_values(response) == [b"a", b"b"]
    assert range_values(header) == []
