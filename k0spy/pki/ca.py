"""Certificate authorities: kept when both files exist, created when both are absent, refused otherwise.

k0s creates a new CA whenever either file is missing and overwrites the survivor, which silently breaks
every node that trusts the old one. k0spy refuses instead: half a CA, an unreadable CA or a key that does
not belong to its certificate is a K0spyError naming the file. This module also signs leaves, since only
an `Authority` (certificate + key in hand) can.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from k0spy.errors import K0spyError
from k0spy.pki import sans
from k0spy.pki.keys import load_private_key

_EKU = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
BACKDATE = dt.timedelta(minutes=5)  # as cfssl: tolerate clocks a little behind ours


@dataclass(frozen=True)
class CASpec:
    """One CA of the inventory: file stem under the pki dir, subject CN, owners of the key and cert."""

    name: str
    cn: str
    etcd: bool = False
    key_owner: str = "root"
    cert_owner: str = "root"


@dataclass(frozen=True)
class Authority:
    spec: CASpec
    cert: x509.Certificate
    key: rsa.RSAPrivateKey
    cert_pem: bytes
    created: bool = False

    @property
    def cn(self) -> str:
        return common_name(self.cert.subject)


def common_name(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


def ca_paths(cert_dir: Path, name: str) -> tuple[Path, Path]:
    """(cert, key) of a CA or leaf whose stem is `name` (`ca`, `etcd/ca`, `etcd/server`)."""
    return cert_dir / f"{name}.crt", cert_dir / f"{name}.key"


def load_authority(spec: CASpec, cert_path: Path, key_path: Path) -> Authority | None:
    """The CA on disk, None when both files are absent; K0spyError for anything in between."""
    has_cert, has_key = cert_path.exists(), key_path.exists()
    if not has_cert and not has_key:
        return None
    if has_cert != has_key:
        present, missing = (cert_path, key_path) if has_cert else (key_path, cert_path)
        raise K0spyError(
            f"CA {spec.cn!r}: {present} exists but {missing} does not",
            hint=f"restore {missing.name} from a backup (or remove both files to create a new CA, which "
                 "invalidates every certificate and kubeconfig issued by the old one)",
        )
    cert_pem = cert_path.read_bytes()
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as err:
        raise K0spyError(f"CA certificate {cert_path} cannot be parsed: {err}",
                         hint="the file is truncated or corrupted: restore it from a backup") from err
    try:
        key = load_private_key(key_path.read_bytes())
    except ValueError as err:
        raise K0spyError(f"CA key {key_path} cannot be parsed: {err}",
                         hint="the file is truncated or corrupted: restore it from a backup") from err
    if key.public_key().public_numbers() != _rsa_public(cert, cert_path).public_numbers():
        raise K0spyError(f"CA key {key_path} does not belong to the certificate {cert_path}",
                         hint="restore the matching pair from a backup")
    return Authority(spec, cert, key, cert_pem)


def _rsa_public(cert: x509.Certificate, path: Path) -> rsa.RSAPublicKey:
    public = cert.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise K0spyError(f"CA certificate {path} does not hold an RSA key", hint="k0s CAs are RSA 2048")
    return public


def build_ca(
    spec: CASpec, key: rsa.RSAPrivateKey, validity: dt.timedelta, now: dt.datetime,
) -> x509.Certificate:
    """A self-signed CA with only a CN in its subject, as cfssl's initca makes it."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, spec.cn)])
    not_before = now - BACKDATE
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_before + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )


def issue(
    authority: Authority, key: rsa.RSAPrivateKey, *, cn: str, org: str, hosts: tuple[str, ...] | list[str],
    validity: dt.timedelta, now: dt.datetime,
) -> x509.Certificate:
    """A leaf signed by `authority`: CN, one O, SANs from `hosts`, serverAuth+clientAuth (k0s's profile)."""
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)] if org else []
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    not_before = now - BACKDATE
    ca_ski = authority.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value \
        if _has_ski(authority.cert) else x509.SubjectKeyIdentifier.from_public_key(authority.key.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs)).issuer_name(authority.cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_before + validity)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(_EKU), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    )
    if hosts:
        ips, dns = sans.split_hosts(list(hosts), what=f"certificate {cn!r}")
        general: list[x509.GeneralName] = [x509.DNSName(name) for name in dns]
        general.extend(x509.IPAddress(ip) for ip in ips)
        builder = builder.add_extension(x509.SubjectAlternativeName(general), critical=False)
    return builder.sign(authority.key, hashes.SHA256())


def _has_ski(cert: x509.Certificate) -> bool:
    try:
        cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    except x509.ExtensionNotFound:
        return False
    return True


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=not ca, data_encipherment=False,
        key_agreement=False, key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False,
    )
