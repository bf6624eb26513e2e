import os
import stat
from pathlib import Path

import pytest

from k0spy.fsutil import CERT_SECURE_MODE, LockHeld, atomic_write, ensure_dir, exclusive_lock, lock_is_held


def test_atomic_write_sets_mode_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "ca.key"
    atomic_write(target, b"old", CERT_SECURE_MODE)
    atomic_write(target, "new", CERT_SECURE_MODE, mtime=1_000_000)
    assert target.read_bytes() == b"new"
    st = target.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert st.st_mtime == 1_000_000
    assert [p.name for p in tmp_path.iterdir()] == ["ca.key"]


def test_atomic_write_failure_leaves_target_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "f"
    (target / "inner").mkdir(parents=True)  # the rename onto a non-empty directory fails
    with pytest.raises(OSError, match="writing f in"):
        atomic_write(target, b"new", 0o644)
    assert (target / "inner").is_dir()
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_atomic_write_missing_dir_names_file_and_dir(tmp_path: Path) -> None:
    with pytest.raises(OSError, match=r"writing x in .*/nope: no such file"):
        atomic_write(tmp_path / "nope" / "x", b"", 0o644)


def test_ensure_dir_forces_mode(tmp_path: Path) -> None:
    d = tmp_path / "a" / "pki"
    d.mkdir(parents=True, mode=0o777)
    ensure_dir(d, 0o751)
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o751


def test_exclusive_lock(tmp_path: Path) -> None:
    lock = tmp_path / "k0s.yaml.lock"
    assert not lock_is_held(lock)
    with exclusive_lock(lock):
        assert lock_is_held(lock)
        with pytest.raises(LockHeld), exclusive_lock(lock):
            pass
    assert not lock_is_held(lock)
    assert lock.exists()


@pytest.mark.parametrize(("durable", "syncs"), [(True, 2), (False, 0)])
def test_atomic_write_fsyncs_file_and_dir_unless_not_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool, syncs: int
) -> None:
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    target = tmp_path / "x.pid"
    atomic_write(target, "42\n", 0o644, durable=durable)
    assert target.read_text() == "42\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert len(calls) == syncs
    assert [p.name for p in tmp_path.iterdir()] == ["x.pid"]
