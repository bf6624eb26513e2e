"""`kubeconfig create <user>`: a client certificate for a person, signed by the cluster CA.

As in k0s the certificate and key are also written as `PKI/<user>.crt/.key`; unlike k0s, a user name that
is empty, path-like, or the name of an inventory file (`admin`, `server`, `ca`, ...) is refused, since the
write would otherwise overwrite (or escape) the controller's own PKI.
"""

from __future__ import annotations

import datetime as dt

from k0spy.errors import K0spyError
from k0spy.fsutil import CERT_MODE, CERT_SECURE_MODE
from k0spy.paths import Paths
from k0spy.pki import store
from k0spy.pki.ca import ca_paths, issue, load_authority
from k0spy.pki.keys import generate_key, private_pem
from k0spy.pki.kubeconfig import render_kubeconfig
from k0spy.pki.leaf import CAS, KEY_PAIRS, KUBE_CA, LEAVES
from k0spy.pki.settings import PKISettings

RESERVED = frozenset({row.name for row in LEAVES} | {ca.name for ca in CAS} | {n for n, _, _ in KEY_PAIRS}
                     | {"etcd"})
NOT_INITIALISED = "run this on an initialised controller (with the same --data-dir)"


def validate_user_name(name: str) -> None:
    """Refuse names that are empty or that would write outside, or over, the controller's PKI files."""
    hint = "use a plain name such as `jane` or `ci-bot` (groups go in --groups)"
    if not name.strip():
        raise K0spyError("the user name is empty", hint=hint)
    if "/" in name or "\\" in name or "\0" in name or name.startswith(".") or any(c.isspace() for c in name):
        raise K0spyError(f"user name {name!r} cannot be used: it is not a plain file name for the PKI dir",
                         hint=hint)
    if name in RESERVED:
        raise K0spyError(f"user name {name!r} is the name of a controller certificate ({name}.crt)",
                         hint="pick another name; `k0spy kubeconfig admin` prints the admin kubeconfig")


def create_user_kubeconfig(
    paths: Paths, settings: PKISettings, user: str, *, groups: str = "",
    validity: dt.timedelta = dt.timedelta(hours=8760), context: str = "k0s", now: dt.datetime | None = None,
) -> str:
    """Sign `PKI/<user>.crt` (CN=user, O=groups) and return a kubeconfig embedding it."""
    validate_user_name(user)
    if not context:
        raise K0spyError("the context name is empty", hint="pass --context-name NAME (default k0s)")
    if validity <= dt.timedelta(0):
        raise K0spyError(f"certificate validity {validity} is not positive",
                         hint="pass --certificate-expires-after with a duration such as 8760h")
    cert_path, key_path = ca_paths(paths.cert_dir, KUBE_CA.name)
    authority = load_authority(KUBE_CA, cert_path, key_path)
    if authority is None:
        raise K0spyError(f"no cluster CA in {paths.cert_dir}",
                         hint=NOT_INITIALISED)
    key = generate_key()
    cert = issue(authority, key, cn=user, org=groups, hosts=(), validity=validity,
                 now=now or dt.datetime.now(dt.UTC))
    from cryptography.hazmat.primitives import serialization

    cert_pem, key_pem = cert.public_bytes(serialization.Encoding.PEM), private_pem(key)
    store.commit_pair(store.FileData(paths.cert_dir / f"{user}.key", key_pem, CERT_SECURE_MODE),
                      store.FileData(paths.cert_dir / f"{user}.crt", cert_pem, CERT_MODE))
    return render_kubeconfig(settings.api_address_url(), authority.cert_pem, cert_pem, key_pem,
                             cluster=context, context=context, user=user)


def admin_kubeconfig(paths: Paths, settings: PKISettings) -> str:
    """The admin kubeconfig for operators: admin.crt/.key with the API's external or bind address."""
    pki = paths.cert_dir
    files = [pki / "ca.crt", pki / "admin.crt", pki / "admin.key"]
    missing = [str(path) for path in files if not path.exists()]
    if missing:
        raise K0spyError(f"admin credentials not found: {', '.join(missing)}",
                         hint=NOT_INITIALISED)
    ca, cert, key = (path.read_bytes() for path in files)
    return render_kubeconfig(settings.api_address_url(), ca, cert, key)
