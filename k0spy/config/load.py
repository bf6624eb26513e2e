"""Loading k0s.yaml: read safely -> normalise keys -> merge onto defaults -> type-check -> validate.

Every problem of a file is reported at once, each with its field path (`spec.featureGates[1].name`), the
value found and what is allowed; a value of the wrong type is dropped and validation goes on, so that
one bad port does not hide an invalid CIDR. Warnings (what k0s silently ignores) travel with the result.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from k0spy.config.decode import decode_cluster_config
from k0spy.config.model import API_VERSION, DEFAULT_DATA_DIR, KIND, ClusterConfig, default_cluster_config
from k0spy.config.model_storage import EtcdConfig, KineConfig, default_kine_data_source
from k0spy.config.normalize import DecodeError, dotted, normalize
from k0spy.config.validate import validate_cluster_config
from k0spy.config.yamlsafe import MAX_CONFIG_BYTES, parse_yaml
from k0spy.errors import ConfigError, ConfigIssue
from k0spy.paths import DEFAULT_ETC_DIR

STDIN_SOURCE = "<stdin>"


@dataclass(frozen=True)
class LoadedConfig:
    config: ClusterConfig
    warnings: list[ConfigIssue] = field(default_factory=list)
    source: str = ""


def load_cluster_config(
    source: str | Path | None,
    *,
    single: bool = False,
    stdin: IO[bytes] | None = None,
    default_path: Path = DEFAULT_ETC_DIR / "k0s.yaml",
    data_dir: Path = DEFAULT_DATA_DIR,
    address: str | None = None,
    k0s_feature_gates: Iterable[str] = (),
    allow_empty: bool = True,
) -> LoadedConfig:
    """Load and validate a ClusterConfig; raises ConfigError with every issue found.

    `source` "-" reads `stdin` (default: the process's stdin); None reads `default_path`, and a missing
    default file means defaults. `single` makes kine the default storage (`--single`). `address`
    overrides the detected host address. `allow_empty=False` refuses an empty document (`validate`).
    """
    name, data = read_source(source, stdin=stdin, default_path=default_path, missing_default_ok=allow_empty)
    parsed = parse_yaml(data, name) if data is not None else None
    warnings = list(parsed.warnings) if parsed else []
    raw = parsed.value if parsed else None
    if raw is None:
        if data is not None and not allow_empty:
            raise ConfigError(
                name,
                [ConfigIssue(field="", message="empty: no configuration found")],
                hint="`k0spy config create` prints a complete default configuration",
            )
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            name,
            [
                ConfigIssue(
                    field="",
                    message=f"expected a mapping (apiVersion, kind, spec, ...) at the top, got {_kind(raw)}",
                    value=raw if not isinstance(raw, list) else None,
                    has_value=not isinstance(raw, list),
                )
            ],
        )
    config, more_warnings = build_cluster_config(
        raw, name, single=single, data_dir=data_dir, address=address, k0s_feature_gates=k0s_feature_gates
    )
    return LoadedConfig(config=config, warnings=warnings + more_warnings, source=name)


def build_cluster_config(
    raw: dict[str, Any],
    name: str,
    *,
    single: bool = False,
    data_dir: Path = DEFAULT_DATA_DIR,
    address: str | None = None,
    k0s_feature_gates: Iterable[str] = (),
) -> tuple[ClusterConfig, list[ConfigIssue]]:
    """The config of a parsed document (see `load_cluster_config`), and its warnings."""
    normalized = normalize(raw, ClusterConfig)
    warnings = list(normalized.warnings)
    if raw:
        warnings += _type_meta_warnings(normalized.value)
    warnings += _zero_port_warnings(normalized.value)
    merged = _merged_with_defaults(normalized.value, single=single, data_dir=data_dir, address=address)
    decode_errors = list(normalized.errors)
    aborting = False
    config = None
    for _ in range(5):  # drop wrongly typed values (reported) until the rest validates
        try:
            config = ClusterConfig.model_validate(merged)
            break
        except ValidationError as err:
            items = err.errors()
            for item in items:
                aborting = aborting or _aborts(item)
                decode_errors.append(
                    DecodeError(_type_issue(item), normalized.position(_clean_loc(item["loc"])))
                )
            for item in reversed(items):  # later list items first, so earlier indexes stay right
                _drop(merged, item["loc"])
    errors, ignored = _decode_outcome(decode_errors, aborting)
    warnings += ignored
    if config is not None:
        errors += validate_cluster_config(config, k0s_feature_gates=k0s_feature_gates)
    if errors or config is None:
        raise ConfigError(name, _dedupe(errors))
    return config, warnings


def _merged_with_defaults(
    doc: dict[str, Any], *, single: bool, data_dir: Path, address: str | None
) -> dict[str, Any]:
    defaults = default_cluster_config(address, single=single, data_dir=data_dir)
    detected = defaults.spec.api.address
    kine = KineConfig(data_source=default_kine_data_source(str(data_dir)))
    return decode_cluster_config(
        doc,
        defaults.model_dump(by_alias=True),
        address=detected,
        kine_default=kine.model_dump(by_alias=True),
        etcd_default=EtcdConfig(peer_address=detected).model_dump(by_alias=True),
    )


# Subtrees whose Go types decode themselves: an error there aborts Go's decoding at once.
_SELF_DECODING = {
    ("spec", "api"),
    ("spec", "storage"),
    ("spec", "network"),
    ("spec", "images"),
    ("metadata", "creationTimestamp"),
    ("metadata", "deletionTimestamp"),
}


def _aborts(item: Any) -> bool:
    """Whether Go returns this error at once (custom decoders, durations) rather than saving it."""
    return tuple(item["loc"][:2]) in _SELF_DECODING or item["type"] in ("value_error", "time_delta_type")


def _decode_outcome(
    decode_errors: list[DecodeError], aborting: bool
) -> tuple[list[ConfigIssue], list[ConfigIssue]]:
    """(errors, warnings) as k0s ends up with them.

    Go's strict decoder saves only its first error and k0s ignores that error when it is a removed field
    (`interval`, `podSecurityPolicy`): then every later decoding error goes unnoticed and the file loads.
    Mirrored here, with a warning for each error k0s would not see. Errors from the self-decoding
    sections abort Go's decoder and are never ignored.
    """
    real = [d for d in decode_errors if not d.swallowable]
    if aborting or not decode_errors:
        return [d.issue for d in real], []
    first = min(decode_errors, key=lambda d: d.order)
    if not first.swallowable:
        return [d.issue for d in real], []
    note = f"ignored, as k0s does: its decoder stops reporting after the removed field {first.issue.field}"
    return [], [
        ConfigIssue(
            field=d.issue.field,
            message=f"{d.issue.message}; {note}",
            value=d.issue.value,
            has_value=d.issue.has_value,
        )
        for d in real
    ]


def read_source(
    source: str | Path | None, *, stdin: IO[bytes] | None, default_path: Path, missing_default_ok: bool = True
) -> tuple[str, bytes | None]:
    """(name for messages, bytes); bytes None when the default file is absent (defaults apply).

    As in k0s, the default path may also be named explicitly and still be missing.
    """
    if source is not None and str(source) == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        data = stream.read(MAX_CONFIG_BYTES + 1)
        if isinstance(data, str):  # a text stream was passed: k0s reads bytes, so do we
            data = data.encode()
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(
                STDIN_SOURCE,
                [ConfigIssue(field="", message=f"more than the {MAX_CONFIG_BYTES}-byte limit; refused")],
            )
        return STDIN_SOURCE, data
    path = Path(source) if source is not None else default_path
    name = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if source is None or (missing_default_ok and path == default_path):
            return name, None
        raise ConfigError(
            name,
            [ConfigIssue(field="", message="no such file")],
            hint="check the path given with --config",
        ) from None
    except OSError as err:
        raise ConfigError(name, [ConfigIssue(field="", message=f"cannot read: {err.strerror}")]) from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(name, [ConfigIssue(field="", message="is a directory, not a configuration file")])
    if info.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(
            name,
            [
                ConfigIssue(
                    field="",
                    message=f"file is {info.st_size} bytes, more than the {MAX_CONFIG_BYTES}-byte limit",
                )
            ],
        )
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as err:
        raise ConfigError(name, [ConfigIssue(field="", message=f"cannot read: {err.strerror}")]) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            name, [ConfigIssue(field="", message=f"more than the {MAX_CONFIG_BYTES}-byte limit")]
        )
    return name, data


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _type_meta_warnings(doc: dict[str, Any]) -> list[ConfigIssue]:
    out = []
    for key, want in (("apiVersion", API_VERSION), ("kind", KIND)):
        got = doc.get(key)
        if got != want:
            message = f"should be {want!r} (k0s does not check it; accepted)"
            out.append(ConfigIssue(field=key, message=message, value=got, has_value=got is not None))
    return out


def _zero_port_warnings(doc: dict[str, Any]) -> list[ConfigIssue]:
    api = doc.get("spec", {}).get("api") if isinstance(doc.get("spec"), dict) else None
    out = []
    if isinstance(api, dict):
        for key, default in (("port", 6443), ("k0sApiPort", 9443)):
            if api.get(key) == 0 and not isinstance(api.get(key), bool):
                out.append(
                    ConfigIssue(
                        field=f"spec.api.{key}",
                        message=f"0 means the default {default}, as in k0s",
                        value=0,
                        has_value=True,
                    )
                )
    return out


def _clean_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """A pydantic error location without pydantic's validator labels."""
    return tuple(p for p in loc if isinstance(p, int) or not ("[" in p or "function-" in p))


_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "bool_type": "a boolean (true or false)",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "time_delta_type": "a duration such as 8760h",
}


