"""`certificates check`: every certificate under the data dir, its expiry, chain and fate on next start.

What kubeadm's `certs check-expiration` leaves out and operators ask for: the SANs, whether the chain
actually verifies against the CA files present, whether the key next to the certificate belongs to it, and
whether k0spy will renew the certificate on its next start (or whether it is the operator's to renew).
Reading only: nothing here writes a file.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import rsa

from k0spy.paths import Paths
from k0spy.pki.ca import common_name
from k0spy.pki.keys import load_private_key
from k0spy.pki.leaf import K0S_CA_NAMES, LEAVES

WARN_WITHIN = dt.timedelta(days=30)
OK, WARNING, EXPIRED, INVALID = "ok", "warning", "expired", "invalid"


@dataclass
class CertReport:
    """One certificate as found on disk."""

    path: str
    subject: str = ""
    issuer: str = ""
    sans: list[str] = field(default_factory=list)
    not_before: str = ""
    not_after: str = ""
    days_left: float = 0.0
    is_ca: bool = False
    renewed_on_start: bool = False
    chain_verified: bool = False
    key_matches: bool | None = None
    status: str = OK
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Found:
    path: Path
    label: str
    cert: x509.Certificate | None
    key_pem: bytes | None
    error: str | None = None


def _scan(paths: Paths) -> Iterator[_Found]:
    """Certificate files (`*.crt`, `*.pem`) and kubeconfigs with embedded client certs, sorted by path."""
    data = paths.data_dir
    files = sorted({*data.rglob("*.crt"), *data.rglob("*.pem"), *paths.cert_dir.glob("*.conf")})
    for path in files:
        if path.name.startswith(".") or not path.is_file() or path.is_symlink():
            continue
        label = str(path.relative_to(data))
        if path.suffix == ".conf":
            yield from _from_kubeconfig(path, label)
            continue
        raw = path.read_bytes()
        if b"-----BEGIN CERTIFICATE-----" not in raw and path.suffix == ".pem":
            continue  # a bare key or something else: not a certificate file
        key_path = path.with_suffix(".key")
        key_pem = key_path.read_bytes() if path.suffix == ".crt" and key_path.exists() else \
            (raw if b"PRIVATE KEY-----" in raw else None)
        yield _parse(path, label, raw, key_pem)


def _parse(path: Path, label: str, raw: bytes, key_pem: bytes | None) -> _Found:
    try:
        return _Found(path, label, x509.load_pem_x509_certificates(raw)[0], key_pem)
    except ValueError as err:
        return _Found(path, label, None, None, f"cannot be parsed: {err}")


def _from_kubeconfig(path: Path, label: str) -> Iterator[_Found]:
    import yaml

    try:
        doc = yaml.safe_load(path.read_text())
        users = doc.get("users") or []
    except (yaml.YAMLError, AttributeError, UnicodeDecodeError) as err:
        yield _Found(path, label, None, None, f"kubeconfig cannot be parsed: {err}")
        return
    for entry in users:
        user = (entry or {}).get("user") or {}
        data = user.get("client-certificate-data")
        if not data:
            continue
        key_data = user.get("client-key-data")
        raw = base64.b64decode(data)
        yield _parse(path, f"{label} (user {entry.get('name')})", raw,
                     base64.b64decode(key_data) if key_data else None)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _sans(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    ips = [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]
    return [*ext.get_values_for_type(x509.DNSName), *ips]


def _verifies(cert: x509.Certificate, cas: list[x509.Certificate], now: dt.datetime, depth: int = 0) -> bool:
    """Signed by a CA present here that is itself valid now and chains to a self-signed root."""
    if depth > 4:
        return False
    for ca in cas:
        if ca.subject != cert.issuer or not (ca.not_valid_before_utc <= now <= ca.not_valid_after_utc):
            continue
        try:
            cert.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature):
            continue
        if ca.subject == ca.issuer or _verifies(ca, cas, now, depth + 1):
            return True
    return False


def _key_matches(cert: x509.Certificate, key_pem: bytes | None) -> bool | None:
    if key_pem is None:
        return None
    try:
        key = load_private_key(key_pem)
    except ValueError:
        return False
    public = cert.public_key()
    return isinstance(public, rsa.RSAPublicKey) and \
        public.public_numbers() == key.public_key().public_numbers()


def _renewed_on_start(found: _Found, cert: x509.Certificate, paths: Paths, ca_cns: dict[str, str]) -> bool:
    """Whether this file is an inventory leaf that the next start regenerates (k0s's rule)."""
    names = {str(paths.cert_dir / f"{row.name}.crt"): row for row in LEAVES}
    confs = {str(paths.cert_dir / row.kubeconfig): row for row in LEAVES if row.kubeconfig}
    row = names.get(str(found.path)) or confs.get(str(found.path))
    if row is None:
        return False
    issuer = common_name(cert.issuer)
    return issuer in K0S_CA_NAMES or issuer == ca_cns.get(row.issuer.name)


def check_certificates(paths: Paths, *, now: dt.datetime | None = None,
                       warn_within: dt.timedelta = WARN_WITHIN) -> list[CertReport]:
    """A report per certificate found under the data dir."""
    now = now or dt.datetime.now(dt.UTC)
    found = list(_scan(paths))
    cas = [item.cert for item in found if item.cert is not None and _is_ca(item.cert)]
    ca_cns = {}
    for name in ("ca", "front-proxy-ca", "etcd/ca"):
        match = [f.cert for f in found if f.cert is not None and f.path == paths.cert_dir / f"{name}.crt"]
        if match and (paths.cert_dir / f"{name}.key").exists():
            ca_cns[name] = common_name(match[0].subject)
    return [_report(item, paths, cas, ca_cns, now, warn_within) for item in found]


def _report(item: _Found, paths: Paths, cas: list[x509.Certificate], ca_cns: dict[str, str],
            now: dt.datetime, warn_within: dt.timedelta) -> CertReport:
    report = CertReport(path=item.label)
    cert = item.cert
    if cert is None:
        report.status, report.problems = INVALID, [item.error or "unreadable"]
        return report
    left = cert.not_valid_after_utc - now
    report.subject, report.issuer = cert.subject.rfc4514_string(), cert.issuer.rfc4514_string()
    report.sans, report.is_ca = _sans(cert), _is_ca(cert)
    report.not_before = cert.not_valid_before_utc.isoformat()
    report.not_after = cert.not_valid_after_utc.isoformat()
    report.days_left = round(left.total_seconds() / 86400, 1)
    report.renewed_on_start = _renewed_on_start(item, cert, paths, ca_cns)
    report.chain_verified = _verifies(cert, cas, now)
    report.key_matches = _key_matches(cert, item.key_pem)
    if not report.chain_verified:
        report.problems.append(f"chain does not verify: no valid CA for issuer {report.issuer!r} here")
    if report.key_matches is False:
        report.problems.append("private key does not belong to this certificate")
    if left <= dt.timedelta(0):
        report.status = EXPIRED
        report.problems.append("expired")
    elif report.problems:
        report.status = INVALID
    elif left < warn_within:
        report.status = WARNING
        if not report.renewed_on_start:
            report.problems.append(f"expires in {report.days_left} days and k0spy does not renew it")
    return report


def failed(reports: list[CertReport]) -> bool:
    """Whether `certificates check` must exit non-zero: anything expired or not verifiable."""
    return any(report.status in (EXPIRED, INVALID) for report in reports)
