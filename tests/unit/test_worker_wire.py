"""The hand-written protobuf codec for containerd's CRI and Images replies, and `k0spy ctr`'s argv."""

from __future__ import annotations

from pathlib import Path

from k0spy import protowire as pw
from k0spy.cli.ctr import ctr_argv
from k0spy.worker import grpcraw as g
from k0spy.worker import h2grpc as h


def ld(number: int, payload: bytes) -> bytes:
    return pw.encode_varint(number << 3 | 2) + pw.encode_varint(len(payload)) + payload


def vi(number: int, value: int) -> bytes:
    return pw.encode_varint(number << 3) + pw.encode_varint(value)


def test_varints() -> None:
    for value in (0, 1, 127, 128, 300, 2**35 + 7):
        assert pw.read_varint(pw.encode_varint(value), 0) == (value, len(pw.encode_varint(value)))
    assert pw.encode_varint(300) == b"\xac\x02"


def test_version_reply() -> None:
    reply = ld(1, b"0.1.0") + ld(2, b"containerd") + ld(3, b"1.6.20~ds1") + ld(4, b"v1")
    assert g.parse_version(reply) == g.RuntimeVersion("0.1.0", "containerd", "1.6.20~ds1", "v1")


def test_status_reply() -> None:
    ready = ld(1, ld(1, b"RuntimeReady") + vi(2, 1))
    network = ld(1, ld(1, b"NetworkReady") + vi(2, 0) + ld(3, b"NetworkPluginNotReady") + ld(4, b"no cni"))
    reply = ld(1, ready + network) + ld(2, ld(1, b"config") + ld(2, b"{}"))
    assert g.parse_status(reply) == [
        g.RuntimeCondition("RuntimeReady", True),
        g.RuntimeCondition("NetworkReady", False, "NetworkPluginNotReady", "no cni"),
    ]


def test_images_reply_with_labels_and_unknown_fields() -> None:
    target = ld(1, b"application/vnd.oci.image.manifest.v1+json") + ld(2, b"sha256:00") + vi(3, 1234)
    image = (ld(1, b"docker.io/library/a:1") + ld(2, ld(1, b"k1") + ld(2, b'{"/a,b":"t"}'))
             + ld(2, ld(1, b"k2") + ld(2, b"")) + ld(3, target) + ld(7, vi(1, 5)))
    reply = ld(1, image) + ld(1, ld(1, b"b:2"))
    assert g.parse_images(reply) == [g.Image("docker.io/library/a:1", {"k1": '{"/a,b":"t"}', "k2": ""}),
                                     g.Image("b:2", {})]
    fixed = pw.decode_fields(b"\x0d\x01\x02\x03\x04\x11" + bytes(8))
    assert fixed == [(1, b"\x01\x02\x03\x04"), (2, bytes(8))]


def test_hpack_integers_rfc7541_examples() -> None:
    assert h.hpack_int(10, 5) == b"\x0a"
    assert h.hpack_int(1337, 5) == b"\x1f\x9a\x0a"
    assert h.hpack_int(42, 8) == b"\x2a"
    assert h.hpack_int(127, 7) == b"\x7f\x00"


def test_request_frames() -> None:
    data = h.request_bytes("/a.B/C", b"xyz", (("containerd-namespace", "k8s.io"),))
    assert data.startswith(h.PREFACE)
    frames = []
    pos = len(h.PREFACE)
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 3], "big")
        frames.append((data[pos + 3], data[pos + 4], int.from_bytes(data[pos + 5:pos + 9], "big"),
                       data[pos + 9:pos + 9 + length]))
        pos += 9 + length
    assert [(kind, flags, stream) for kind, flags, stream, _ in frames] == [
        (h.SETTINGS, 0, 0), (h.WINDOW_UPDATE, 0, 0), (h.HEADERS, h.END_HEADERS, 1), (h.DATA, h.END_STREAM, 1)]
    headers = frames[2][3]
    assert headers.startswith(b"\x83\x86\x04\x06/a.B/C")
    assert h.hpack_literal("containerd-namespace", "k8s.io") in headers
    assert frames[3][3] == b"\x00\x00\x00\x00\x03xyz"


def test_grpc_message_framing() -> None:
    assert h.grpc_message(b"\x00\x00\x00\x00\x02ab", "/m") == b"ab"
    assert h.grpc_message(b"\x00\x00\x00\x00\x00", "/m") == b""
    for body, why in ((b"", "no reply message"), (b"\x01\x00\x00\x00\x00", "compressed"),
                      (b"\x00\x00\x00\x00\x05ab", "truncated")):
        try:
            h.grpc_message(body, "/m")
        except h.GrpcError as err:
            assert why in str(err)
        else:
            raise AssertionError(f"{body!r} accepted")


SOCK = Path("/run/k0s/containerd.sock")


def test_ctr_defaults_added() -> None:
    assert ctr_argv("ctr", ["images", "ls"], SOCK, {}) == [
        "ctr", "--address", "/run/k0s/containerd.sock", "--namespace", "k8s.io", "images", "ls"]


def test_ctr_defaults_left_to_the_caller() -> None:
    assert ctr_argv("ctr", ["-n", "default", "images", "ls"], SOCK, {}) == [
        "ctr", "--address", str(SOCK), "-n", "default", "images", "ls"]
    assert ctr_argv("ctr", ["--address=/x", "--namespace=y", "version"], SOCK, {}) == [
        "ctr", "--address=/x", "--namespace=y", "version"]
    assert ctr_argv("ctr", ["version"], SOCK, {"CONTAINERD_ADDRESS": "/e", "CONTAINERD_NAMESPACE": "z"}) == [
        "ctr", "version"]
    # after the sub-command, -n belongs to the sub-command: the defaults stay
    argv = ctr_argv("ctr", ["run", "-n", "x"], SOCK, {})
    assert argv[1:5] == ["--address", str(SOCK), "--namespace", "k8s.io"]
