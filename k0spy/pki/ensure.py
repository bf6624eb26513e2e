"""`ensure_pki`: bring the PKI on disk to the state a k0s controller start leaves it in.

One pass, run on every start (and by `controller --init-only`):
  1. finish or discard any pair commit a crash interrupted (`store.recover`);
  2. load the CAs (refusing half or corrupt ones) and note which must be created;
  3. decide which leaves to regenerate: those issued by one of our CAs (or a k0s CA name), missing or
     unreadable; leaves issued by a CA whose key we do not hold are left alone;
  4. generate every needed key at once on a thread pool (a leaf first takes a spare key from the reserve
     when one is given), and sign and write each pair as its key arrives, then rewrite the kubeconfigs
     that embed it;
  5. create missing `sa` / `etcd/jwt` key pairs, chown everything to its component user.
The etcd set is part of the same pass when this controller runs etcd; `ensure_etcd_pki` does just that
set (k0s creates it when etcd starts).
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from k0spy.errors import K0spyError
from k0spy.fsutil import (
    CERT_MODE,
    CERT_ROOT_DIR_MODE,
    CERT_SECURE_MODE,
    ETCD_CERT_DIR_MODE,
    atomic_write,
    ensure_dir,
)
from k0spy.log import get_logger
from k0spy.paths import Paths
from k0spy.pki import store
from k0spy.pki.ca import Authority, CASpec, build_ca, ca_paths, common_name, issue, load_authority
from k0spy.pki.keys import KeyPool, load_private_key, private_pem, public_pem
from k0spy.pki.kubeconfig import render_kubeconfig
from k0spy.pki.leaf import CAS, K0S_CA_NAMES, KEY_PAIRS, LeafSpec, inventory
from k0spy.pki.sans import HostAddresses, build_san_list, split_hosts, system_host_addresses
from k0spy.pki.settings import PKISettings
from k0spy.pki.spare import SpareKeys
from k0spy.pki.users import ETCD_USER, Owners, UserLookup, system_lookup

WRITERS = 6  # threads writing files: mostly waiting in fsync, which the file system batches across them


def _log() -> Any:
    """Bound per call: a module-level logger would freeze structlog's config at import time."""
    return get_logger(component="pki")


@dataclass
class PKIResult:
    """What one pass did, for logs, status and tests."""

    created_cas: list[str] = field(default_factory=list)
    kept_cas: list[str] = field(default_factory=list)
    renewed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    created_key_pairs: list[str] = field(default_factory=list)
    kubeconfigs: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    missing_users: list[str] = field(default_factory=list)
    keys_generated: int = 0
    keys_from_reserve: int = 0  # leaf keys taken from the spare reserve instead of generated
    seconds: float = 0.0


@dataclass
class _Pass:
    """The state of one ensure pass: where, with what, and what it did."""

    paths: Paths
    settings: PKISettings
    owners: Owners
    now: dt.datetime
    pool: KeyPool
    writer: ThreadPoolExecutor
    result: PKIResult = field(default_factory=PKIResult)
    authorities: dict[str, Authority] = field(default_factory=dict)
    writes: list[Future[None]] = field(default_factory=list)
    reserve: SpareKeys | None = None  # spare keys for leaves (CAs and key pairs always generate)
    barrier: Future[None] | None = None  # a write every later write waits for (the reserve's sync)

    def defer(self, write: Callable[[], None], *, barrier: bool = False) -> None:
        """Queue a write on the writer threads, where fsyncs overlap key generation and each other.

        Writes are independent (each file, or key and certificate pair, is crash-safe on its own), so
        they run concurrently: the file system commits concurrent fsyncs together (one journal commit for
        several files on ext4), which is most of a warm pass's time on a busy disk. A `barrier` write
        runs before any write queued after it.
        """
        before = self.barrier

        def task() -> None:
            if before is not None:
                before.result()
            write()

        future = self.writer.submit(task)
        self.writes.append(future)
        if barrier:
            self.barrier = future

    def flush(self) -> None:
        """Wait for every queued write; the first failure is raised."""
        for future in self.writes:
            future.result()
        self.writes.clear()

    def uid(self, user: str) -> int | None:
        """The owner to give a file, None when not root (files then stay ours, as k0s tolerates)."""
        return self.owners.uid(user) if os.geteuid() == 0 else None

    def gid(self) -> int | None:
        return 0 if os.geteuid() == 0 else None

    def chown(self, path: Path, user: str) -> None:
        uid = self.uid(user)
        if uid is not None and path.exists():
            os.chown(path, uid, 0)

    def key(self, future: Future[rsa.RSAPrivateKey]) -> rsa.RSAPrivateKey:
        if self.pool.from_reserve(future):
            self.result.keys_from_reserve += 1
        else:
            self.result.keys_generated += 1
        return future.result()

    def commit(self, name: str, owner: str, key_pem: bytes, second: bytes, suffix: str) -> None:
        """Queue the crash-safe commit of `name.key` (0640) and `name<suffix>` (0644), owned by `owner`."""
        cert_dir, uid, gid = self.paths.cert_dir, self.uid(owner), self.gid()
        key_file = store.FileData(cert_dir / f"{name}.key", key_pem, CERT_SECURE_MODE, uid, gid)
        second_file = store.FileData(cert_dir / f"{name}{suffix}", second, CERT_MODE, uid, gid)
        self.defer(lambda: store.commit_pair(key_file, second_file))


