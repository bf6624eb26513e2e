"""The normalised file merged onto the defaults exactly as k0s's decoders do it (pure dict work).

k0s decodes the file *into* DefaultClusterConfig(): objects merge field by field (maps too), lists and
scalars replace. Several Go types then run their own defaulting after decoding; each is a function here,
named after the Go method it mirrors, so that the quirks stay visible:
* APISpec.setDefaults: an empty address is detected, port 0 means 6443, k0sApiPort 0 means 9443;
* StorageSpec.UnmarshalJSON: a storage section starts again from etcd (keeping an earlier kine, which
  is how `--single` survives a file without `storage.type`), and kine gets the default data source;
* Network.UnmarshalJSON: the provider decides whether calico or kuberouter settings exist;
* NodeLocalLoadBalancing / EnvoyProxy / Traefik setDefaults: type, image and port defaults;
* ClusterImages.UnmarshalJSON: `repository` rewrites every image, the pull policy defaults.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from k0spy.config.model_images import REWRITTEN_IMAGES, override_repository
from k0spy.config.model_lb import NLLB_IMAGE_DEFAULTS
from k0spy.config.model_network import CALICO_FLEX_PATH_DEFAULT

Tree = dict[str, Any]


def merge(base: Any, overlay: Any) -> Any:
    """Go's json decode of `overlay` into `base`: objects merge recursively, anything else replaces."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        out = dict(base)
        for key, value in overlay.items():
            out[key] = merge(base.get(key), value)
        return out
    return copy.deepcopy(overlay)


def decode_cluster_config(
    user: Tree, defaults: Tree, *, address: str, kine_default: Tree, etcd_default: Tree
) -> Tree:
    """Merge the normalised `user` document onto `defaults` (a full default ClusterConfig dict).

    `kine_default` and `etcd_default` are the dicts of k0s's DefaultKineConfig and DefaultEtcdConfig.
    """
    out = {key: value for key, value in defaults.items() if key != "spec"}
    for key in ("apiVersion", "kind", "metadata", "status"):
        if key in user:
            out[key] = merge(defaults.get(key), user[key])
    if not out.get("kind"):
        out["kind"] = "ClusterConfig"
    spec = copy.deepcopy(defaults["spec"])
    user_spec = user.get("spec")
    if not isinstance(user_spec, dict):
        out["spec"] = spec if user_spec is None else user_spec
        return out
    for key, value in user_spec.items():
        decoder = _SECTION_DECODERS.get(key)
        if decoder is not None and isinstance(value, dict):
            spec[key] = decoder(
                spec.get(key), value, address=address, kine_default=kine_default, etcd_default=etcd_default
            )
        else:
            spec[key] = merge(spec.get(key), value)
    _override_nllb_images(spec)
    out["spec"] = spec
    return out


def decode_api(base: Any, user: Tree, *, address: str, **_: Any) -> Tree:
    api: Tree = merge(base, user)
    if api.get("address") == "":
        api["address"] = address
    if api.get("k0sApiPort") == 0:
        api["k0sApiPort"] = 9443
    if api.get("port") == 0:
        api["port"] = 6443
    return api


def decode_storage(base: Any, user: Tree, *, kine_default: Tree, etcd_default: Tree, **_: Any) -> Tree:
    fresh: Tree = {"type": "etcd", "etcd": copy.deepcopy(etcd_default)}
    if isinstance(base, dict) and isinstance(base.get("kine"), dict):
        fresh["kine"] = copy.deepcopy(base["kine"])
    storage: Tree = merge(fresh, user)
    if storage.get("type") == "kine":
        kine = storage.get("kine")
        if not isinstance(kine, dict):
            storage["kine"] = copy.deepcopy(kine_default)
        elif kine.get("dataSource", "") == "":
            storage["kine"] = {**kine, "dataSource": kine_default["dataSource"]}
    return storage


def decode_network(base: Any, user: Tree, **_: Any) -> Tree:
    network: Tree = merge(base, user)
    provider = network.get("provider")
    if provider == "calico":
        if not isinstance(network.get("calico"), dict):
            network["calico"] = {"flexVolumeDriverPath": CALICO_FLEX_PATH_DEFAULT}
        network["kuberouter"] = None
    elif provider == "kuberouter":
        if not isinstance(network.get("kuberouter"), dict):
            network["kuberouter"] = {}
        network["calico"] = None
    nllb = network.get("nodeLocalLoadBalancing")
    if isinstance(nllb, dict):
        network["nodeLocalLoadBalancing"] = _nllb_defaults(nllb)
    return network


def _nllb_defaults(nllb: Tree) -> Tree:
    nllb = dict(nllb)
    if nllb.get("type", "") == "":
        nllb["type"] = "EnvoyProxy"
    wanted = {"EnvoyProxy": "envoyProxy", "Traefik": "traefik"}.get(nllb["type"])
    if wanted and not isinstance(nllb.get(wanted), dict):
        nllb[wanted] = {}
    for key, (image, version) in NLLB_IMAGE_DEFAULTS.items():
        proxy = nllb.get(key)
        if not isinstance(proxy, dict):
            continue
        proxy = dict(proxy)
        spec = proxy.get("image")
        if not isinstance(spec, dict):
            proxy["image"] = {"image": image, "version": version}
        else:
            proxy["image"] = {
                **spec,
                "image": spec.get("image") or image,
                "version": spec.get("version") or version,
            }
        if proxy.get("apiServerBindPort", 0) == 0:
            proxy["apiServerBindPort"] = 7443
        nllb[key] = proxy
    return nllb


def decode_images(base: Any, user: Tree, **_: Any) -> Tree:
    images: Tree = merge(base, user)
    repository = images.get("repository")
    if isinstance(repository, str) and repository:
        for path in REWRITTEN_IMAGES:
            spec = _get(images, path)
            if isinstance(spec, dict) and isinstance(spec.get("image"), str):
                spec["image"] = override_repository(repository, spec["image"])
    if images.get("default_pull_policy", "") == "":
        images["default_pull_policy"] = "IfNotPresent"
    return images


def _get(tree: Tree, path: tuple[str, ...]) -> Any:
    node: Any = tree
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _override_nllb_images(spec: Tree) -> None:
    """ClusterSpec.overrideImageRepositories: the NLLB proxies' images follow images.repository too."""
    repository = _get(spec, ("images", "repository"))
    if not isinstance(repository, str) or not repository:
        return
    for key in NLLB_IMAGE_DEFAULTS:
        image = _get(spec, ("network", "nodeLocalLoadBalancing", key, "image"))
        if isinstance(image, dict) and isinstance(image.get("image"), str):
            image["image"] = override_repository(repository, image["image"])


_SECTION_DECODERS: dict[str, Callable[..., Tree]] = {
    "api": decode_api,
    "storage": decode_storage,
    "network": decode_network,
    "images": decode_images,
}
