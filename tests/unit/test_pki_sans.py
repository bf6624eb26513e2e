"""The SAN list: k0s's order, de-duplication, service IPs, and refusal of values that are no host."""

from __future__ import annotations

import ipaddress

import pytest

from k0spy.errors import K0spyError
from k0spy.pki.sans import build_san_list, is_dns_name, split_hosts, system_host_addresses, unique
from k0spy.pki.settings import PKISettings


def hosts() -> list[str]:
    return ["127.0.0.1", "::1", "10.0.0.5", "fe80::1"]


def test_order_matches_k0s_generate_san_list() -> None:
    settings = PKISettings(api_address="10.0.0.5", sans=("k8s.example.com", "10.0.0.99"),
                           external_address="lb.example.com:6443", cluster_domain="corp.local",
                           cplb_vips=("10.0.0.200",))
    assert build_san_list(settings, hosts) == [
        "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.corp.local",
        "kubernetes.default.svc.corp.local.", "localhost", "127.0.0.1", "lb.example.com", "10.0.0.5",
        "k8s.example.com", "10.0.0.99", "::1", "fe80::1", "10.0.0.200", "10.96.0.1",
    ]


def test_dual_stack_adds_the_first_ipv6_service_ip_last() -> None:
    settings = PKISettings(service_cidrs=("10.100.0.0/16", "fd00:10:96::/112"))
    sans = build_san_list(settings, lambda: [])
    assert sans[-2:] == ["10.100.0.1", "fd00:10:96::1"]


def test_unique_keeps_first_occurrence_and_drops_empty() -> None:
    assert unique(["a", "", "b", "a", "c", "b"]) == ["a", "b", "c"]


def test_split_hosts_sorts_ips_and_names() -> None:
    ips, dns = split_hosts(["localhost", "127.0.0.1", "*.apps.example.com", "::1", "svc.cluster.local."])
    assert ips == [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    assert dns == ["localhost", "*.apps.example.com", "svc.cluster.local."]


@pytest.mark.parametrize("bad", ["http://example.com", "foo bar", "a..b", "-lead.example.com", "x/y", "a.*.b",
                                 "10.0.0.1/24", "a" * 64 + ".com"])
def test_split_hosts_refuses_values_that_are_no_host(bad: str) -> None:
    with pytest.raises(K0spyError) as info:
        split_hosts(["localhost", bad], what="certificate 'kubernetes'")
    assert repr(bad) in info.value.message
    assert info.value.hint and "spec.api.sans" in info.value.hint


@pytest.mark.parametrize("good", ["localhost", "k0s", "a-b.example.com", "x_y.example", "EXAMPLE.COM."])
def test_dns_names_accepted(good: str) -> None:
    assert is_dns_name(good)


def test_system_host_addresses_include_loopback_without_zones() -> None:
    found = system_host_addresses()
    assert "127.0.0.1" in found
    assert all("%" not in address for address in found)