def _validity(settings: PKISettings, etcd: bool, ca: bool) -> dt.timedelta:
    if etcd:
        return settings.etcd_ca_validity if ca else settings.etcd_cert_validity
    return settings.ca_validity if ca else settings.cert_validity


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _needs_regeneration(run: _Pass, spec: LeafSpec) -> bool:
    """k0s's rule: missing or unreadable -> yes; issued by a k0s CA name or by our CA's CN -> yes."""
    cert_path, key_path = ca_paths(run.paths.cert_dir, spec.name)
    if not cert_path.exists() and not key_path.exists():
        return True
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (ValueError, FileNotFoundError) as err:
        _log().warning("pki.leaf.unreadable", name=spec.name, path=str(cert_path), error=str(err))
        return True
    issuer = common_name(cert.issuer)
    if issuer in K0S_CA_NAMES:
        return True
    current = run.authorities.get(spec.issuer.name)
    if current is not None and issuer == current.cn:
        return True
    _log().info("pki.leaf.foreign", name=spec.name, issuer=issuer)
    return False


def _load_cas(run: _Pass, specs: list[CASpec]) -> list[CASpec]:
    """Load the CAs that exist; return the ones to create."""
    to_create = []
    for spec in specs:
        cert_path, key_path = ca_paths(run.paths.cert_dir, spec.name)
        authority = load_authority(spec, cert_path, key_path)
        if authority is None:
            to_create.append(spec)
            continue
        run.authorities[spec.name] = authority
        run.result.kept_cas.append(spec.name)
        run.chown(key_path, spec.key_owner)
        run.chown(cert_path, spec.cert_owner)
    return to_create


def _create_ca(run: _Pass, spec: CASpec, future: Future[rsa.RSAPrivateKey]) -> None:
    key = run.key(future)
    cert = build_ca(spec, key, _validity(run.settings, spec.etcd, ca=True), run.now)
    cert_pem = _cert_pem(cert)
    cert_dir = run.paths.cert_dir
    gid = run.gid()
    key_file = store.FileData(cert_dir / f"{spec.name}.key", private_pem(key), CERT_SECURE_MODE,
                              run.uid(spec.key_owner), gid)
    cert_file = store.FileData(cert_dir / f"{spec.name}.crt", cert_pem, CERT_MODE,
                               run.uid(spec.cert_owner), gid)
    run.defer(lambda: store.commit_pair(key_file, cert_file))
    run.authorities[spec.name] = Authority(spec, cert, key, cert_pem, created=True)
    run.result.created_cas.append(spec.name)
    _log().info("pki.ca.created", name=spec.name, cn=spec.cn, not_after=cert.not_valid_after_utc.isoformat())


def _write_leaf(run: _Pass, spec: LeafSpec, future: Future[rsa.RSAPrivateKey] | None) -> None:
    cert_path, key_path = ca_paths(run.paths.cert_dir, spec.name)
    if future is None:
        run.chown(key_path, spec.owner)
        run.chown(cert_path, spec.owner)
        run.result.kept.append(spec.name)
        if spec.kubeconfig and cert_path.exists() and key_path.exists():
            _write_kubeconfig(run, spec, cert_path.read_bytes(), key_path.read_bytes())
        return
    key = run.key(future)
    authority = run.authorities[spec.issuer.name]
    cert = issue(authority, key, cn=spec.cn, org=spec.org, hosts=spec.hosts,
                 validity=_validity(run.settings, spec.etcd, ca=False), now=run.now)
    key_pem, cert_pem = private_pem(key), _cert_pem(cert)
    run.commit(spec.name, spec.owner, key_pem, cert_pem, ".crt")
    run.result.renewed.append(spec.name)
    _log().debug("pki.leaf.renewed", name=spec.name, serial=format(cert.serial_number, "x"),
              not_after=cert.not_valid_after_utc.isoformat())
    if spec.kubeconfig:
        _write_kubeconfig(run, spec, cert_pem, key_pem)


