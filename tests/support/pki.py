"""PKI test helpers: settings with pinned host addresses, fake component users, openssl and copies."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from cryptography import x509

from k0spy.paths import Paths
from k0spy.pki.ensure import PKIResult, ensure_pki
from k0spy.pki.settings import PKISettings

HOST_ADDRESSES = ["127.0.0.1", "::1", "127.0.1.1", "192.0.2.10", "fe80::1"]
FAKE_UIDS = {"etcd": 4001, "kube-apiserver": 4002, "kube-scheduler": 4003, "konnectivity-server": 4004}


def host_addresses() -> list[str]:
    return list(HOST_ADDRESSES)


def fake_users(name: str) -> int | None:
    """Component users that exist only in the test: files get chowned to these uids."""
    return FAKE_UIDS.get(name)


def no_users(_name: str) -> int | None:
    return None


def settings(**overrides: Any) -> PKISettings:
    return PKISettings(**{"api_address": "127.0.0.1", **overrides})


def make_pki(paths: Paths, cfg: PKISettings | None = None, **kwargs: Any) -> PKIResult:
    kwargs.setdefault("user_lookup", fake_users)
    kwargs.setdefault("host_addresses", host_addresses)
    return ensure_pki(paths, cfg or settings(), **kwargs)


def clone_data_dir(template: Path, paths: Paths) -> None:
    """Copy a generated data dir (modes and owners kept) so each test starts from the same PKI."""
    shutil.copytree(template, paths.data_dir, symlinks=True, copy_function=shutil.copy2)
    for src in template.rglob("*"):
        dst = paths.data_dir / src.relative_to(template)
        st = src.lstat()
        shutil.chown(dst, st.st_uid, st.st_gid)
    st = template.stat()
    shutil.chown(paths.data_dir, st.st_uid, st.st_gid)


def load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def openssl(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30, check=False,
                          input=input.decode() if input else None)


def cert_files(paths: Paths) -> list[Path]:
    return sorted(p for p in paths.cert_dir.rglob("*.crt") if not p.name.startswith("."))
