"""Reading the files the flags name (certificates, keys, CA bundles, kubeconfigs), failing as Go would.

Every loader raises StartupError with Go's wording ("open PATH: no such file or directory", "tls: private
key does not match public key", ...), which the runner logs klog-style before exiting 1.  Also builds the
ssl contexts: servers with an optional client CA, clients from a kubeconfig.
"""

from __future__ import annotations

import base64
import os
import re
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


class StartupError(Exception):
    """A start-up failure of the real component; `message` reads like its error."""

    def __init__(self, message: str, context: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.context = context


def read_file(path: str) -> bytes:
    """Go's os.ReadFile error wording."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise StartupError(f"open {path}: no such file or directory") from None
    except PermissionError:
        raise StartupError(f"open {path}: permission denied") from None
    except IsADirectoryError:
        raise StartupError(f"read {path}: is a directory") from None


def certs_from_pem(data: bytes, what: str) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:
        raise StartupError(f"{what}: data does not contain any valid RSA or ECDSA certificates")
    return certs


def load_ca_bundle(path: str) -> list[x509.Certificate]:
    return certs_from_pem(read_file(path), f"error reading {path}")


def load_key(path: str) -> PrivateKeyTypes:
    return key_from_pem(read_file(path), path)


def key_from_pem(data: bytes, where: str) -> PrivateKeyTypes:
    block = re.search(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", data, re.S)
    data = block.group(0) if block else data
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise StartupError(f"tls: failed to find any PEM data in key input ({where})") from None


def public_bytes(obj: Any) -> bytes:
    return bytes(
        obj.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def check_pair(cert: x509.Certificate, key: PrivateKeyTypes, where: str) -> None:
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)):
        raise StartupError(f"tls: unsupported private key type ({where})")
    if public_bytes(cert.public_key()) != public_bytes(key.public_key()):
        raise StartupError(f"tls: private key does not match public key ({where})")


def load_pair(cert_path: str, key_path: str) -> tuple[x509.Certificate, PrivateKeyTypes]:
    """A certificate file and its key, checked to belong together (tls.LoadX509KeyPair)."""
    cert = certs_from_pem(
        read_file(cert_path), f"tls: failed to find any PEM data in certificate input ({cert_path})"
    )[0]
    key = load_key(key_path)
    check_pair(cert, key, f"{cert_path}, {key_path}")
    return cert, key


def load_sni_cert_keys(values: list[str]) -> None:
    """--tls-sni-cert-key values: "cert,key" or "cert,key:name1,name2"."""
    for value in values:
        files = value.split(":", 1)[0].split(",")
        if len(files) != 2:
            raise StartupError(
                f'invalid argument "{value}" for "--tls-sni-cert-key" flag: expected comma '
                "separated certificate and key file paths"
            )
        load_pair(files[0], files[1])


def load_public_key(path: str) -> None:
    """A service-account public key file: PEM public keys or certificates."""
    data = read_file(path)
    try:
        serialization.load_pem_public_key(data)
        return
    except ValueError:
        pass
    try:
        x509.load_pem_x509_certificates(data)
        return
    except ValueError:
        pass
    try:
        serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise StartupError(
            f"failed to parse key file {path!r}: data does not contain any valid RSA or ECDSA public keys"
        ) from None


def subject_user(cert: x509.Certificate) -> tuple[str, list[str]]:
    """CN -> user name, O -> groups (Kubernetes' x509 authenticator)."""
    cns = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    orgs = cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    return (str(cns[0].value) if cns else ""), [str(o.value) for o in orgs]


# Go cipher suite names (TLS 1.2 and below; Go does not let TLS 1.3 suites be chosen) -> OpenSSL names.
GO_TO_OPENSSL = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
}
TLS13_SUITES = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}


def check_cipher_suites(names: list[str]) -> None:
    """crypto/tls names only, as component-base's cipher flag parsing demands."""
    for name in names:
        if name not in GO_TO_OPENSSL and name not in TLS13_SUITES:
            raise StartupError(f"Cipher suite {name} not supported or doesn't exist")