def _write_kubeconfig(run: _Pass, spec: LeafSpec, cert_pem: bytes, key_pem: bytes) -> None:
    assert spec.kubeconfig is not None
    ca = run.authorities[spec.issuer.name]
    text = render_kubeconfig(run.settings.local_url(), ca.cert_pem, cert_pem, key_pem)
    path, mode, uid, gid = run.paths.cert_dir / spec.kubeconfig, spec.kubeconfig_mode, run.uid(spec.owner), \
        run.gid()
    run.defer(lambda: atomic_write(path, text, mode, uid=uid, gid=gid))
    run.result.kubeconfigs.append(spec.kubeconfig)


def _key_pair_plan(run: _Pass, name: str, owner: str) -> bool:
    """Whether `name.key/.pub` must be generated; fixes what can be fixed without a new key."""
    key_path, pub_path = run.paths.cert_dir / f"{name}.key", run.paths.cert_dir / f"{name}.pub"
    if key_path.exists():
        try:
            key = load_private_key(key_path.read_bytes())
        except ValueError:
            _log().warning("pki.keypair.unreadable", name=name, path=str(key_path))
            return True
        if not pub_path.exists():  # the private half is all that matters: derive the public one
            atomic_write(pub_path, public_pem(key), CERT_MODE, uid=run.uid(owner), gid=run.gid())
        os.chmod(key_path, CERT_SECURE_MODE)
        run.chown(key_path, owner)
        run.chown(pub_path, owner)
        return False
    if pub_path.exists():
        _log().warning("pki.keypair.orphan_public", name=name, path=str(pub_path))
    return True


def _create_key_pair(run: _Pass, name: str, owner: str, future: Future[rsa.RSAPrivateKey]) -> None:
    key = run.key(future)
    key_pem, pub_pem = private_pem(key), public_pem(key)
    run.commit(name, owner, key_pem, pub_pem, ".pub")
    run.result.created_key_pairs.append(name)
    _log().info("pki.keypair.created", name=name)


def _remove_konnectivity(run: _Pass) -> None:
    for suffix in ("conf", "crt", "key"):
        path = run.paths.cert_dir / f"konnectivity.{suffix}"
        try:
            path.unlink()
            run.result.removed.append(path.name)
        except FileNotFoundError:
            pass


def _prepare_dirs(run: _Pass, etcd: bool) -> None:
    ensure_dir(run.paths.cert_dir, CERT_ROOT_DIR_MODE, uid=0 if os.geteuid() == 0 else None, gid=run.gid())
    run.result.recovered.extend(store.recover(run.paths.cert_dir))
    if etcd:
        ensure_dir(run.paths.etcd_cert_dir, ETCD_CERT_DIR_MODE, uid=run.uid(ETCD_USER), gid=run.gid())
        run.result.recovered.extend(f"etcd/{a}" for a in store.recover(run.paths.etcd_cert_dir))


def _run_pass(run: _Pass, leaves: list[LeafSpec], cas: list[CASpec], pairs: list[tuple[str, str]]) -> None:
    to_create = _load_cas(run, cas)
    regenerate = {spec.name for spec in leaves if spec.issuer in to_create or _needs_regeneration(run, spec)}
    new_pairs = [(name, owner) for name, owner in pairs if _key_pair_plan(run, name, owner)]
    # Ask for every key up front: the pool works while this thread signs and writes.
    ca_keys = [run.pool.submit() for _ in to_create]
    leaf_keys = {spec.name: run.pool.submit(run.reserve) for spec in leaves if spec.name in regenerate}
    pair_keys = [run.pool.submit() for _ in new_pairs]
    if run.reserve is not None:  # taken spares are gone for good before any pair using one is committed
        run.defer(run.reserve.sync, barrier=True)
    for spec, future in zip(to_create, ca_keys, strict=True):
        _create_ca(run, spec, future)
    for leaf in leaves:
        _write_leaf(run, leaf, leaf_keys.get(leaf.name))
    for (name, owner), future in zip(new_pairs, pair_keys, strict=True):
        _create_key_pair(run, name, owner, future)


