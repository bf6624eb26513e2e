"""A start with a full reserve generates no leaf key, and still gives every leaf a never-used key."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import rsa

from k0spy.paths import Paths
from k0spy.pki.keys import load_private_key
from k0spy.pki.leaf import inventory
from k0spy.pki.spare import SpareKeys, reserve_size
from tests.support.pki import load_cert, make_pki, openssl, settings
from tests.support.pki_spare import fingerprint, spare_files


def leaf_keys(paths: Paths) -> dict[str, int]:
    """Leaf name -> fingerprint of its key, checked against its certificate."""
    out = {}
    for spec in inventory(settings(), [], etcd=None):
        key = load_private_key((paths.cert_dir / f"{spec.name}.key").read_bytes())
        cert = load_cert(paths.cert_dir / f"{spec.name}.crt")
        public = cert.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        assert fingerprint(public) == fingerprint(key), spec.name  # the pair on disk matches
        out[spec.name] = fingerprint(key)
    return out


def test_a_full_reserve_replaces_every_leaf_key_generation(paths: Paths) -> None:
    make_pki(paths)  # the cold start: CAs, leaves, key pairs
    before = leaf_keys(paths)
    SpareKeys(paths.pki_spare_dir).refill(reserve_size(settings()))
    spares = {fingerprint(load_private_key(p.read_bytes())) for p in spare_files(paths)}
    result = make_pki(paths, reserve=SpareKeys(paths.pki_spare_dir))
    assert result.keys_generated == 0
    assert result.keys_from_reserve == len(result.renewed) == reserve_size(settings()) == 11
    after = leaf_keys(paths)
    assert set(after.values()) == spares  # each leaf got one spare, each spare went to one leaf
    assert len(set(after.values())) == len(after)
    assert not set(after.values()) & set(before.values())
    assert spare_files(paths) == []
    for name in ("server", "etcd/server", "admin"):  # still issued by the CAs that were kept
        ca = "etcd/ca.crt" if name.startswith("etcd/") else "ca.crt"
        check = openssl("verify", "-CAfile", str(paths.cert_dir / ca), str(paths.cert_dir / f"{name}.crt"))
        assert check.returncode == 0, check.stderr


def test_a_partial_reserve_is_topped_up_by_generation(paths: Paths) -> None:
    make_pki(paths)
    SpareKeys(paths.pki_spare_dir).refill(4)
    result = make_pki(paths, reserve=SpareKeys(paths.pki_spare_dir))
    assert (result.keys_from_reserve, result.keys_generated) == (4, 7)
    assert len(set(leaf_keys(paths).values())) == 11 and spare_files(paths) == []


def test_cas_and_key_pairs_never_come_from_the_reserve(paths: Paths) -> None:
    SpareKeys(paths.pki_spare_dir).refill(20)
    result = make_pki(paths, reserve=SpareKeys(paths.pki_spare_dir))  # cold: 3 CAs, 2 key pairs, 11 leaves
    assert result.created_cas and result.created_key_pairs
    assert result.keys_from_reserve == 11
    assert result.keys_generated == len(result.created_cas) + len(result.created_key_pairs)
    assert len(spare_files(paths)) == 9


def test_without_a_reserve_nothing_is_taken(paths: Paths) -> None:
    make_pki(paths)
    SpareKeys(paths.pki_spare_dir).refill(2)
    result = make_pki(paths)
    assert result.keys_from_reserve == 0 and result.keys_generated == 11
    assert len(spare_files(paths)) == 2
