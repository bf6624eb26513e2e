"""Command-line parsing for the doubles, driven by the checked-in flag lists of the real components.

The flag *names* come from `flags/<component>.txt` (copied from ../shared/reference/flags so that the doubles,
and the bundle built from them, depend on nothing outside the repository).  Those lists carry no types, so
`flagtypes.py` names the boolean, integer, float and duration flags; every other flag takes a string.  Two
parser families are reproduced: spf13/pflag under cobra (the Kubernetes components and konnectivity-server:
`--name[=value]`, "_" normalised to "-", shorthands -h/-v only) and urfave/cli (kine: `-name` or `--name`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources

from . import flagtypes


class FlagError(Exception):
    """A command line the real parser would refuse; `message` is the parser's own wording."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class ParsedArgs:
    """Flag values as given (last one wins), plus help/version requests."""

    values: dict[str, str] = field(default_factory=dict)
    repeated: dict[str, list[str]] = field(default_factory=dict)
    positional: list[str] = field(default_factory=list)

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def every(self, name: str) -> list[str]:
        """All values of a flag given several times (pflag StringArray/NamedCertKey flags accumulate)."""
        return self.repeated.get(name, [])

    def has(self, name: str) -> bool:
        return name in self.values

    def bool(self, name: str, default: bool = False) -> bool:
        raw = self.values.get(name)
        return default if raw is None else parse_bool(raw)

    def int(self, name: str, default: int = 0) -> int:
        raw = self.values.get(name)
        return default if raw is None else int(raw, 0)

    def duration(self, name: str, default: float = 0.0) -> float:
        raw = self.values.get(name)
        return default if raw is None else parse_duration(raw)

    def list(self, name: str) -> list[str]:
        raw = self.values.get(name, "")
        return [item.strip() for item in raw.split(",") if item.strip()]


def load_flag_names(component: str) -> dict[str, bool]:
    """Flag name -> deprecated? for a component, from the packaged flag list."""
    text = resources.files(__package__).joinpath("flags", f"{component}.txt").read_text()
    names: dict[str, bool] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, comment = line.partition("#")
        names[name.strip()] = "deprecated" in comment
    return names


_BOOL_TRUE = {"1", "t", "T", "true", "TRUE", "True"}
_BOOL_FALSE = {"0", "f", "F", "false", "FALSE", "False"}


def parse_bool(raw: str) -> bool:
    """Go's strconv.ParseBool."""
    if raw in _BOOL_TRUE:
        return True
    if raw in _BOOL_FALSE:
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{raw}": invalid syntax')


_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(raw: str) -> float:
    """Go's time.ParseDuration, in seconds."""
    text = raw[1:] if raw[:1] in "+-" else raw
    sign = -1.0 if raw.startswith("-") else 1.0
    if text == "0":
        return 0.0
    pos, total = 0, 0.0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None:
            raise ValueError(f'time: invalid duration "{raw}"')
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if not text:
        raise ValueError(f'time: invalid duration "{raw}"')
    return sign * total


def _check_value(component: str, name: str, raw: str) -> None:
    kind = flagtypes.kind_of(component, name)
    try:
        if kind == "bool":
            parse_bool(raw)
        elif kind == "int":
            if not re.fullmatch(r"[+-]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]*|[1-9][0-9]*)", raw):
                raise ValueError(f'strconv.ParseInt: parsing "{raw}": invalid syntax')
        elif kind == "float":
            try:
                float(raw)
            except ValueError:
                raise ValueError(f'strconv.ParseFloat: parsing "{raw}": invalid syntax') from None
        elif kind == "duration":
            parse_duration(raw)
    except ValueError as err:
        dashes = "-" if flagtypes.family_of(component) == "urfave" else "--"
        raise FlagError(f'invalid argument "{raw}" for "{dashes}{name}" flag: {err}') from None


def parse_pflag(component: str, argv: list[str]) -> ParsedArgs:
    """spf13/pflag as configured by k8s.io/component-base/cli (WordSepNormalizeFunc)."""
    names = load_flag_names(component)
    parsed = ParsedArgs()
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--":
            parsed.positional.extend(args)
            break
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            name = name.replace("_", "-")
            if name not in names or not name:
                raise FlagError(f"unknown flag: --{name}")
            if not eq:
                value = _pflag_value(component, name, args, f"--{name}")
        elif arg.startswith("-") and len(arg) > 1:
            short, rest = arg[1], arg[2:]
            long_name = {"h": "help", "v": "v"}.get(short)
            if long_name is None or long_name not in names:
                raise FlagError(f"unknown shorthand flag: '{short}' in {arg}")
            name = long_name
            if rest.startswith("="):
                value = rest[1:]
            elif rest:
                value = rest
            else:
                value = _pflag_value(component, name, args, f"-{short}")
        else:
            parsed.positional.append(arg)
            continue
        _check_value(component, name, value)
        parsed.values[name] = value
        parsed.repeated.setdefault(name, []).append(value)
    return parsed


def _pflag_value(component: str, name: str, args: list[str], shown: str) -> str:
    kind = flagtypes.kind_of(component, name)
    if kind == "bool" or name in ("help",):
        return "true"
    if name == "version":
        return "true"
    if not args:
        raise FlagError(f"flag needs an argument: {shown}")
    return args.pop(0)


def parse_urfave(component: str, argv: list[str]) -> ParsedArgs:
    """urfave/cli v2 over Go's flag package: -name and --name alike, bools take no separate value."""
    names = load_flag_names(component)
    aliases = {"h": "help", "v": "version"}
    parsed = ParsedArgs()
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--":
            parsed.positional.extend(args)
            break
        if not arg.startswith("-") or arg == "-":
            parsed.positional.append(arg)
            parsed.positional.extend(args)
            break
        body = arg[2:] if arg.startswith("--") else arg[1:]
        name, eq, value = body.partition("=")
        name = aliases.get(name, name)
        if name not in names:
            raise FlagError(f"flag provided but not defined: -{body.partition('=')[0]}")
        if not eq:
            if flagtypes.kind_of(component, name) == "bool":
                value = "true"
            elif not args:
                raise FlagError(f"flag needs an argument: -{name}")
            else:
                value = args.pop(0)
        _check_value(component, name, value)
        parsed.values[name] = value
        parsed.repeated.setdefault(name, []).append(value)
    return parsed


def parse(component: str, argv: list[str]) -> ParsedArgs:
    if flagtypes.family_of(component) == "urfave":
        return parse_urfave(component, argv)
    return parse_pflag(component, argv)
