"""ensure_pki on a real file system: the inventory, modes, owners, restarts and every kind of bad input."""

from __future__ import annotations

import base64
import datetime as dt
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from k0spy.errors import K0spyError
from k0spy.paths import Paths
from k0spy.pki.ca import Authority, CASpec, build_ca, issue
from k0spy.pki.ensure import ensure_etcd_pki, renew_leaves
from k0spy.pki.keys import generate_key, private_pem
from k0spy.pki.store import staging_path
from tests.support.pki import FAKE_UIDS, cert_files, load_cert, make_pki, no_users, settings

NOW = dt.datetime.now(dt.UTC)
LEAF_NAMES = ["admin", "apiserver-etcd-client", "apiserver-kubelet-client", "ccm", "etcd/peer", "etcd/server",
              "front-proxy-client", "k0s-api", "konnectivity", "scheduler", "server"]


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def owner(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_uid, st.st_gid


def test_cold_start_creates_the_full_inventory(paths: Paths) -> None:
    result = make_pki(paths)
    assert result.created_cas == ["ca", "front-proxy-ca", "etcd/ca"]
    assert sorted(result.renewed) == LEAF_NAMES
    assert result.created_key_pairs == ["sa", "etcd/jwt"]
    assert result.kubeconfigs == ["admin.conf", "konnectivity.conf", "ccm.conf", "scheduler.conf"]
    assert result.keys_generated == 16 and result.missing_users == []
    pki = paths.cert_dir
    assert (mode(pki), mode(paths.etcd_cert_dir)) == (0o751, 0o711)
    for crt in cert_files(paths):
        assert mode(crt) == 0o644, crt
        assert mode(crt.with_suffix(".key")) == 0o640, crt
        assert crt.with_suffix(".key").read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----\n")
    for pub in (pki / "sa.pub", pki / "etcd/jwt.pub"):
        assert pub.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----\n") and mode(pub) == 0o644
    assert {name: mode(pki / name) for name in result.kubeconfigs} == {
        "admin.conf": 0o600, "konnectivity.conf": 0o640, "ccm.conf": 0o600, "scheduler.conf": 0o600}


def test_owners_follow_the_component_users(paths: Paths) -> None:
    make_pki(paths)
    pki, api, etcd = paths.cert_dir, FAKE_UIDS["kube-apiserver"], FAKE_UIDS["etcd"]
    expected = {
        "ca.key": api, "ca.crt": 0, "front-proxy-ca.key": 0, "admin.key": 0, "admin.conf": 0,
        "server.key": api, "server.crt": api, "k0s-api.key": api, "ccm.conf": api, "sa.key": api,
        "apiserver-etcd-client.key": api, "scheduler.key": FAKE_UIDS["kube-scheduler"],
        "scheduler.conf": FAKE_UIDS["kube-scheduler"], "konnectivity.key": FAKE_UIDS["konnectivity-server"],
        "etcd": etcd, "etcd/ca.key": etcd, "etcd/server.key": etcd, "etcd/peer.crt": etcd,
        "etcd/jwt.key": etcd,
    }
    got = {name: owner(pki / name) for name in expected}
    assert got == {name: (uid, 0) for name, uid in expected.items()}


def test_missing_users_leave_files_to_root(paths: Paths) -> None:
    result = make_pki(paths, user_lookup=no_users)
    assert result.missing_users == ["etcd", "konnectivity-server", "kube-apiserver", "kube-scheduler"]
    assert {owner(path)[0] for path in paths.cert_dir.rglob("*")} == {0}


def test_restart_keeps_cas_and_renews_every_leaf(paths: Paths) -> None:
    make_pki(paths, now=NOW - dt.timedelta(days=1))
    kept = ["ca.crt", "ca.key", "front-proxy-ca.crt", "front-proxy-ca.key", "etcd/ca.crt", "etcd/ca.key",
            "sa.key", "sa.pub", "etcd/jwt.key", "etcd/jwt.pub"]
    before = {name: (paths.cert_dir / name).read_bytes() for name in kept}
    leaves = {name: load_cert(paths.cert_dir / f"{name}.crt") for name in LEAF_NAMES}
    result = make_pki(paths, now=NOW)
    assert result.created_cas == [] and result.keys_generated == 11
    assert {name: (paths.cert_dir / name).read_bytes() for name in kept} == before
    for name, old in leaves.items():
        new = load_cert(paths.cert_dir / f"{name}.crt")
        assert new.serial_number != old.serial_number, name
        assert new.not_valid_after_utc - old.not_valid_after_utc == dt.timedelta(days=1), name
    admin_conf = (paths.cert_dir / "admin.conf").read_text()
    assert base64.b64encode((paths.cert_dir / "admin.crt").read_bytes()).decode() in admin_conf


def test_validities_come_from_settings(paths: Paths) -> None:
    cfg = settings(ca_validity=dt.timedelta(days=20), cert_validity=dt.timedelta(days=2),
                   etcd_ca_validity=dt.timedelta(days=30), etcd_cert_validity=dt.timedelta(days=3))
    make_pki(paths, cfg, now=NOW)

    def days(name: str) -> float:
        cert = load_cert(paths.cert_dir / f"{name}.crt")
        return (cert.not_valid_after_utc - cert.not_valid_before_utc) / dt.timedelta(days=1)

    assert [days(n) for n in ("ca", "admin", "etcd/ca", "etcd/server", "apiserver-etcd-client")] == \
        [20, 2, 30, 3, 3]


@pytest.mark.parametrize("remove", ["ca.key", "ca.crt", "front-proxy-ca.key", "etcd/ca.crt"])
def test_half_a_ca_is_refused_and_the_survivor_untouched(paths: Paths, remove: str) -> None:
    make_pki(paths)
    (paths.cert_dir / remove).unlink()
    survivor = paths.cert_dir / (remove[:-4] + (".crt" if remove.endswith(".key") else ".key"))
    kept = survivor.read_bytes()
    with pytest.raises(K0spyError) as info:
        make_pki(paths)
    assert str(paths.cert_dir / remove) in info.value.message and "does not" in info.value.message
    assert info.value.hint and "backup" in info.value.hint
    assert survivor.read_bytes() == kept and not (paths.cert_dir / remove).exists()


@pytest.mark.parametrize(("name", "damage"), [("ca.crt", "truncate"), ("ca.key", "truncate"),
                                              ("ca.key", "swap")])
def test_corrupt_or_mismatched_ca_is_refused(paths: Paths, name: str, damage: str) -> None:
    make_pki(paths)
    path = paths.cert_dir / name
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:300])
    else:
        path.write_bytes((paths.cert_dir / "front-proxy-ca.key").read_bytes())
    with pytest.raises(K0spyError) as info:
        make_pki(paths)
    assert str(path) in info.value.message


