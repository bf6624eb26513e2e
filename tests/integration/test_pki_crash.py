"""kill -9 at random instants during generation, then a normal run: never a torn file or a lost CA."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from k0spy.paths import Paths
from k0spy.pki.check import OK, check_certificates
from k0spy.pki.keys import load_private_key
from tests.support.pki import make_pki

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import sys
from k0spy.paths import Paths
from tests.support.pki import make_pki
paths = Paths.build(sys.argv[1], run_dir=sys.argv[1] + "/run", etc_dir=sys.argv[1] + "/etc")
print("ready", flush=True)
for _ in range(50):
    make_pki(paths)
"""


def run_and_kill(data_dir: Path, delay: float) -> None:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(data_dir)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(delay)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def assert_no_torn_file(paths: Paths) -> None:
    """Every live file parses; a mismatched pair only ever has its staged certificate waiting."""
    for path in paths.cert_dir.rglob("*"):
        if path.name.startswith(".") or path.is_dir():
            continue
        data = path.read_bytes()
        if path.suffix == ".crt":
            cert = x509.load_pem_x509_certificate(data)
            key_path = path.with_suffix(".key")
            if key_path.exists():
                key = load_private_key(key_path.read_bytes())
                staged = path.parent / f".{path.name}.pending"
                matches = key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]
                assert matches or staged.exists(), f"{path.name}: key newer than certificate, nothing staged"
        elif path.suffix == ".key":
            load_private_key(data)
        elif path.suffix == ".conf":
            assert yaml.safe_load(data)["users"][0]["user"]["client-key-data"]


def assert_consistent(paths: Paths, ca_before: bytes | None) -> None:
    reports = check_certificates(paths)
    bad = [(r.path, r.status, r.problems) for r in reports if r.status != OK or r.key_matches is False]
    assert not bad
    assert len(reports) == 18
    assert not [p.name for p in paths.cert_dir.rglob(".*")]
    if ca_before is not None:
        assert (paths.cert_dir / "ca.crt").read_bytes() == ca_before


@pytest.mark.slow
def test_kill_during_cold_generation_then_start(tmp_path: Path) -> None:
    rng = random.Random(os.getpid())
    for attempt in range(8):
        paths = Paths.build(tmp_path / f"cold{attempt}", run_dir=tmp_path / "run", etc_dir=tmp_path / "etc")
        run_and_kill(paths.data_dir, rng.uniform(0.0, 0.5))
        if paths.cert_dir.exists():
            assert_no_torn_file(paths)
        make_pki(paths)
        assert_consistent(paths, None)


@pytest.mark.slow
def test_kill_loop_during_warm_generation_then_start(tmp_path: Path) -> None:
    rng = random.Random(os.getpid() + 1)
    paths = Paths.build(tmp_path / "data", run_dir=tmp_path / "run", etc_dir=tmp_path / "etc")
    make_pki(paths)
    ca = (paths.cert_dir / "ca.crt").read_bytes()
    for _ in range(15):
        run_and_kill(paths.data_dir, rng.uniform(0.0, 1.0))
        assert_no_torn_file(paths)
    make_pki(paths)
    assert_consistent(paths, ca)
