"""Reading YAML the way k0s does (go-yaml v2 via sigs.k8s.io/yaml), with bounds an operator can trust.

PyYAML composes the node graph (libyaml when available); the Python values are then built here rather
than by PyYAML's constructors, because go-yaml differs from PyYAML in details real files hit:
timestamps stay strings, `52:54:00:12:34:56` is a string (PyYAML reads base-60 integers), `y`/`n` are
booleans, duplicate keys are errors (PyYAML keeps the last one silently), and only the first document
counts. Building the values ourselves also lets us refuse an alias bomb while expanding it (a bounded
node count), name both lines of a duplicate key and remember the line of every key for later errors.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from k0spy.errors import ConfigError, ConfigIssue

MAX_CONFIG_BYTES = 8 * 1024 * 1024
MAX_NODES = 100_000
MAX_DEPTH = 200

_TAG = "tag:yaml.org,2002:"

try:
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


class KeyLines(dict[str, Any]):
    """A mapping that remembers the line (1-based) of each key, for error messages."""

    lines: dict[str, int]

    def __init__(self) -> None:
        super().__init__()
        self.lines = {}


@dataclass
class ParsedYaml:
    """The first document's value (None when empty) and anything worth a warning."""

    value: Any
    warnings: list[ConfigIssue] = field(default_factory=list)


def _fail(source: str, message: str) -> ConfigError:
    return ConfigError(source, [ConfigIssue(field="", message=message)])


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 text of `data`; the error names the byte offset and line of the first bad byte."""
    if len(data) > MAX_CONFIG_BYTES:
        raise _fail(source, f"file is {len(data)} bytes, more than the {MAX_CONFIG_BYTES}-byte limit")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):  # go-yaml reads UTF-16 with a byte-order mark too
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as err:
            raise _fail(source, f"not valid UTF-16: bad bytes at offset {err.start}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise _fail(
            source, f"not valid UTF-8: byte 0x{data[err.start]:02x} at offset {err.start} (line {line})"
        ) from None


def parse_yaml(data: bytes, source: str) -> ParsedYaml:
    """Parse the first YAML document of `data` into plain Python values (see module docstring)."""
    text = decode_text(data, source)
    loader = _Loader(text)
    try:
        try:
            node = loader.get_node() if loader.check_node() else None
        except yaml.YAMLError as err:
            raise _fail(source, _describe_yaml_error(err, text)) from None
        warnings = []
        try:
            if node is not None and loader.check_node():
                warnings.append(
                    ConfigIssue(
                        field="", message="more than one YAML document: only the first is used (as k0s does)"
                    )
                )
        except yaml.YAMLError:
            warnings.append(
                ConfigIssue(
                    field="",
                    message="text after the first YAML document is not valid YAML; ignored (as k0s does)",
                )
            )
    finally:
        loader.dispose()
    if node is None:
        return ParsedYaml(None, warnings)
    return ParsedYaml(_Builder(source).build(node), warnings)


def _describe_yaml_error(err: yaml.YAMLError, text: str) -> str:
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    if mark is None:
        return f"not valid YAML: {problem}"
    where = f"line {mark.line + 1}, column {mark.column + 1}"
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    if "\t" in indent or "'\\t'" in problem:
        return f"tab character used for indentation at {where}: YAML allows only spaces for indentation"
    context = getattr(err, "context", None)
    detail = f"{context}, {problem}" if context else problem
    return f"not valid YAML at {where}: {detail}"


class _Builder:
    """Turns a composed node graph into dicts, lists and scalars, counting every node it expands."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.count = 0
        self.active: set[int] = set()

    def build(self, node: yaml.Node, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _fail(self.source, f"YAML expands to more than {MAX_NODES} nodes (an alias bomb?); refused")
        if depth > MAX_DEPTH:
            raise _fail(self.source, f"YAML nested deeper than {MAX_DEPTH} levels at {_where(node)}; refused")
        if isinstance(node, yaml.ScalarNode):
            return _scalar(node)
        if id(node) in self.active:
            raise _fail(self.source, f"recursive YAML alias at {_where(node)}")
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, depth + 1) for item in node.value]
            assert isinstance(node, yaml.MappingNode)
            return self._mapping(node, depth)
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, depth: int) -> KeyLines:
        result = KeyLines()
        merged: list[KeyLines] = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merged.extend(self._merge_sources(value_node, depth))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise _fail(self.source, f"mapping key at {_where(key_node)} is not a scalar")
            key = _key_string(_scalar(key_node))
            line = key_node.start_mark.line + 1
            if key in result.lines:
                raise _fail(
                    self.source,
                    f'duplicate key "{key}" at line {line} (first defined at line {result.lines[key]})',
                )
            result.lines[key] = line
            result[key] = self.build(value_node, depth + 1)
        for source in merged:  # explicit keys win over merged ones; earlier merges over later ones
            for key, value in source.items():
                if key not in result:
                    result[key] = value
                    result.lines[key] = source.lines.get(key, 0)
        return result

    def _merge_sources(self, node: yaml.Node, depth: int) -> list[KeyLines]:
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        sources = []
        for item in items:
            value = self.build(item, depth + 1)
            if not isinstance(value, KeyLines):
                raise _fail(self.source, f"merge key (<<) at {_where(item)} needs a mapping")
            sources.append(value)
        return sources


def _where(node: yaml.Node) -> str:
    return f"line {node.start_mark.line + 1}, column {node.start_mark.column + 1}"


def _scalar(node: yaml.ScalarNode) -> Any:
    """A scalar as go-yaml v2 resolves it: quoted and block scalars are strings, plain ones resolved."""
    if node.style in ("'", '"', "|", ">"):
        return node.value
    if node.tag not in _RESOLVABLE:  # an explicit tag such as !!binary: kept as its text
        return node.value
    return go_resolve(node.value)


_RESOLVABLE = {_TAG + name for name in ("str", "bool", "int", "float", "null", "timestamp", "merge", "value")}
_GO_MAP: dict[str, Any] = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_GO_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_TIMESTAMP_START = re.compile(r"[0-9]{4}-")


def go_resolve(value: str) -> Any:
    """go-yaml v2's resolve() of a plain scalar (timestamps stay strings, as v2 keeps them)."""
    if value in _GO_MAP:
        return _GO_MAP[value]
    first = value[:1]
    if first == ".":
        return _float(value)
    if not first or first not in "+-0123456789" or _TIMESTAMP_START.match(value):
        return value
    plain = value.replace("_", "")
    number = _go_int(plain)
    if number is not None:
        return number
    if _GO_FLOAT.fullmatch(plain):
        return _float(plain)
    return value


def _go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64) (and ParseUint): prefixes 0x, 0o, 0b, a leading 0 for octal."""
    sign = -1 if text.startswith("-") else 1
    digits = text[1:] if text[:1] in "+-" else text
    bases = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}
    try:
        if digits[:2] in bases and len(digits) > 2:
            number = int(digits[2:], bases[digits[:2]])
        elif len(digits) > 1 and digits.startswith("0"):
            number = int(digits[1:], 8)
        elif digits.isdigit():
            number = int(digits)
        else:
            return None
    except ValueError:
        return None
    return sign * number if -(2**63) <= sign * number < 2**64 else None


def _float(text: str) -> float | int | str:
    try:
        number = float(text)
    except ValueError:
        return text
    # JSON carries 1e3 and 6443.0 as numbers that Go decodes into an int field without complaint.
    if number.is_integer() and abs(number) < 2**63:
        return int(number)
    return number


def _key_string(key: Any) -> str:
    """Keys become strings as sigs.k8s.io/yaml makes them (`true`, `1`, `null`)."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)
