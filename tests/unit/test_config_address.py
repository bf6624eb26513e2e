"""Default address choice, as k0s's iface.FirstPublicAddress (pure parts, no host access)."""

from __future__ import annotations

import socket
import struct

from k0spy.config.address import parse_ifaddrmsg, pick_public_address, split_host_port

V4, V6 = socket.AF_INET, socket.AF_INET6


def test_first_non_loopback_ipv4_wins() -> None:
    ifaces = [
        ("lo", [(V4, "127.0.0.1", False), (V6, "::1", False)]),
        ("eth0", [(V6, "fd00::2", False), (V4, "192.0.2.2", False)]),
    ]
    assert pick_public_address(ifaces) == "192.0.2.2"


def test_cni_interfaces_and_secondary_addresses_are_skipped() -> None:
    ifaces = [
        ("kube-bridge", [(V4, "10.244.0.1", False)]),
        ("vxlan.calico", [(V4, "10.244.1.0", False)]),
        ("cali123", [(V4, "10.244.2.0", False)]),
        ("veth0", [(V4, "10.244.3.0", False)]),
        ("dummyvip0", [(V4, "10.9.9.9", False)]),
        ("eth0", [(V4, "192.0.2.9", True)]),  # a keepalived VIP: secondary
        ("eth1", [(V4, "198.51.100.7", False)]),
    ]
    assert pick_public_address(ifaces) == "198.51.100.7"


def test_ipv6_when_no_ipv4_and_zone_stripped() -> None:
    ifaces = [("lo", [(V4, "127.0.0.1", False)]), ("eth0", [(V6, "fe80::1%eth0", False)])]
    assert pick_public_address(ifaces) == "fe80::1"


def test_loopback_fallback() -> None:
    assert pick_public_address([("lo", [(V4, "127.0.0.1", False), (V6, "::1", False)])]) == "127.0.0.1"


def _attr(kind: int, data: bytes) -> bytes:
    length = 4 + len(data)
    return struct.pack("=HH", length, kind) + data + b"\0" * (-length % 4)


def test_parse_ifaddrmsg_prefers_local_and_reads_extended_flags() -> None:
    header = struct.pack("=BBBBI", V4, 24, 0, 0, 7)
    payload = header + _attr(1, socket.inet_aton("10.0.0.2")) + _attr(2, socket.inet_aton("10.0.0.1"))
    assert parse_ifaddrmsg(payload) == (7, (V4, "10.0.0.1", False))
    flagged = payload + _attr(8, struct.pack("=I", 0x81))
    assert parse_ifaddrmsg(flagged) == (7, (V4, "10.0.0.1", True))


def test_parse_ifaddrmsg_ipv6() -> None:
    header = struct.pack("=BBBBI", V6, 64, 0, 0, 3)
    payload = header + _attr(1, socket.inet_pton(V6, "fd00::5"))
    assert parse_ifaddrmsg(payload) == (3, (V6, "fd00::5", False))


def test_split_host_port() -> None:
    assert split_host_port("lb.example.com:6443") == ("lb.example.com", "6443")
    assert split_host_port("[fd00::1]:443") == ("fd00::1", "443")
    assert split_host_port("lb.example.com") == ("", "")
    assert split_host_port("fd00::1") == ("", "")


def test_psutil_fallback_agrees_with_netlink_on_this_host() -> None:
    from k0spy.config.address import _psutil_interfaces, first_public_address

    assert pick_public_address(_psutil_interfaces()) == first_public_address()
