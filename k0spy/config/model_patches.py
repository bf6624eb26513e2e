"""Patches k0s applies to the manifests it generates (k0s pkg/apis/k0s/v1beta1/patches.go)."""

from __future__ import annotations

from pydantic import Field

from k0spy.config.model_base import K0sModel

PATCH_TYPES = ("JSON", "StrategicMergePatch", "MergePatch")


class PatchTarget(K0sModel):
    k0s_always = frozenset({"kind", "name"})

    kind: str = ""
    name: str = ""
    namespace: str = ""


class PatchSpec(K0sModel):
    k0s_always = frozenset({"type", "content"})

    type: str = ""
    content: str = ""


class Patch(K0sModel):
    k0s_always = frozenset({"target", "patch"})

    target: PatchTarget = Field(default_factory=PatchTarget)
    patch: PatchSpec = Field(default_factory=PatchSpec)
