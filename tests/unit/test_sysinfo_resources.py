"""Memory, disk, file system and name-resolution verdicts (k0s: too little is a warning, never a failure)."""

from __future__ import annotations

import socket
from pathlib import Path

from k0spy.sysinfo.model import GI, MI, Status
from k0spy.sysinfo.resources import (
    assess_free_disk,
    assess_total_memory,
    probe_file_system,
    probe_free_disk,
    probe_name_resolution,
)


def test_memory() -> None:
    ok = assess_total_memory(("memory",), 2 * GI, GI)
    assert (ok.status, ok.value, ok.name) == (Status.PASS, "2.0 GiB", "Total memory")
    low = assess_total_memory(("memory",), 400 * MI, 500 * MI)
    assert (low.status, low.value, low.reason) == (Status.WARN, "400.0 MiB", "500.0 MiB recommended")


def test_free_disk_bytes() -> None:
    ok = assess_free_disk(("disk:/d",), "/d", 2 * GI, 10 * GI, 1800 * MI, relative=False)
    assert (ok.status, ok.value, ok.name) == (Status.PASS, "2.0 GiB", "Disk space available for /d")
    low = assess_free_disk(("disk:/d",), "/d", 1 * MI, 1 * MI, 1800 * MI, relative=False)
    assert (low.status, low.value, low.reason) == (Status.WARN, "1.0 MiB", "1.8 GiB recommended")


def test_free_disk_percent_rounds_down() -> None:
    ok = assess_free_disk(("reldisk:/d",), "/d", 15, 100, 15, relative=True)
    assert (ok.status, ok.value, ok.name) == (Status.PASS, "15%", "Relative disk space available for /d")
    low = assess_free_disk(("reldisk:/d",), "/d", 149, 1000, 15, relative=True)
    assert (low.status, low.value, low.reason) == (Status.WARN, "14%", "15% recommended")


def test_probes_walk_up_to_an_existing_parent(tmp_path: Path) -> None:
    missing = str(tmp_path / "not" / "yet")
    fs = probe_file_system(("filesystem:x",), missing)
    assert fs.status is Status.PASS and fs.value  # /tmp's file system, whatever it is
    assert fs.name == f"File system of {tmp_path}"  # as k0s: the directory that was looked at
    disk = probe_free_disk(("disk:x",), missing, 0, relative=False)
    assert disk.status is Status.PASS
    assert disk.name == f"Disk space available for {missing}"


def test_unreadable_path_is_an_error(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    disk = probe_free_disk(("disk:x",), str(loop), 0, relative=False)
    assert disk.status is Status.ERROR
    assert "too many levels of symbolic links" in disk.reason
    assert probe_file_system(("fs",), str(loop)).status is Status.ERROR


def test_name_resolution() -> None:
    ok = probe_name_resolution(("nameResolution:localhost",), "localhost", lambda host: ["127.0.0.1", "::1"])
    assert (ok.status, ok.value, ok.name) == (Status.PASS, "[127.0.0.1 ::1]", "Name resolution: localhost")
    empty = probe_name_resolution(("n",), "x", lambda host: [])
    assert (empty.status, empty.reason) == (Status.ERROR, "no IP addresses")

    def fail(host: str) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    failed = probe_name_resolution(("n",), "nowhere.invalid", fail)
    assert failed.status is Status.ERROR and failed.reason.startswith("lookup nowhere.invalid: ")