def server_context(
    cert_path: str,
    key_path: str,
    client_ca: str | None = None,
    min_version: str = "VersionTLS12",
    cipher_suites: list[str] | None = None,
) -> ssl.SSLContext:
    """TLS >= min_version; with `cipher_suites` (Go names) TLS 1.2 negotiation is limited to them."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = {
        "VersionTLS10": ssl.TLSVersion.TLSv1,
        "VersionTLS11": ssl.TLSVersion.TLSv1_1,
        "VersionTLS13": ssl.TLSVersion.TLSv1_3,
    }.get(min_version, ssl.TLSVersion.TLSv1_2)
    ctx.load_cert_chain(cert_path, key_path)
    legacy = [GO_TO_OPENSSL[n] for n in cipher_suites or [] if n in GO_TO_OPENSSL]
    if legacy:
        ctx.set_ciphers(":".join(dict.fromkeys(legacy)))
    if client_ca:
        ctx.load_verify_locations(cafile=client_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def client_context(ca_pem: bytes | None, cert_pem: bytes | None, key_pem: bytes | None) -> ssl.SSLContext:
    """A client context from in-memory PEM (ssl wants files for the key pair: a private temp dir)."""
    ctx = ssl.create_default_context(cadata=ca_pem.decode() if ca_pem else None)
    if ca_pem is None:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert_pem and key_pem:
        with tempfile.TemporaryDirectory(prefix="double-tls-") as tmp:
            os.chmod(tmp, 0o700)
            cert_file, key_file = Path(tmp, "c.pem"), Path(tmp, "k.pem")
            cert_file.write_bytes(cert_pem)
            key_file.write_bytes(key_pem)
            ctx.load_cert_chain(str(cert_file), str(key_file))
    return ctx


def file_client_context(ca: str, cert: str, key: str) -> ssl.SSLContext:
    return client_context(read_file(ca), read_file(cert), read_file(key))


@dataclass(frozen=True)
class Kubeconfig:
    """The current context of a kubeconfig, with file references already read."""

    path: str
    server: str
    ca_pem: bytes | None
    cert_pem: bytes | None
    key_pem: bytes | None
    token: str | None
    insecure: bool

    def ssl_context(self) -> ssl.SSLContext:
        return client_context(self.ca_pem, self.cert_pem, self.key_pem)


def _data_or_file(section: dict[str, Any], key: str, base: Path) -> bytes | None:
    data = section.get(f"{key}-data")
    if data:
        return base64.b64decode(data)
    ref = section.get(key)
    if ref:
        return read_file(str(base / ref))
    return None


def load_kubeconfig(path: str) -> Kubeconfig:
    """clientcmd semantics for what the doubles need: current-context, cluster server/CA, user cert/token."""
    import yaml

    raw = read_file(path)
    try:
        doc = yaml.safe_load(raw) or {}
    except yaml.YAMLError as err:
        raise StartupError(f'error loading config file "{path}": yaml: {err}') from None
    if not isinstance(doc, dict):
        raise StartupError(f'error loading config file "{path}": not a kubeconfig')
    current = doc.get("current-context", "")
    contexts = {c.get("name"): c.get("context", {}) for c in doc.get("contexts") or []}
    if not current or current not in contexts:
        raise StartupError(
            f"invalid configuration: no configuration has been provided ({path}: "
            f"context {current!r} not found)"
        )
    ctx = contexts[current]
    clusters = {c.get("name"): c.get("cluster", {}) for c in doc.get("clusters") or []}
    users = {u.get("name"): u.get("user", {}) for u in doc.get("users") or []}
    cluster = clusters.get(ctx.get("cluster"))
    if not cluster or not cluster.get("server"):
        raise StartupError(f"invalid configuration: cluster {ctx.get('cluster')!r} has no server ({path})")
    user = users.get(ctx.get("user"), {})
    base = Path(path).parent
    cert_pem = _data_or_file(user, "client-certificate", base)
    key_pem = _data_or_file(user, "client-key", base)
    ca_pem = _data_or_file(cluster, "certificate-authority", base)
    if cert_pem is not None and key_pem is not None:
        cert = certs_from_pem(cert_pem, f"invalid client certificate in {path}")[0]
        check_pair(cert, key_from_pem(key_pem, path), path)
    if ca_pem is not None:
        certs_from_pem(ca_pem, f"unable to load root certificates from {path}")
    return Kubeconfig(
        path=path,
        server=str(cluster["server"]).rstrip("/"),
        ca_pem=ca_pem,
        cert_pem=cert_pem,
        key_pem=key_pem,
        token=user.get("token"),
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
    )
