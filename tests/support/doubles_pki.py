"""A k0s-shaped test PKI made with `cryptography` (EC P-256 keys: fast; the doubles accept RSA and EC).

`make_pki(dir)` writes the files k0s' components are pointed at (ca, server, admin, scheduler, ccm,
konnectivity, front-proxy, sa, etcd CA/server/peer, apiserver-etcd-client) plus kubeconfigs for a given
API server URL.  Independent of k0spy.pki on purpose.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Pair:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )

    def write(self, directory: Path, name: str) -> tuple[Path, Path]:
        directory.mkdir(parents=True, exist_ok=True)
        cert, key = directory / f"{name}.crt", directory / f"{name}.key"
        cert.write_bytes(self.cert_pem)
        key.write_bytes(self.key_pem)
        key.chmod(0o600)
        return cert, key


def _name(cn: str, orgs: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn: str, days: int = 3650) -> Pair:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, True, False, False, True, True, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    return Pair(cert, key)


def make_leaf(
    ca: Pair, cn: str, orgs: tuple[str, ...] = (), sans: tuple[str, ...] = (), days: int = 365
) -> Pair:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn, orgs))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    )
    if sans:
        names: list[x509.GeneralName] = []
        for san in sans:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                names.append(x509.DNSName(san))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return Pair(builder.sign(ca.key, hashes.SHA256()), key)


def kubeconfig_text(server: str, ca: Pair, client: Pair | None = None, token: str | None = None) -> str:
    user: dict[str, str] = {}
    if client is not None:
        user["client-certificate-data"] = base64.b64encode(client.cert_pem).decode()
        user["client-key-data"] = base64.b64encode(client.key_pem).decode()
    if token is not None:
        user["token"] = token
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "Default",
        "clusters": [
            {
                "name": "local",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca.cert_pem).decode(),
                },
            }
        ],
        "contexts": [{"name": "Default", "context": {"cluster": "local", "user": "user"}}],
        "users": [{"name": "user", "user": user}],
    }
    return yaml.safe_dump(doc)


@dataclass
class DoublesPki:
    dir: Path
    ca: Pair
    etcd_ca: Pair
    admin: Pair

    def path(self, name: str) -> str:
        return str(self.dir / name)

    def kubeconfig(self, name: str, server: str, client: Pair | None = None, token: str | None = None) -> str:
        path = self.dir / name
        path.write_text(kubeconfig_text(server, self.ca, client, token))
        path.chmod(0o600)
        return str(path)


LEAVES = {
    "server": ("kubernetes", ("kubernetes",), ("kubernetes", "localhost", "127.0.0.1")),
    "admin": ("kubernetes-admin", ("system:masters",), ()),
    "scheduler": ("system:kube-scheduler", ("system:kube-scheduler",), ()),
    "ccm": ("system:kube-controller-manager", ("system:kube-controller-manager",), ()),
    "konnectivity": ("kubernetes-konnectivity", ("system:masters",), ()),
    "apiserver-kubelet-client": ("apiserver-kubelet-client", ("system:masters",), ()),
}


def make_pki(directory: Path) -> DoublesPki:
    """The k0s file names under `directory` (PKI) and `directory/etcd`."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = make_ca("kubernetes-ca")
    ca.write(directory, "ca")
    pairs = {}
    for name, (cn, orgs, sans) in LEAVES.items():
        pairs[name] = make_leaf(ca, cn, orgs, sans)
        pairs[name].write(directory, name)
    front = make_ca("kubernetes-front-proxy-ca")
    front.write(directory, "front-proxy-ca")
    make_leaf(front, "front-proxy-client", ("front-proxy-client",)).write(directory, "front-proxy-client")
    sa = ec.generate_private_key(ec.SECP256R1())
    (directory / "sa.key").write_bytes(
        sa.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    (directory / "sa.pub").write_bytes(
        sa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    etcd_ca = make_ca("etcd-ca")
    etcd_dir = directory / "etcd"
    etcd_ca.write(etcd_dir, "ca")
    make_leaf(etcd_ca, "etcd-server", ("etcd-server",), ("127.0.0.1", "localhost")).write(etcd_dir, "server")
    make_leaf(etcd_ca, "etcd-peer", ("etcd-peer",), ("127.0.0.1", "localhost")).write(etcd_dir, "peer")
    make_leaf(etcd_ca, "apiserver-etcd-client", ("apiserver-etcd-client",), ("127.0.0.1", "localhost")).write(
        directory, "apiserver-etcd-client"
    )
    return DoublesPki(directory, ca, etcd_ca, pairs["admin"])
