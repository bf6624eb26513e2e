"""The worker profile: ConfigMap `kube-system/worker-config-<profile>-<minor>`, read with the node's own
credentials.

The controller publishes one ConfigMap per profile (k0spy.components.workerconfig); each data key holds a
JSON value (`kubeletConfiguration`, `pauseImage`, `apiServerAddresses`, `konnectivity`, ...). The worker
reads its profile once at start, before kubelet's config is written, and caches `{name, data}` in
DATA/worker-profile.yaml, so that a worker restarting while every API server is away still starts its
kubelet with the last known configuration (k0s keeps the same cache).

    fetch ok            -> cache written, profile returned
    401                 -> "node needs to be rejoined" (its certificate is no longer accepted)
    404                 -> the profile does not exist (a typo in --profile, or an older controller)
    unreachable         -> retried; then the cache if it holds this profile, else the error
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from k0spy.errors import K0spyError
from k0spy.fsutil import CONFIG_FILE_MODE, atomic_write
from k0spy.log import get_logger
from k0spy.paths import Paths
from k0spy.pins import KUBERNETES_MINOR

NAMESPACE = "kube-system"
DEFAULT_PROFILE = "default"
ATTEMPTS = 10
ATTEMPTS_WITH_CACHE = 3
FIRST_DELAY = 0.5
MAX_DELAY = 5.0


def configmap_name(profile: str, minor: str = KUBERNETES_MINOR) -> str:
    return f"worker-config-{profile}-{minor}"


def configmap_path(profile: str, minor: str = KUBERNETES_MINOR) -> str:
    return f"/api/v1/namespaces/{NAMESPACE}/configmaps/{configmap_name(profile, minor)}"


@dataclass(frozen=True)
class WorkerProfile:
    """The decoded data of a worker-config ConfigMap; `source` says whether it came from the API or cache."""

    name: str
    data: Mapping[str, str]
    source: str = "api"
    values: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_data(cls, name: str, data: Mapping[str, str], source: str = "api") -> WorkerProfile:
        values: dict[str, Any] = {}
        for key, raw in data.items():
            try:
                values[key] = json.loads(raw)
            except ValueError as err:
                raise K0spyError(f"worker profile {name}: data key {key} is not JSON: {err}",
                                 hint="the ConfigMap is written by the controller; do not edit it") from err
        return cls(name, dict(data), source, values)

    @property
    def kubelet_configuration(self) -> dict[str, Any]:
        value = self.values.get("kubeletConfiguration")
        return dict(value) if isinstance(value, Mapping) else {}

    @property
    def pause_image(self) -> str | None:
        image = self.values.get("pauseImage")
        if isinstance(image, Mapping) and image.get("image"):
            return f"{image['image']}:{image.get('version') or 'latest'}"
        return None

    @property
    def api_server_addresses(self) -> list[str]:
        return [str(a) for a in self.values.get("apiServerAddresses") or []]


def render_cache(profile: WorkerProfile) -> str:
    import yaml

    return str(yaml.safe_dump({"name": profile.name, "data": dict(profile.data)}, sort_keys=True))


def read_cache(path: Path, name: str) -> WorkerProfile | None:
    """The cached profile if it is the one asked for (a changed --profile must not use the old one)."""
    import yaml

    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(doc, dict) or doc.get("name") != name or not isinstance(doc.get("data"), dict):
        return None
    return WorkerProfile.from_data(name, {str(k): str(v) for k, v in doc["data"].items()}, source="cache")


async def fetch_once(kubeconfig: Path, name: str) -> WorkerProfile:
    from k0spy.kube.client import KubeApiError, KubeClient, credentials_from_kubeconfig

    async with KubeClient(credentials_from_kubeconfig(kubeconfig)) as kube:
        status, body = await kube.request("GET", configmap_path(name), what=f"reading worker profile {name}")
    if status == 401:
        raise K0spyError(f"the API server rejected this node's credentials ({kubeconfig}) reading worker "
                         f"profile {name}: node needs to be rejoined",
                         hint=f"remove {kubeconfig} and start the worker with a new join token")
    if status == 404:
        raise K0spyError(f"worker profile {name!r} not found (ConfigMap {NAMESPACE}/{configmap_name(name)})",
                         hint="check --profile against spec.workerProfiles in the controller's config")
    if status != 200 or not isinstance(body, dict):
        message = body.get("message") if isinstance(body, dict) else f"HTTP {status}"
        raise KubeApiError(f"reading worker profile {name}: {message}", status=status)
    return WorkerProfile.from_data(name, {str(k): str(v) for k, v in (body.get("data") or {}).items()})


async def load_profile(paths: Paths, kubeconfig: Path, name: str = DEFAULT_PROFILE) -> WorkerProfile:
    """Fetch the profile (retrying the unreachable), cache it; fall back to the cache when unreachable."""
    from k0spy.kube.client import KubeApiError

    log = get_logger(component="worker-profile")
    cached = read_cache(paths.worker_profile_cache, name)
    attempts = ATTEMPTS_WITH_CACHE if cached is not None else ATTEMPTS
    delay = FIRST_DELAY
    for attempt in range(attempts):
        try:
            profile = await fetch_once(kubeconfig, name)
        except KubeApiError as err:
            if 0 < err.status < 500:
                raise
            log.warning("profile.retry", profile=name, attempt=attempt + 1, error=err.message)
            if attempt == attempts - 1:
                if cached is not None:
                    log.warning("profile.using_cache", profile=name, path=str(paths.worker_profile_cache))
                    return cached
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)
            continue
        atomic_write(paths.worker_profile_cache, render_cache(profile), CONFIG_FILE_MODE)
        log.info("profile.loaded", profile=name, keys=sorted(profile.data))
        return profile
    raise AssertionError("unreachable")
