"""What every ClusterConfig model shares: strict, frozen pydantic models that know k0s's JSON shape.

Each model says two things about k0s's Go type that pydantic alone cannot:
* `k0s_custom_decoder`: the Go type decodes itself with plain `json.Unmarshal` (api, storage, network,
  images, calico, node-local load balancing), so unknown keys at and below it are ignored by k0s, not
  rejected. The loader turns them into warnings there and errors elsewhere.
* `k0s_always`: the JSON names without `omitempty`, emitted even when zero by `to_k0s_dict`, so that
  `k0spy config create` prints what `k0s config create` prints.
Python attribute names are snake_case; the camelCase k0s names are the aliases. Values are strict as Go's
JSON decoding is (no "6443" for an int, no 1 for a string).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from k0spy.config.durations import format_go_duration, parse_go_duration


class K0sModel(BaseModel):
    """Base of every ClusterConfig section."""

    model_config = ConfigDict(frozen=True, strict=True, populate_by_name=True, extra="forbid")

    k0s_custom_decoder: ClassVar[bool] = False
    k0s_always: ClassVar[frozenset[str]] = frozenset()

    def to_k0s_dict(self) -> dict[str, Any]:
        """camelCase dict as k0s serialises this type: omitempty fields left out when zero."""
        return k0s_dict(self)


def _duration(value: Any) -> Any:
    """metav1.Duration: a JSON string in Go's duration syntax (an int is a type error, as in Go)."""
    if isinstance(value, str):
        try:
            return parse_go_duration(value)
        except ValueError as err:
            raise ValueError(str(err)) from None
    return value


def _compat_duration(value: Any) -> Any:
    """The chart timeout: a duration string, or (older files) an integer number of nanoseconds."""
    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(microseconds=value / 1000)
    return _duration(value)


Duration = Annotated[timedelta, BeforeValidator(_duration)]
CompatDuration = Annotated[timedelta, BeforeValidator(_compat_duration)]
Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
Uint32 = Annotated[int, Field(ge=0, le=2**32 - 1)]
StrMap = dict[str, str]


def _is_zero(value: Any) -> bool:
    """Go's omitempty test. Durations are structs (metav1.Duration): omitempty never drops them."""
    if isinstance(value, bool | int | str | dict | list):
        return not value
    return value is None


def _plain(value: Any) -> Any:
    if isinstance(value, K0sModel):
        return k0s_dict(value)
    if isinstance(value, timedelta):
        return format_go_duration(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def k0s_dict(model: K0sModel) -> dict[str, Any]:
    """See `K0sModel.to_k0s_dict`. Nested structs are never omitted by Go's omitempty, pointers are."""
    out: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        alias = info.alias or name
        value = getattr(model, name)
        if value is None:
            continue
        if alias not in model.k0s_always and not isinstance(value, K0sModel) and _is_zero(value):
            continue
        out[alias] = _plain(value)
    return out
