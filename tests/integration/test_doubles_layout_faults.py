"""The laid-out executables (any cwd, copied alone) and the K0SPY_DOUBLE_FAULT knob."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.doubles.layout import BINARIES
from tests.integration.test_doubles_kine_konnectivity import konnectivity_args
from tests.support.doubles import Procs, doubles_bin, http_get, pki, procs, wait_http_ok, wait_until
from tests.support.doubles_pki import DoublesPki
from tests.support.net import free_port

__all__ = ["doubles_bin", "pki", "procs"]


def test_every_component_is_an_executable(doubles_bin: Path, tmp_path: Path) -> None:
    for name in BINARIES:
        result = subprocess.run(
            [str(doubles_bin / name), "--help"],
            capture_output=True,
            text=True,
            cwd="/",
            timeout=20,
            check=False,
        )
        assert result.returncode == 0, (name, result.stderr)
        assert f"{name} [flags]" in result.stdout
    lonely = tmp_path / "elsewhere" / "kube-apiserver"
    lonely.parent.mkdir()
    shutil.copy2(doubles_bin / "kube-apiserver", lonely)
    result = subprocess.run(
        [str(lonely), "--version"], capture_output=True, text=True, cwd=tmp_path, timeout=20, check=False
    )
    assert result.returncode == 0 and result.stdout.strip() == "Kubernetes v1.35.0"


def _start(procs: Procs, pki: DoublesPki, tmp_path: Path, fault: str) -> tuple[object, int]:
    health = free_port()
    args = konnectivity_args(pki, tmp_path, health, free_port(), free_port())
    proc = procs.start("konnectivity-server", args, env={"K0SPY_DOUBLE_FAULT": fault})
    return proc, health


def test_fault_crash(procs: Procs, pki: DoublesPki, tmp_path: Path) -> None:
    proc, _ = _start(procs, pki, tmp_path, "konnectivity-server=crash")
    assert proc.popen.wait(20) == 1
    assert "Injected fault: crashing at start-up" in proc.output()


def test_fault_crash_after(procs: Procs, pki: DoublesPki, tmp_path: Path) -> None:
    proc, health = _start(procs, pki, tmp_path, "crash-after:1")
    wait_http_ok(f"http://127.0.0.1:{health}/healthz", proc=proc)
    assert proc.popen.wait(20) == 1


def test_fault_slow_start(procs: Procs, pki: DoublesPki, tmp_path: Path) -> None:
    proc, health = _start(procs, pki, tmp_path, "slow-start:1.5")
    wait_until(lambda: "delaying start-up" in proc.output(), proc=proc)
    with pytest.raises(OSError):
        http_get(f"http://127.0.0.1:{health}/healthz", timeout=0.5)
    wait_http_ok(f"http://127.0.0.1:{health}/healthz", proc=proc)


def test_fault_stall_still_stops(procs: Procs, pki: DoublesPki, tmp_path: Path) -> None:
    proc, _ = _start(procs, pki, tmp_path, "stall")
    wait_until(lambda: "delaying start-up" in proc.output(), proc=proc)
    assert proc.stop() == 0


def test_fault_hang_ignores_sigterm(procs: Procs, pki: DoublesPki, tmp_path: Path) -> None:
    proc, health = _start(procs, pki, tmp_path, "kubelet=crash,hang")
    wait_http_ok(f"http://127.0.0.1:{health}/healthz", proc=proc)
    proc.popen.send_signal(signal.SIGTERM)
    time.sleep(1.0)
    assert proc.popen.poll() is None
    proc.kill()
    assert proc.popen.returncode == -signal.SIGKILL


def test_bad_fault_value(procs: Procs, pki: DoublesPki, tmp_path: Path) -> None:
    proc, _ = _start(procs, pki, tmp_path, "explode")
    assert proc.popen.wait(20) == 2
    assert "unknown fault 'explode'" in proc.output()
