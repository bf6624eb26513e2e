"""The probe result model, k0s's byte formatting and the k0s JSON shape."""

from __future__ import annotations

import pytest

from k0spy.sysinfo.model import GI, KI, MI, ProbeReport, ProbeResult, Status, iec_bytes


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (KI, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (500 * MI, "500.0 MiB"),
        (1800 * MI, "1.8 GiB"),
        (GI, "1.0 GiB"),
        (25276063744, "23.5 GiB"),
        (3 * (1 << 40), "3.0 TiB"),
    ],
)
def test_iec_bytes_formats_like_k0s(size: int, text: str) -> None:
    assert iec_bytes(size) == text


def test_failed_is_rejected_or_error_only() -> None:
    assert [s for s in Status if s.failed] == [Status.FAIL, Status.ERROR]


def test_report_failed_and_lists() -> None:
    report = ProbeReport()
    report.add(ProbeResult(("a",), "A", Status.PASS, "x"))
    report.add(ProbeResult(("b",), "B", Status.WARN, "y", "why"))
    assert not report.failed
    report.add(ProbeResult(("c", "d"), "D", Status.ERROR, reason="boom"))
    assert report.failed
    assert [r.name for r in report.failures] == ["D"]
    assert [r.name for r in report.warnings] == ["B"]
    assert report.find("c", "d") is report.results[2]
    assert report.find("c") is None
    assert report.results[2].group == "c"


def test_k0s_dict_shape() -> None:
    warn = ProbeResult(("os", "RLIMIT_NOFILE"), "Max", Status.WARN, "current: 1", "< 65536")
    assert warn.as_k0s_dict() == {
        "path": ["os", "RLIMIT_NOFILE"], "displayName": "Max", "prop": "current: 1", "message": "< 65536",
        "category": "warning", "error": None,
    }
    error = ProbeResult(("disk:/x",), "Disk", Status.ERROR, reason="statfs /x: denied")
    assert error.as_k0s_dict()["error"] == "statfs /x: denied"
    assert error.as_k0s_dict()["category"] == "error"
    assert ProbeResult((), "n", Status.PASS).as_k0s_dict()["path"] is None