def test_corrupt_leaf_is_regenerated(paths: Paths) -> None:
    make_pki(paths)
    (paths.cert_dir / "server.crt").write_bytes(b"-----BEGIN CERTIFICATE-----\ngarbage\n")
    (paths.cert_dir / "scheduler.crt").unlink()
    result = make_pki(paths)
    assert {"server", "scheduler"} <= set(result.renewed)
    assert load_cert(paths.cert_dir / "server.crt").issuer.rfc4514_string() == "CN=kubernetes-ca"


def _foreign_authority() -> Authority:
    spec = CASpec("corp", "Corp Root CA")
    key = generate_key()
    cert = build_ca(spec, key, dt.timedelta(days=100), NOW)
    return Authority(spec, cert, key, cert.public_bytes(serialization.Encoding.PEM))


def test_leaf_from_a_foreign_ca_is_left_alone(paths: Paths) -> None:
    make_pki(paths)
    corp = _foreign_authority()
    key = generate_key()
    cert = issue(corp, key, cn="kubernetes", org="corp", hosts=["api.corp.example"],
                 validity=dt.timedelta(days=9), now=NOW)
    (paths.cert_dir / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (paths.cert_dir / "server.key").write_bytes(private_pem(key))
    before = (paths.cert_dir / "server.crt").read_bytes()
    result = make_pki(paths)
    assert "server" in result.kept and "server" not in result.renewed
    assert (paths.cert_dir / "server.crt").read_bytes() == before
    assert owner(paths.cert_dir / "server.key") == (FAKE_UIDS["kube-apiserver"], 0)


def test_operator_supplied_ca_with_its_own_name_keeps_renewing(paths: Paths) -> None:
    corp = _foreign_authority()
    paths.cert_dir.mkdir(parents=True)
    (paths.cert_dir / "ca.crt").write_bytes(corp.cert_pem)
    (paths.cert_dir / "ca.key").write_bytes(private_pem(corp.key))
    make_pki(paths)
    first = load_cert(paths.cert_dir / "admin.crt")
    assert first.issuer.rfc4514_string() == "CN=Corp Root CA"
    result = make_pki(paths)
    assert "admin" in result.renewed
    assert load_cert(paths.cert_dir / "admin.crt").serial_number != first.serial_number
    assert (paths.cert_dir / "ca.crt").read_bytes() == corp.cert_pem


def test_invalid_san_is_refused_before_anything_is_written(paths: Paths) -> None:
    with pytest.raises(K0spyError) as info:
        make_pki(paths, settings(sans=("good.example", "bad name/x")))
    assert "'bad name/x'" in info.value.message and "server.crt" in info.value.message
    assert not paths.cert_dir.exists()


def test_disabled_konnectivity_removes_its_files_and_kine_skips_etcd(paths: Paths) -> None:
    make_pki(paths)
    result = make_pki(paths, settings(konnectivity_enabled=False, storage_type="kine"))
    assert sorted(result.removed) == ["konnectivity.conf", "konnectivity.crt", "konnectivity.key"]
    assert "etcd/server" not in result.renewed and "apiserver-etcd-client" not in result.renewed


def test_kine_never_creates_the_etcd_set(paths: Paths) -> None:
    make_pki(paths, settings(storage_type="kine"))
    assert not paths.etcd_cert_dir.exists() and not (paths.cert_dir / "apiserver-etcd-client.crt").exists()


def test_ensure_etcd_pki_alone(paths: Paths) -> None:
    result = ensure_etcd_pki(paths, settings(etcd_peer_address="127.0.0.1"), user_lookup=no_users)
    assert result.created_cas == ["etcd/ca"] and result.created_key_pairs == ["etcd/jwt"]
    assert sorted(result.renewed) == ["apiserver-etcd-client", "etcd/peer", "etcd/server"]
    assert not (paths.cert_dir / "ca.crt").exists()


def test_sa_public_key_is_derived_when_missing(paths: Paths) -> None:
    make_pki(paths)
    key = (paths.cert_dir / "sa.key").read_bytes()
    pub = (paths.cert_dir / "sa.pub").read_bytes()
    (paths.cert_dir / "sa.pub").unlink()
    result = make_pki(paths)
    assert result.created_key_pairs == []
    assert (paths.cert_dir / "sa.key").read_bytes() == key and (paths.cert_dir / "sa.pub").read_bytes() == pub


def test_renew_leaves_touches_only_the_named(paths: Paths) -> None:
    make_pki(paths)
    before = {name: load_cert(paths.cert_dir / f"{name}.crt").serial_number for name in LEAF_NAMES}
    result = renew_leaves(paths, settings(), frozenset({"scheduler", "etcd/server"}))
    assert sorted(result.renewed) == ["etcd/server", "scheduler"] and result.kubeconfigs == ["scheduler.conf"]
    changed = {n for n in LEAF_NAMES if load_cert(paths.cert_dir / f"{n}.crt").serial_number != before[n]}
    assert changed == {"scheduler", "etcd/server"}


def test_interrupted_commit_is_completed_before_use(paths: Paths) -> None:
    make_pki(paths)
    crt, key = paths.cert_dir / "admin.crt", paths.cert_dir / "admin.key"
    staging_path(crt).write_bytes(crt.read_bytes())
    os.replace(key, staging_path(key))  # as if killed after staging both halves
    result = make_pki(paths)
    assert "completed admin" in result.recovered
    assert not list(paths.cert_dir.glob(".*"))


@pytest.fixture
def read_only_pki(paths: Paths) -> Iterator[Paths]:
    make_pki(paths)
    target = str(paths.cert_dir)
    subprocess.run(["mount", "--bind", target, target], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", target], check=True)
        yield paths
    finally:
        subprocess.run(["umount", target], check=True)


def test_read_only_pki_dir_is_a_clear_error(read_only_pki: Paths) -> None:
    with pytest.raises(K0spyError) as info:
        make_pki(read_only_pki)
    assert "read-only file system" in info.value.message.lower()
    assert info.value.hint and str(read_only_pki.cert_dir) in info.value.hint


async def test_async_wrapper_runs_off_the_event_loop(paths: Paths) -> None:
    from k0spy.pki.ensure import ensure_pki_async
    from tests.support.pki import fake_users, host_addresses

    result = await ensure_pki_async(paths, settings(storage_type="kine"), user_lookup=fake_users,
                                    host_addresses=host_addresses)
    assert result.created_cas == ["ca", "front-proxy-ca"] and len(result.renewed) == 8


def test_renew_due_renews_only_leaves_in_the_window(paths: Paths) -> None:
    from k0spy.pki.renew import renew_due
    from tests.support.pki import fake_users, host_addresses

    cfg = settings(cert_validity=dt.timedelta(days=40))
    make_pki(paths, cfg, now=NOW)
    kw = {"user_lookup": fake_users, "host_addresses": host_addresses}
    assert renew_due(paths, cfg, now=NOW + dt.timedelta(days=5), **kw).renewed == []
    outcome = renew_due(paths, cfg, now=NOW + dt.timedelta(days=15), **kw)
    assert sorted(outcome.renewed) == ["admin", "apiserver-kubelet-client", "ccm", "front-proxy-client",
                                       "k0s-api", "konnectivity", "scheduler", "server"]
    assert outcome.restart == ["kube-apiserver", "konnectivity-server", "kube-controller-manager",
                               "kube-scheduler", "k0s-api"]
    renewed = load_cert(paths.cert_dir / "server.crt")
    assert renewed.not_valid_after_utc > NOW + dt.timedelta(days=50)
    assert renew_due(paths, cfg, now=NOW + dt.timedelta(days=16), **kw).renewed == []