def _execute(
    paths: Paths, settings: PKISettings, *, etcd: bool | None, user_lookup: UserLookup,
    host_addresses: HostAddresses, now: dt.datetime | None, workers: int | None,
    only: frozenset[str] | None = None, reserve: SpareKeys | None = None,
) -> PKIResult:
    started = time.perf_counter()
    owners = Owners(user_lookup)
    with_etcd = settings.runs_etcd and etcd is not False
    with_main = etcd is not True
    api_sans = build_san_list(settings, host_addresses) if with_main else []
    leaves = inventory(settings, api_sans, etcd=etcd)
    for spec in leaves:  # refuse a bad SAN before anything is written
        split_hosts(list(spec.hosts), what=f"certificate {spec.name}.crt")
    cas = [ca for ca in CAS if (ca.etcd and with_etcd) or (not ca.etcd and with_main)]
    pairs = [(name, owner) for name, owner, is_etcd in KEY_PAIRS if (with_etcd if is_etcd else with_main)]
    if only is not None:  # renewal of a few leaves in place: nothing else is touched
        leaves = [spec for spec in leaves if spec.name in only]
        cas = [ca for ca in cas if any(spec.issuer == ca for spec in leaves)]
        pairs = []
    with KeyPool(workers) as pool, ThreadPoolExecutor(WRITERS, thread_name_prefix="pki-write") as writer:
        run = _Pass(paths, settings, owners, now or dt.datetime.now(dt.UTC), pool, writer, reserve=reserve)
        try:
            _prepare_dirs(run, with_etcd)
            try:
                _run_pass(run, leaves, cas, pairs)
            finally:
                run.flush()
            if with_main and not settings.konnectivity_enabled:
                _remove_konnectivity(run)
        except OSError as err:
            raise _os_error(paths, err) from err
    run.result.missing_users = sorted(owners.missing)
    run.result.seconds = time.perf_counter() - started
    for user in run.result.missing_users:
        _log().warning("pki.user.missing", user=user, detail="files owned by root")
    _log().info("pki.ensured", renewed=run.result.renewed, created_cas=run.result.created_cas,
             kept=run.result.kept, keys_generated=run.result.keys_generated,
             keys_from_reserve=run.result.keys_from_reserve, seconds=round(run.result.seconds, 3))
    return run.result


def _os_error(paths: Paths, err: OSError) -> K0spyError:
    hint = f"check that {paths.cert_dir} is writable by this user and its file system is not read-only"
    if err.errno == errno.ENOSPC:
        hint = f"free some space on the file system of {paths.cert_dir}"
    return K0spyError(f"writing the PKI in {paths.cert_dir}: {err}", hint=hint)


def ensure_pki(
    paths: Paths, settings: PKISettings, *, user_lookup: UserLookup = system_lookup,
    host_addresses: HostAddresses = system_host_addresses, now: dt.datetime | None = None,
    workers: int | None = None, include_etcd: bool = True, reserve: SpareKeys | None = None,
) -> PKIResult:
    """The full inventory: CAs, leaves, sa keys, kubeconfigs and (when etcd runs here) the etcd set.

    With `reserve`, each renewed leaf takes a spare key from it first (see `k0spy.pki.spare`).
    """
    return _execute(paths, settings, etcd=None if include_etcd else False, user_lookup=user_lookup,
                    host_addresses=host_addresses, now=now, workers=workers, reserve=reserve)


def ensure_etcd_pki(
    paths: Paths, settings: PKISettings, *, user_lookup: UserLookup = system_lookup,
    now: dt.datetime | None = None, workers: int | None = None, reserve: SpareKeys | None = None,
) -> PKIResult:
    """Only the etcd set: etcd CA, etcd server and peer, apiserver-etcd-client, etcd JWT keys."""
    return _execute(paths, settings, etcd=True, user_lookup=user_lookup,
                    host_addresses=system_host_addresses, now=now, workers=workers, reserve=reserve)


def renew_leaves(
    paths: Paths, settings: PKISettings, names: frozenset[str], *, user_lookup: UserLookup = system_lookup,
    host_addresses: HostAddresses = system_host_addresses, now: dt.datetime | None = None,
) -> PKIResult:
    """Regenerate just the named leaves (and the kubeconfigs embedding them), as renewal does at run time."""
    return _execute(paths, settings, etcd=None, user_lookup=user_lookup, host_addresses=host_addresses,
                    now=now, workers=None, only=names)


async def ensure_pki_async(paths: Paths, settings: PKISettings, **kwargs: Any) -> PKIResult:
    """`ensure_pki` off the event loop (it blocks on key generation and fsync)."""
    import asyncio

    call: Callable[[], PKIResult] = lambda: ensure_pki(paths, settings, **kwargs)  # noqa: E731
    return await asyncio.to_thread(call)
