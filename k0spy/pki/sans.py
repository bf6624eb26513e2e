"""The API server's SAN list, built as k0s builds it, with the host's addresses injected.

`build_san_list` is pure: the addresses of `localhost`, of the OS hostname and of the local interfaces
come from a `HostAddresses` callable, so tests pin them and the order can be compared with k0s's
`generateSANList`. `split_hosts` then sorts each entry into an IP or a DNS SAN (what cfssl does), refusing
anything that is neither, with the offending value in the message.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence

from k0spy.errors import K0spyError
from k0spy.pki.settings import PKISettings, first_service_ip

HostAddresses = Callable[[], list[str]]

_LABEL = re.compile(r"^(\*|[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)$", re.IGNORECASE)


def unique(items: Iterable[str]) -> list[str]:
    """Drop empty strings and repeats, keeping the first occurrence (k0s's stringslice.Unique)."""
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        if item and item not in seen:
            seen.add(item)
            out.append(item)
    return out


def build_san_list(settings: PKISettings, host_addresses: HostAddresses) -> list[str]:
    """server.crt / k0s-api.crt hosts, de-duplicated, in k0s's order."""
    domain = settings.cluster_domain
    names = [
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        f"kubernetes.default.svc.{domain}",
        f"kubernetes.default.svc.{domain}.",
        "localhost",
        "127.0.0.1",
    ]
    if settings.external_host:
        names.append(settings.external_host)
    names.append(settings.api_address)
    names.extend(settings.sans)
    names.extend(host_addresses())
    names.extend(settings.cplb_vips)
    names.extend(first_service_ip(cidr) for cidr in settings.service_cidrs)
    return unique(names)


def parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def is_dns_name(value: str) -> bool:
    """A DNS name a certificate may carry: labels of letters, digits, `-`, `_`, a leading `*`, a final dot."""
    name = value[:-1] if value.endswith(".") else value
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    if any(label == "*" for label in labels[1:]):
        return False
    return all(_LABEL.match(label) for label in labels)


def split_hosts(
    hosts: Sequence[str], *, what: str = "certificate",
) -> tuple[list[ipaddress.IPv4Address | ipaddress.IPv6Address], list[str]]:
    """(IP SANs, DNS SANs), each in input order; a value that is neither is a K0spyError."""
    ips: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    dns: list[str] = []
    for host in hosts:
        ip = parse_ip(host)
        if ip is not None:
            ips.append(ip)
        elif is_dns_name(host):
            dns.append(host)
        else:
            raise K0spyError(
                f"subject alternative name {host!r} for the {what} is neither an IP address nor a DNS name",
                hint="fix spec.api.sans / spec.api.externalAddress (or the peer address) in k0s.yaml",
            )
    return ips, dns


def system_host_addresses() -> list[str]:
    """Addresses of `localhost`, of the OS hostname and of every local interface (k0s's detectLocalIPs)."""
    found = _resolve("localhost")
    found.extend(_resolve(socket.gethostname()))
    found.extend(_interface_addresses())
    return found


def _resolve(name: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    return [_strip_zone(str(info[4][0])) for info in infos]


def _interface_addresses() -> list[str]:
    import psutil

    out: list[str] = []
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family in (socket.AF_INET, socket.AF_INET6):
                out.append(_strip_zone(addr.address))
    return out


def _strip_zone(address: str) -> str:
    """`fe80::1%eth0` -> `fe80::1`: a zone is not part of an IP SAN."""
    return address.split("%", 1)[0]
