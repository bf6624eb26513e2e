"""The images a node needs for an air-gapped install (k0s pkg/airgap GetImageURIs), as a pure function.

Given a loaded, defaulted ClusterConfig (images already rewritten by `images.repository`) and the target
platform, list the image URIs in k0s's order: the base set, then the CNI's, then the node-local load
balancer's. `all_images` lists every optional set too (pushgateway, both CNIs, both NLLB proxies).
"""

from __future__ import annotations

from dataclasses import dataclass

from k0spy.config.model import ClusterConfig
from k0spy.config.model_images import ENVOY_PROXY, TRAEFIK, ImageSpec, image
from k0spy.errors import K0spyError

NO_ENVOY_ARCHES = frozenset({"arm", "riscv64"})  # no envoy-distroless image for these


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        """`linux/amd64`, `linux/arm/v7`, `windows/amd64`."""
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise K0spyError(f"invalid platform {text!r}", "use os/arch[/variant], e.g. linux/amd64")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else "")


def _nllb_image(configured: ImageSpec | None, default: tuple[str, str]) -> str:
    return (configured or image(default)).uri


def image_uris(config: ClusterConfig, platform: Platform, all_images: bool = False) -> list[str]:
    spec = config.spec
    images = spec.images
    uris: list[str] = []
    if platform.os == "linux":
        uris += [images.pause.uri, images.konnectivity.uri, images.kube_proxy.uri, images.coredns.uri,
                 images.metrics_server.uri]
        if all_images:
            uris.append(images.push_gateway.uri)
    elif platform.os == "windows":
        uris += [images.windows.pause.uri, images.windows.kube_proxy.uri]
    provider = spec.network.provider or "kuberouter"
    if (all_images or provider == "kuberouter") and platform.os == "linux":
        uris += [images.kuberouter.cni_installer.uri, images.kuberouter.cni.uri]
    if all_images or provider == "calico":
        if platform.os == "linux":
            uris += [images.calico.cni.uri, images.calico.kube_controllers.uri, images.calico.node.uri]
        elif platform.os == "windows":
            uris += [images.calico.windows.cni.uri, images.calico.windows.node.uri]
    nllb = spec.network.node_local_load_balancing
    backend = (nllb.type or "EnvoyProxy") if nllb.is_enabled() else ""
    if (all_images or backend == "EnvoyProxy") and platform.os == "linux" \
            and platform.architecture not in NO_ENVOY_ARCHES:
        uris.append(_nllb_image(nllb.envoy_proxy.image if nllb.envoy_proxy else None, ENVOY_PROXY))
    if all_images or backend == "Traefik":
        uris.append(_nllb_image(nllb.traefik.image if nllb.traefik else None, TRAEFIK))
    return uris
