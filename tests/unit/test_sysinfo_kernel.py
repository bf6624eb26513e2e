"""OS, kernel release, open-file limit and AppArmor verdicts (k0s's rules, quirks included)."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from k0spy.sysinfo.kernel import (
    apparmor_state,
    assess_kernel_release,
    assess_open_files,
    assess_os,
    kernel_release_problem,
    probe_apparmor,
    probe_open_files,
)
from k0spy.sysinfo.model import Status


@pytest.mark.parametrize("release", ["6.18.44-fc-v769", "3.10.0-1160.el7.x86_64", "4.4.0", "5.15.0", "10.0"])
def test_supported_releases_pass(release: str) -> None:
    assert kernel_release_problem(release) == ""
    assert assess_kernel_release(release).status is Status.PASS


@pytest.mark.parametrize("release", ["3.2.0", "3.0.1", "2.2.0"])
def test_old_releases_warn(release: str) -> None:
    result = assess_kernel_release(release)
    assert result.status is Status.WARN
    assert result.reason == "expected 3.10 and above"
    assert result.value == release
    assert result.path == ("os", "kernelRelease")


def test_k0s_pattern_quirk_is_kept() -> None:
    # k0s's unanchored alternation lets any release with a digit 4-9 or two adjacent digits through.
    assert kernel_release_problem("2.6.32") == ""
    assert kernel_release_problem("3.9.0") == ""


def test_os() -> None:
    assert assess_os("Linux").status is Status.PASS
    minix = assess_os("Minix")
    assert (minix.status, minix.value, minix.reason) == (Status.FAIL, "Minix", "Linux required")
    assert minix.path == ("os",)
    assert minix.name == "Operating system"


def test_open_files() -> None:
    low = assess_open_files(20000, 20000)
    assert (low.status, low.value, low.reason) == (Status.WARN, "current: 20000 / max: 20000", "< 65536")
    assert assess_open_files(65536, 1048576).status is Status.PASS
    unlimited = assess_open_files(resource.RLIM_INFINITY, resource.RLIM_INFINITY)
    assert unlimited.status is Status.PASS
    assert unlimited.value == "current: 18446744073709551615 / max: 18446744073709551615"


def test_apparmor_states(tmp_path: Path) -> None:
    assert apparmor_state(tmp_path) == "unavailable"
    (tmp_path / "lsm").write_text("lockdown,capability,yama,apparmor")
    assert apparmor_state(tmp_path) == "inactive"
    (tmp_path / "apparmor").mkdir()
    assert apparmor_state(tmp_path) == "active"
    result = probe_apparmor(tmp_path)
    assert (result.status, result.value, result.path) == (Status.PASS, "active", ("os", "AppArmor"))


def test_open_files_probe_judges_the_hard_limit_as_go_does() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
    try:
        result = probe_open_files()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    current, maximum = result.value.removeprefix("current: ").split(" / max: ")
    assert current == maximum
