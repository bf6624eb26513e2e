"""The spare-key reserve: each key handed out once, damaged spares skipped, modes, sizing, backup."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from structlog.testing import capture_logs

from k0spy.backup.archive import tree_entries
from k0spy.paths import Paths
from k0spy.pki.keys import KeyPool, generate_key, private_pem
from k0spy.pki.spare import SpareKeys, reserve_size
from tests.support.pki import settings
from tests.support.pki_spare import fingerprint, spare_files


def test_the_reserve_lives_in_a_hidden_dir_of_the_pki(paths: Paths) -> None:
    assert paths.pki_spare_dir == paths.cert_dir / ".spare"


def test_refill_writes_the_missing_keys_with_private_modes(paths: Paths) -> None:
    spares = SpareKeys(paths.pki_spare_dir)
    assert spares.refill(3) == 3
    assert spares.refill(3) == 0  # full: nothing generated
    st = paths.pki_spare_dir.stat()
    assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == 0
    files = spare_files(paths)
    assert len(files) == 3
    for path in files:
        st = path.stat()
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0
        assert path.read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----")  # PKCS#1, unencrypted
    assert spares.refill(5) == 2 and len(spare_files(paths)) == 5


def test_each_spare_is_taken_once_and_its_file_is_gone(paths: Paths) -> None:
    SpareKeys(paths.pki_spare_dir).refill(4)
    on_disk = {fingerprint(rsa_key(path)) for path in spare_files(paths)}
    spares = SpareKeys(paths.pki_spare_dir)
    taken = [spares.take() for _ in range(4)]
    assert all(key is not None for key in taken)
    fingerprints = [fingerprint(key) for key in taken if key is not None]
    assert len(set(fingerprints)) == 4 and set(fingerprints) == on_disk
    assert spares.take() is None and spare_files(paths) == []
    assert SpareKeys(paths.pki_spare_dir).take() is None  # a new taker sees an empty reserve too


def test_two_takers_never_get_the_same_key(paths: Paths) -> None:
    SpareKeys(paths.pki_spare_dir).refill(6)
    first, second = SpareKeys(paths.pki_spare_dir), SpareKeys(paths.pki_spare_dir)
    first.names(), second.names()
    got = []
    for taker in (first, second, first, second, first, second, first, second):
        key = taker.take()
        if key is not None:
            got.append(fingerprint(key))
    assert len(got) == 6 and len(set(got)) == 6


def test_a_damaged_spare_is_deleted_and_skipped_with_a_warning(paths: Paths) -> None:
    spares = SpareKeys(paths.pki_spare_dir)
    spares.refill(1)
    (good,) = spare_files(paths)
    garbage = paths.pki_spare_dir / "spare-0000000000000000.key"
    garbage.write_bytes(b"-----BEGIN RSA PRIVATE KEY-----\nnot base64\n")
    numbers = generate_key().private_numbers()
    broken = rsa.RSAPrivateNumbers(numbers.p, numbers.q, numbers.d + 2, numbers.dmp1, numbers.dmq1,
                                   numbers.iqmp, numbers.public_numbers
                                   ).private_key(unsafe_skip_rsa_key_validation=True)
    inconsistent = paths.pki_spare_dir / "spare-0000000000000001.key"
    inconsistent.write_bytes(private_pem(broken))
    garbage.chmod(0o600)
    inconsistent.chmod(0o600)
    expected = fingerprint(rsa_key(good))
    with capture_logs() as logs:
        key = SpareKeys(paths.pki_spare_dir).take()
    assert key is not None and fingerprint(key) == expected
    assert not garbage.exists() and not inconsistent.exists()
    warned = [(log["path"], log["error"]) for log in logs if log["event"] == "pki.spare.unreadable"]
    assert [path for path, _ in warned] == [str(garbage), str(inconsistent)]
    assert warned[1][1] == "inconsistent RSA numbers" and "private file" not in warned[0][1]
    assert all(log["log_level"] == "warning" for log in logs if log["event"] == "pki.spare.unreadable")


def test_a_half_written_spare_is_never_taken_and_refill_clears_it(paths: Paths) -> None:
    SpareKeys(paths.pki_spare_dir).prepare()
    temp = paths.pki_spare_dir / ".spare-0123456789abcdef.key.a1b2c3.tmp"  # atomic_write's temp name
    temp.write_bytes(private_pem(generate_key())[:100])
    spares = SpareKeys(paths.pki_spare_dir)
    assert spares.names() == [] and spares.take() is None and temp.exists()
    spares.refill(1)
    assert not temp.exists() and len(spare_files(paths)) == 1


def test_a_set_stop_event_writes_nothing(paths: Paths) -> None:
    stop = threading.Event()
    stop.set()
    assert SpareKeys(paths.pki_spare_dir).refill(3, stop=stop) == 0
    assert spare_files(paths) == []


def test_parallel_refill_writes_distinct_keys(paths: Paths) -> None:
    assert SpareKeys(paths.pki_spare_dir).refill(4, workers=2) == 4
    assert len({fingerprint(rsa_key(path)) for path in spare_files(paths)}) == 4


def test_reserve_size_counts_the_leaves_of_one_pass() -> None:
    with_etcd = reserve_size(settings())
    assert with_etcd == 11  # 8 leaves + apiserver-etcd-client, etcd server and peer
    assert reserve_size(settings(storage_type="kine")) == with_etcd - 3
    assert reserve_size(settings(external_etcd=True)) == with_etcd - 3
    assert reserve_size(settings(konnectivity_enabled=False)) == with_etcd - 1


def test_key_pool_hands_out_spares_first_then_generates(paths: Paths) -> None:
    SpareKeys(paths.pki_spare_dir).refill(1)
    spares = SpareKeys(paths.pki_spare_dir)
    with KeyPool(1) as pool:
        spare = pool.submit(spares)
        assert spare.done() and pool.from_reserve(spare)
        generated = pool.submit(spares)
        plain = pool.submit()
        assert not pool.from_reserve(generated) and not pool.from_reserve(plain)
        keys = [spare.result(), generated.result(), plain.result()]
    assert len({fingerprint(key) for key in keys}) == 3
    assert spares.taken == 1 and spare_files(paths) == []


def test_backup_trees_leave_the_reserve_out(paths: Paths) -> None:
    SpareKeys(paths.pki_spare_dir).refill(1)
    (paths.cert_dir / "ca.crt").write_text("x")
    (paths.cert_dir / "etcd").mkdir()
    (paths.cert_dir / "etcd" / "ca.crt").write_text("x")
    names = [name for name, _ in tree_entries(paths.data_dir, "pki")]
    assert names == ["pki", "pki/ca.crt", "pki/etcd", "pki/etcd/ca.crt"]
    assert os.listdir(paths.pki_spare_dir)  # still there, only not archived


def rsa_key(path: Path) -> rsa.RSAPrivateKey:
    from k0spy.pki.keys import load_private_key

    return load_private_key(path.read_bytes())


def test_a_reserve_others_could_write_to_is_not_used(paths: Paths) -> None:
    SpareKeys(paths.pki_spare_dir).refill(2)
    paths.pki_spare_dir.chmod(0o777)
    with capture_logs() as logs:
        assert SpareKeys(paths.pki_spare_dir).take() is None
    assert [log["event"] for log in logs] == ["pki.spare.unsafe"] and len(spare_files(paths)) == 2
    SpareKeys(paths.pki_spare_dir).refill(2)  # a refill restores the mode: the spares become usable
    assert stat.S_IMODE(paths.pki_spare_dir.stat().st_mode) == 0o700
    assert SpareKeys(paths.pki_spare_dir).take() is not None


def test_a_spare_file_others_can_read_is_deleted_not_used(paths: Paths) -> None:
    SpareKeys(paths.pki_spare_dir).refill(2)
    exposed, kept = spare_files(paths)
    exposed.chmod(0o644)
    expected = fingerprint(rsa_key(kept))
    with capture_logs() as logs:
        key = SpareKeys(paths.pki_spare_dir).take()
    assert key is not None and fingerprint(key) == expected
    assert not exposed.exists()
    assert [log["event"] for log in logs] == ["pki.spare.unreadable"]
