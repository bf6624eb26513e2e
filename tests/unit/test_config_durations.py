"""Go duration syntax: parse and print exactly as Go's time package does."""

from __future__ import annotations

from datetime import timedelta

import pytest

from k0spy.config.durations import format_go_duration, format_go_duration_ns, parse_go_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("87600h", timedelta(hours=87600)),
        ("8760h0m0s", timedelta(hours=8760)),
        ("1h30m", timedelta(minutes=90)),
        ("1.5s", timedelta(seconds=1.5)),
        ("300ms", timedelta(milliseconds=300)),
        ("10us", timedelta(microseconds=10)),
        ("10\u00b5s", timedelta(microseconds=10)),
        ("0", timedelta(0)),
        ("-2m", timedelta(minutes=-2)),
    ],
)
def test_parse(text: str, expected: timedelta) -> None:
    assert parse_go_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "invalid"), ("10", "missing unit"), ("1x", "invalid"), ("h", "invalid"), ("1h 2m", "invalid")],
)
def test_parse_rejects(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_go_duration(text)


@pytest.mark.parametrize(
    ("ns", "expected"),
    [
        (0, "0s"),
        (1, "1ns"),
        (1500, "1.5\u00b5s"),
        (300_000_000, "300ms"),
        (1_500_000_000, "1.5s"),
        (60_000_000_000, "1m0s"),
        (87600 * 3_600_000_000_000, "87600h0m0s"),
        (-90_000_000_000, "-1m30s"),
    ],
)
def test_format_like_go(ns: int, expected: str) -> None:
    assert format_go_duration_ns(ns) == expected


def test_round_trip() -> None:
    for text in ("2h45m0s", "1m0s", "10s", "8760h0m0s"):
        assert format_go_duration(parse_go_duration(text)) == text
