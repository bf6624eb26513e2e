"""PKISettings: URLs as k0s builds them, external address parsing, the copy from a ClusterConfig."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from k0spy.pki.settings import PKISettings, first_service_ip, split_external_address


@pytest.mark.parametrize(("value", "expected"), [
    ("", ("", None)), ("lb.example.com", ("lb.example.com", None)),
    ("lb.example.com:443", ("lb.example.com", 443)),
    ("10.0.0.1", ("10.0.0.1", None)), ("[fd00::1]:6443", ("fd00::1", 6443)), ("fd00::1", ("fd00::1", None)),
])
def test_split_external_address(value: str, expected: tuple[str, int | None]) -> None:
    assert split_external_address(value) == expected


def test_local_url_is_localhost_unless_only_bind_to_address() -> None:
    assert PKISettings(api_address="10.0.0.5").local_url() == "https://localhost:6443"
    assert PKISettings(api_address="10.0.0.5", only_bind_to_address=True).local_url() == "https://10.0.0.5:6443"
    assert PKISettings(api_address="fd00::5", api_port=7443, only_bind_to_address=True).local_url() == \
        "https://[fd00::5]:7443"


def test_api_address_url_prefers_external_address() -> None:
    assert PKISettings(api_address="10.0.0.5").api_address_url() == "https://10.0.0.5:6443"
    assert PKISettings(api_address="10.0.0.5", external_address="lb.example.com").api_address_url() == \
        "https://lb.example.com:6443"
    assert PKISettings(external_address="lb.example.com:443").api_address_url() == "https://lb.example.com:443"


def test_first_service_ip() -> None:
    assert first_service_ip("10.96.0.0/12") == "10.96.0.1"
    assert first_service_ip("fd00:10:96::/112") == "fd00:10:96::1"


def _cfg(**storage: object) -> SimpleNamespace:
    ca = SimpleNamespace(expires_after=timedelta(days=100), certificates_expire_after=timedelta(days=10))
    etcd_ca = SimpleNamespace(expires_after=timedelta(days=50), certificates_expire_after=timedelta(days=5))
    etcd = SimpleNamespace(peer_address="10.0.0.7", ca=etcd_ca,
                           is_external=lambda: storage.get("external", False))
    return SimpleNamespace(spec=SimpleNamespace(
        api=SimpleNamespace(address="10.0.0.5", port=7443, sans=["a.example"], external_address="lb:443",
                            only_bind_to_address=True, ca=ca),
        network=SimpleNamespace(service_cidr="10.100.0.0/16", cluster_domain="corp.local",
                                dual_stack=SimpleNamespace(enabled=True, ipv6_service_cidr="fd00::/108")),
        storage=SimpleNamespace(type=storage.get("type", "etcd"), etcd=etcd),
    ))


def test_from_cluster_config_copies_every_field() -> None:
    settings = PKISettings.from_cluster_config(_cfg(), konnectivity_enabled=False)
    assert settings == PKISettings(
        api_address="10.0.0.5", api_port=7443, sans=("a.example",), external_address="lb:443",
        only_bind_to_address=True, service_cidrs=("10.100.0.0/16", "fd00::/108"), cluster_domain="corp.local",
        etcd_peer_address="10.0.0.7", ca_validity=timedelta(days=100), cert_validity=timedelta(days=10),
        etcd_ca_validity=timedelta(days=50), etcd_cert_validity=timedelta(days=5), konnectivity_enabled=False,
    )
    assert settings.runs_etcd


@pytest.mark.parametrize(("storage", "runs"), [({"type": "kine"}, False), ({"external": True}, False),
                                                ({"type": "etcd"}, True)])
def test_runs_etcd_only_for_internal_etcd(storage: dict[str, object], runs: bool) -> None:
    assert PKISettings.from_cluster_config(_cfg(**storage)).runs_etcd is runs