def _type_issue(item: Any) -> ConfigIssue:
    value = item.get("input")
    kind = item["type"]
    scalar = not isinstance(value, dict | list)
    if kind in _EXPECTED:
        message = f"wrong type: expected {_EXPECTED[kind]}, got {_kind(value)}"
    elif kind in ("greater_than_equal", "less_than_equal"):
        message = "number out of range for this field (a 32-bit integer)"
    elif kind == "value_error":
        message = (
            f"invalid duration: {str(item['msg']).removeprefix('Value error, ')} (use Go syntax: 1h30m, 90s)"
        )
    else:
        message = str(item["msg"])
    return ConfigIssue(
        field=dotted(_clean_loc(item["loc"])),
        message=message,
        value=value if scalar else None,
        has_value=scalar,
    )


def _drop(tree: Any, loc: tuple[int | str, ...]) -> None:
    keys = list(_clean_loc(loc))
    for key in keys[:-1]:
        if not _has(tree, key):
            return
        tree = tree[key]
    if keys and _has(tree, keys[-1]):
        del tree[keys[-1]]


def _has(tree: Any, key: int | str) -> bool:
    if isinstance(tree, dict):
        return key in tree
    return isinstance(tree, list) and isinstance(key, int) and key < len(tree)


def _dedupe(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    seen: set[tuple[str, str]] = set()
    out = []
    for item in issues:
        key = (item.field, item.message)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
