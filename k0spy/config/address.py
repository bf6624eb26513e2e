"""The default `api.address` / `storage.etcd.peerAddress`: this host's first public address.

As k0s's iface.FirstPublicAddress: interfaces in index order, skipping the CNI's own (`vxlan.calico`,
`kube-bridge`, `dummyvip0`, `veth*`, `cali*`) and secondary addresses (a VIP that keepalived added must
not become the API address); the first non-loopback IPv4 wins, else the first IPv6 seen, else 127.0.0.1.

The addresses and their flags come from one rtnetlink dump, as k0s reads them (and at a fraction of the
cost of importing psutil); where netlink is not available psutil is used, taking the first IPv4 address
of each interface as its primary one (the kernel lists primaries first).
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterable

_SKIPPED = ("vxlan.calico", "kube-bridge", "dummyvip0")
_SKIPPED_PREFIXES = ("veth", "cali")
IFA_F_SECONDARY = 0x01

# (family, address text, secondary?)
Address = tuple[int, str, bool]


def skipped_interface(name: str) -> bool:
    return name in _SKIPPED or name.startswith(_SKIPPED_PREFIXES)


def pick_public_address(interfaces: Iterable[tuple[str, list[Address]]]) -> str:
    """Pure choice over (name, [(family, address, secondary), ...]) in interface order."""
    ipv6 = ""
    for name, addresses in interfaces:
        if skipped_interface(name):
            continue
        for family, text, secondary in addresses:
            if secondary:
                continue
            try:
                ip = ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError:
                continue
            if ip.is_loopback:
                continue
            if family == socket.AF_INET:
                return str(ip)
            if family == socket.AF_INET6 and not ipv6:
                ipv6 = str(ip)
    return ipv6 or "127.0.0.1"


def first_public_address() -> str:
    """This host's default API address (see module docstring)."""
    try:
        by_index = netlink_addresses()
    except OSError:
        return pick_public_address(_psutil_interfaces())
    names = sorted(socket.if_nameindex())
    return pick_public_address((name, by_index.get(index, [])) for index, name in names)


def _psutil_interfaces() -> list[tuple[str, list[Address]]]:
    import psutil

    found = psutil.net_if_addrs()

    def index(name: str) -> int:
        try:
            return socket.if_nametoindex(name)
        except OSError:
            return 1 << 30

    out = []
    for name in sorted(found, key=index):
        seen_v4 = False
        addresses: list[Address] = []
        for entry in found[name]:
            family = int(entry.family)
            addresses.append((family, entry.address, family == socket.AF_INET and seen_v4))
            seen_v4 = seen_v4 or family == socket.AF_INET
        out.append((name, addresses))
    return out


_RTM_NEWADDR, _RTM_GETADDR, _NLMSG_DONE, _NLMSG_ERROR = 20, 22, 3, 2
_NLM_F_REQUEST_DUMP = 0x1 | 0x300
_IFA_ADDRESS, _IFA_LOCAL, _IFA_FLAGS = 1, 2, 8


def netlink_addresses() -> dict[int, list[Address]]:
    """Every address of this host by interface index, in the kernel's order, via one RTM_GETADDR dump."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as sock:
        sock.settimeout(2)
        request = struct.pack("=IHHII", 16 + 8, _RTM_GETADDR, _NLM_F_REQUEST_DUMP, 1, 0)
        sock.send(request + struct.pack("=BBBBI", socket.AF_UNSPEC, 0, 0, 0, 0))
        out: dict[int, list[Address]] = {}
        while True:
            data = sock.recv(1 << 16)
            for kind, payload in _messages(data):
                if kind == _NLMSG_DONE:
                    return out
                if kind == _NLMSG_ERROR:
                    raise OSError("netlink: RTM_GETADDR failed")
                if kind == _RTM_NEWADDR:
                    index, address = parse_ifaddrmsg(payload)
                    if address is not None:
                        out.setdefault(index, []).append(address)


def _messages(data: bytes) -> Iterable[tuple[int, bytes]]:
    offset = 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if length < 16:
            raise OSError("netlink: malformed message")
        yield kind, data[offset + 16 : offset + length]
        offset += (length + 3) & ~3


def parse_ifaddrmsg(payload: bytes) -> tuple[int, Address | None]:
    """(interface index, address) of one RTM_NEWADDR payload; IFA_LOCAL wins over IFA_ADDRESS (ptp)."""
    family, _prefix, flags, _scope, index = struct.unpack_from("=BBBBI", payload)
    attrs: dict[int, bytes] = {}
    offset = 8
    while offset + 4 <= len(payload):
        length, kind = struct.unpack_from("=HH", payload, offset)
        if length < 4:
            break
        attrs[kind] = payload[offset + 4 : offset + length]
        offset += (length + 3) & ~3
    if _IFA_FLAGS in attrs and len(attrs[_IFA_FLAGS]) >= 4:
        flags = struct.unpack("=I", attrs[_IFA_FLAGS][:4])[0]
    raw = attrs.get(_IFA_LOCAL) or attrs.get(_IFA_ADDRESS)
    if raw is None or family not in (socket.AF_INET, socket.AF_INET6):
        return index, None
    return index, (family, socket.inet_ntop(family, raw), bool(flags & IFA_F_SECONDARY))


def split_host_port(text: str) -> tuple[str, str]:
    """Go's net.SplitHostPort, lenient: ("", "") when `text` is not host:port."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or not text[end + 1 :].startswith(":") or ":" in text[end + 2 :]:
            return "", ""
        return text[1:end], text[end + 2 :]
    host, sep, port = text.rpartition(":")
    if not sep or ":" in host:
        return "", ""
    return host, port
