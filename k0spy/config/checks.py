"""Value predicates with the semantics of the Go validators k0s uses (pure, no I/O)."""

from __future__ import annotations

import ipaddress
import re

from k0spy.config.address import split_host_port

# github.com/asaskevich/govalidator's DNSName.
_DNS_NAME = re.compile(r"([a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})(\.[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})*[._]?")
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
RELEASE_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_RELEASE_NAME = re.compile(RELEASE_NAME)
# distribution/reference TagRegexp and DigestRegexp.
IMAGE_VERSION = (
    r"^[\w][\w.-]{0,127}(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,})?$"
)
_IMAGE_VERSION = re.compile(IMAGE_VERSION, re.ASCII)
PORT_RANGE = "must be between 1 and 65535, inclusive"


def is_ip(text: str) -> bool:
    """Go's net.ParseIP: no zones, no prefixes, no leading zeros."""
    if "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def is_ipv4(text: str) -> bool:
    return is_ip(text) and ipaddress.ip_address(text).version == 4


def is_any_address(text: str) -> bool:
    return text in ("0.0.0.0", "::")


def is_dns_name(text: str) -> bool:
    if not text or len(text.replace(".", "")) > 255:
        return False
    return not is_ip(text) and _DNS_NAME.fullmatch(text) is not None


def is_ip_or_dns_name(text: str) -> bool:
    return is_ip(text) or is_dns_name(text)


def is_valid_port(port: int) -> bool:
    return 1 <= port <= 65535


def parse_cidr(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """Go's net.ParseCIDR: `address/prefix` required; host bits may be set."""
    address, sep, prefix = text.partition("/")
    if not sep or not prefix.isdigit() or not is_ip(address):
        return None
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def is_dns1123_label(text: str) -> list[str]:
    """k8s IsDNS1123Label: the messages, empty when valid."""
    out = []
    if len(text) > 63:
        out.append("must be no more than 63 characters")
    if not _DNS1123_LABEL.fullmatch(text):
        out.append(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
            "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
            "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        )
    return out


def is_release_name(text: str) -> bool:
    """Helm's ValidateReleaseName."""
    return len(text) <= 53 and _RELEASE_NAME.match(text) is not None


def is_image_version(text: str) -> bool:
    return _IMAGE_VERSION.match(text) is not None


def host_port_problem(text: str) -> str | None:
    """k0s's net.ParseHostPort (no default port): why `text` is not host:port, or None."""
    if is_ip(text):
        return "missing port in address"
    host, port = split_host_port(text)
    if not host and not port:
        return "missing port in address" if ":" not in text else "invalid host:port"
    if not port.isdigit():
        return f'port is not a positive number: "{port}"'
    if int(port) > 65535:
        return f"port is out of range: {port}"
    if int(port) == 0:
        return "port is zero"
    if not is_ip_or_dns_name(host):
        return f'invalid host: "{host}"'
    return None
