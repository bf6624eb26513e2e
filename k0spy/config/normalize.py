"""Keys of the parsed YAML mapped onto the model's JSON names, and unknown keys judged as k0s judges them.

Go's encoding/json matches field names case-insensitively (`podcidr` fills podCIDR) and k0s decodes most
of the file with unknown fields disallowed, but the types that decode themselves (api, storage, network,
images and below) do it without that flag: there k0s silently ignores unknown keys. We mirror the split
(errors in the strict subtrees, warnings in the lenient ones) and always swallow the two fields that old
releases had (`interval`, `podSecurityPolicy`), as k0s does. A null value means unset and is dropped,
except inside string maps and lists, where Go stores the zero value "".
"""

from __future__ import annotations

import functools
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from k0spy.config.model_base import K0sModel
from k0spy.config.yamlsafe import KeyLines
from k0spy.errors import ConfigIssue

SWALLOWED_FIELDS = frozenset({"interval", "podSecurityPolicy"})


Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class DecodeError:
    """An error Go's JSON decoder would record, with its place in the decoder's visiting order.

    Go's strict decoder keeps only the first such error (keys visited sorted, depth first); k0s then
    ignores it when it is an unknown `interval`/`podSecurityPolicy`. `swallowable` marks those.
    """

    issue: ConfigIssue
    order: int
    swallowable: bool = False


@dataclass
class Normalized:
    value: Any
    errors: list[DecodeError] = field(default_factory=list)
    warnings: list[ConfigIssue] = field(default_factory=list)
    positions: dict[Loc, int] = field(default_factory=dict)

    def position(self, loc: Loc) -> int:
        """Visiting order of `loc` (or of its nearest visited ancestor)."""
        while loc:
            if loc in self.positions:
                return self.positions[loc]
            loc = loc[:-1]
        return 0

    def visit(self, loc: Loc) -> int:
        order = len(self.positions) + 1
        self.positions[loc] = order
        return order


@dataclass(frozen=True)
class _Fields:
    exact: dict[str, Any]
    folded: dict[str, tuple[str, Any]]


@functools.cache
def _fields(cls: type[K0sModel]) -> _Fields:
    hints = typing.get_type_hints(cls, include_extras=False)
    exact: dict[str, Any] = {}
    folded: dict[str, tuple[str, Any]] = {}
    for name, info in cls.model_fields.items():
        alias = info.alias or name
        exact[alias] = hints[name]
        folded.setdefault(alias.lower(), (alias, hints[name]))
    return _Fields(exact, folded)


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _model_class(annotation: Any) -> type[K0sModel] | None:
    annotation = _unwrap_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        assert issubclass(annotation, K0sModel)
        return annotation
    return None


def normalize(raw: Any, cls: type[K0sModel]) -> Normalized:
    """Rename keys of `raw` (a parsed document) to the JSON names of `cls`, judging unknown keys."""
    result = Normalized(None)
    result.value = _walk_model(raw, cls, (), True, result)
    return result


def dotted(loc: Loc) -> str:
    """`("spec", "featureGates", 1, "name")` -> `spec.featureGates[1].name`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _walk_model(raw: Any, cls: type[K0sModel], loc: Loc, strict: bool, out: Normalized) -> Any:
    if not isinstance(raw, dict):
        return raw  # the type error is reported by validation, with the path
    strict = strict and not cls.k0s_custom_decoder
    fields = _fields(cls)
    lines = raw.lines if isinstance(raw, KeyLines) else {}
    result: dict[str, Any] = {}
    for key in sorted(raw):  # Go sees keys sorted (sigs.k8s.io/yaml goes through a JSON object)
        value = raw[key]
        if key in fields.exact:
            alias, annotation = key, fields.exact[key]
        elif key.lower() in fields.folded:
            alias, annotation = fields.folded[key.lower()]
        else:
            _unknown(key, (*loc, key), lines.get(key), strict, out)
            continue
        out.visit((*loc, alias))
        if value is None:
            continue
        if alias in result:
            message = f'set twice (as "{key}" too); the last one wins, as in k0s'
            out.warnings.append(ConfigIssue(field=dotted((*loc, alias)), message=message))
        result[alias] = _walk_value(value, annotation, (*loc, alias), strict, out)
    return result


def _unknown(key: str, loc: Loc, line: int | None, strict: bool, out: Normalized) -> None:
    at = f" (line {line})" if line else ""
    order = out.visit(loc)
    where = dotted(loc)
    if key in SWALLOWED_FIELDS:
        out.warnings.append(ConfigIssue(field=where, message=f"field removed from k0s, ignored{at}"))
        if strict:
            out.errors.append(DecodeError(ConfigIssue(field=where, message="removed field"), order, True))
    elif strict:
        out.errors.append(DecodeError(ConfigIssue(field=where, message=f"unknown field{at}"), order))
    else:
        message = f"unknown field, ignored (k0s ignores it too){at}"
        out.warnings.append(ConfigIssue(field=where, message=message))


def _walk_value(value: Any, annotation: Any, loc: Loc, strict: bool, out: Normalized) -> Any:
    model = _model_class(annotation)
    if model is not None:
        return _walk_model(value, model, loc, strict, out)
    annotation = _unwrap_optional(annotation)
    origin = get_origin(annotation)
    if origin is list and isinstance(value, list):
        (item_type,) = get_args(annotation)
        item_model = _model_class(item_type)
        items = []
        for index, item in enumerate(value):
            out.visit((*loc, index))
            if item_model is not None:
                items.append(_walk_model(item, item_model, (*loc, index), strict, out))
            else:
                items.append("" if item is None and item_type is str else plain(item))
        return items
    if origin is dict and isinstance(value, dict):
        for key in sorted(value):
            out.visit((*loc, key))
        return {k: ("" if v is None else plain(v)) for k, v in value.items()}
    return plain(value)


def plain(value: Any) -> Any:
    """Plain dicts and lists (no KeyLines) for values kept as given, e.g. worker profile values."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
