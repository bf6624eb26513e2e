"""Go `time.Duration` text: parsing (`time.ParseDuration`) and formatting (`Duration.String`).

k0s.yaml carries durations as Go writes them (`87600h0m0s`, `1m`, `300ms`); k0spy keeps them as
`datetime.timedelta` and prints them back exactly as k0s would, so `config create` output round-trips.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_PART = re.compile(r"(\d*)(?:\.(\d*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_MAX_NS = 2**63 - 1


def parse_go_duration_ns(text: str) -> int:
    """Nanoseconds of a Go duration string; ValueError with Go's wording when it is not one."""
    original = text
    sign = 1
    if text[:1] in ("+", "-"):
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        raise ValueError(f'time: invalid duration "{original}"')
    total = 0
    pos = 0
    while pos < len(text):
        match = _PART.match(text, pos)
        if not match or (not match.group(1) and not match.group(2)):
            if match is None and re.match(r"\d*(?:\.\d*)?$", text[pos:]):
                raise ValueError(f'time: missing unit in duration "{original}"')
            raise ValueError(f'time: invalid duration "{original}"')
        whole, frac, unit = match.group(1) or "0", match.group(2) or "", _UNITS_NS[match.group(3)]
        total += int(whole) * unit
        if frac:
            total += int(frac) * unit // 10 ** len(frac)
        if total > _MAX_NS:
            raise ValueError(f'time: invalid duration "{original}"')
        pos = match.end()
    return sign * total


def parse_go_duration(text: str) -> timedelta:
    return timedelta(microseconds=parse_go_duration_ns(text) / 1000)


def format_go_duration_ns(ns: int) -> str:
    """Go's `Duration.String()`: `0s`, `1.5s`, `300ms`, `2h45m0s`."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("\u00b5s", 1_000), ("ns", 1)):
            if ns >= size:
                return sign + _fraction(ns, size) + unit
    hours, rest = divmod(ns, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    seconds = _fraction(rest, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


def _fraction(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{str(frac).rjust(digits, '0').rstrip('0')}"


def format_go_duration(value: timedelta) -> str:
    micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    return format_go_duration_ns(micros * 1000)
