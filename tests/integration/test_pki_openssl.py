"""openssl, an independent X.509 implementation, checks the generated inventory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from k0spy.paths import Paths
from tests.support.pki import make_pki, openssl, settings

ISSUERS = {"front-proxy-client": "front-proxy-ca", "apiserver-etcd-client": "etcd/ca",
           "etcd/server": "etcd/ca", "etcd/peer": "etcd/ca"}
LEAVES = ["admin", "apiserver-etcd-client", "apiserver-kubelet-client", "ccm", "etcd/peer", "etcd/server",
          "front-proxy-client", "k0s-api", "konnectivity", "scheduler", "server"]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    root = tmp_path_factory.mktemp("pki-openssl")
    paths = Paths.build(root / "data", run_dir=root / "run", etc_dir=root / "etc")
    make_pki(paths, settings(api_address="10.0.0.5", sans=("k8s.example.com",), etcd_peer_address="10.0.0.5",
                             external_address="lb.example.com"))
    return paths


def text(path: Path) -> str:
    result = openssl("x509", "-in", str(path), "-noout", "-text")
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("name", LEAVES)
def test_every_leaf_verifies_against_its_ca(pki: Paths, name: str) -> None:
    ca = pki.cert_dir / f"{ISSUERS.get(name, 'ca')}.crt"
    result = openssl("verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", str(ca),
                     str(pki.cert_dir / f"{name}.crt"))
    assert result.returncode == 0 and result.stdout.strip().endswith(": OK"), result.stdout + result.stderr


@pytest.mark.parametrize("name", LEAVES)
def test_key_belongs_to_certificate(pki: Paths, name: str) -> None:
    crt = openssl("x509", "-in", str(pki.cert_dir / f"{name}.crt"), "-noout", "-modulus").stdout
    key = openssl("rsa", "-in", str(pki.cert_dir / f"{name}.key"), "-noout", "-modulus").stdout
    assert crt == key and crt.startswith("Modulus=")


def test_server_certificate_extensions(pki: Paths) -> None:
    out = text(pki.cert_dir / "server.crt")
    assert "Subject: O = kubernetes, CN = kubernetes" in out
    assert "Issuer: CN = kubernetes-ca" in out
    assert "Public-Key: (2048 bit)" in out
    assert re.search(r"Key Usage: critical\s+Digital Signature, Key Encipherment", out)
    eku = "TLS Web Server Authentication, TLS Web Client Authentication"
    assert re.search(r"Extended Key Usage:\s+" + eku, out)
    sans = re.search(r"Subject Alternative Name:\s+(.*)", out)
    assert sans is not None
    assert sans.group(1).split(", ") == [
        "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
        "DNS:kubernetes.default.svc.cluster.local", "DNS:kubernetes.default.svc.cluster.local.",
        "DNS:localhost", "DNS:lb.example.com", "DNS:k8s.example.com", "IP Address:127.0.0.1",
        "IP Address:10.0.0.5", "IP Address:0:0:0:0:0:0:0:1", "IP Address:127.0.1.1", "IP Address:192.0.2.10",
        "IP Address:FE80:0:0:0:0:0:0:1", "IP Address:10.96.0.1",
    ]


@pytest.mark.parametrize(("name", "subject", "sans"), [
    ("admin", "O = system:masters, CN = kubernetes-admin", None),
    ("etcd/peer", "O = etcd-peer, CN = 10.0.0.5", "IP Address:10.0.0.5"),
    ("etcd/server", "O = etcd-server, CN = etcd-server", "DNS:localhost, IP Address:127.0.0.1"),
    ("apiserver-etcd-client", "O = apiserver-etcd-client, CN = apiserver-etcd-client",
     "DNS:localhost, IP Address:127.0.0.1"),
])
def test_leaf_subjects_and_sans(pki: Paths, name: str, subject: str, sans: str | None) -> None:
    out = text(pki.cert_dir / f"{name}.crt")
    assert f"Subject: {subject}\n" in out
    if sans is None:
        assert "Subject Alternative Name" not in out
    else:
        assert re.search(r"Subject Alternative Name:\s+(.*)", out).group(1) == sans  # type: ignore[union-attr]


@pytest.mark.parametrize(("name", "cn"), [
    ("ca", "kubernetes-ca"),
    ("front-proxy-ca", "kubernetes-front-proxy-ca"), ("etcd/ca", "etcd-ca"),
])
def test_cas_are_self_signed_cas(pki: Paths, name: str, cn: str) -> None:
    path = str(pki.cert_dir / f"{name}.crt")
    out = text(pki.cert_dir / f"{name}.crt")
    assert f"Subject: CN = {cn}\n" in out and f"Issuer: CN = {cn}\n" in out
    assert re.search(r"Basic Constraints: critical\s+CA:TRUE", out)
    assert openssl("verify", "-x509_strict", "-CAfile", path, path).returncode == 0


def test_public_keys_match_their_private_halves(pki: Paths) -> None:
    for name in ("sa", "etcd/jwt"):
        derived = openssl("rsa", "-in", str(pki.cert_dir / f"{name}.key"), "-pubout").stdout
        assert derived == (pki.cert_dir / f"{name}.pub").read_text()
