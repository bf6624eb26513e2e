"""spec.images: every image k0s deploys, and the repository rewrite (k0s images.go, constant.go)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from k0spy.config.model_base import K0sModel

# (image, version) defaults of this k0s release (pkg/constant).
KONNECTIVITY = ("quay.io/k0sproject/apiserver-network-proxy-agent", "v0.36.0-k0s.0")
PUSHGATEWAY = ("quay.io/k0sproject/pushgateway-ttl", "1.4.0-k0s.2")
METRICS_SERVER = ("quay.io/k0sproject/metrics-server", "v0.9.0-k0s.0")
KUBE_PROXY = ("quay.io/k0sproject/kube-proxy", "v1.37.0-alpha.3")
COREDNS = ("quay.io/k0sproject/coredns", "1.14.6-k0s.0")
PAUSE = ("quay.io/k0sproject/pause", "3.10.2-0")
CALICO_CNI = ("quay.io/k0sproject/calico-cni", "v3.32.1-2")
CALICO_NODE = ("quay.io/k0sproject/calico-node", "v3.32.1-2")
CALICO_KUBE_CONTROLLERS = ("quay.io/k0sproject/calico-kube-controllers", "v3.32.1-2")
CALICO_CNI_WINDOWS = ("docker.io/calico/cni-windows", "v3.32.1")
CALICO_NODE_WINDOWS = ("docker.io/calico/node-windows", "v3.32.1")
KUBE_ROUTER_CNI = ("quay.io/k0sproject/kube-router", "v2.10.0-iptables1.8.13-k0s.1")
KUBE_ROUTER_CNI_INSTALLER = ("quay.io/k0sproject/cni-node", "v1.9.1-k0s.1-mac-pinning")
KUBE_PROXY_WINDOWS = ("docker.io/sigwindowstools/kube-proxy", "v1.37.0-alpha.3-calico-hostprocess")
PAUSE_WINDOWS = ("registry.k8s.io/pause", "3.10.2")
ENVOY_PROXY = ("quay.io/k0sproject/envoy-distroless", "v1.39.0")
TRAEFIK = ("quay.io/k0sproject/traefik", "v3.7.8-k0s.0")


class ImageSpec(K0sModel):
    """One image; `uri` is what a pod spec gets (repository rewriting is applied at load time)."""

    k0s_always = frozenset({"image", "version"})

    image: str = ""
    version: str = ""

    @property
    def uri(self) -> str:
        return f"{self.image}:{self.version}"


def image(pair: tuple[str, str]) -> ImageSpec:
    return ImageSpec(image=pair[0], version=pair[1])


def _default(pair: tuple[str, str]) -> Any:
    return Field(default_factory=lambda: image(pair))


class WindowsImages(K0sModel):
    kube_proxy: ImageSpec = Field(default_factory=lambda: image(KUBE_PROXY_WINDOWS), alias="kubeproxy")
    pause: ImageSpec = _default(PAUSE_WINDOWS)


class CalicoWindowsImages(K0sModel):
    cni: ImageSpec = _default(CALICO_CNI_WINDOWS)
    node: ImageSpec = _default(CALICO_NODE_WINDOWS)


class CalicoImages(K0sModel):
    cni: ImageSpec = _default(CALICO_CNI)
    node: ImageSpec = _default(CALICO_NODE)
    kube_controllers: ImageSpec = Field(
        default_factory=lambda: image(CALICO_KUBE_CONTROLLERS), alias="kubecontrollers"
    )
    windows: CalicoWindowsImages = Field(default_factory=CalicoWindowsImages)


class KubeRouterImages(K0sModel):
    cni: ImageSpec = _default(KUBE_ROUTER_CNI)
    cni_installer: ImageSpec = Field(
        default_factory=lambda: image(KUBE_ROUTER_CNI_INSTALLER), alias="cniInstaller"
    )


class ClusterImages(K0sModel):
    """Every image defaults to this release's; a partial entry keeps the rest of its default."""

    k0s_custom_decoder = True

    konnectivity: ImageSpec = _default(KONNECTIVITY)
    push_gateway: ImageSpec = Field(default_factory=lambda: image(PUSHGATEWAY), alias="pushgateway")
    metrics_server: ImageSpec = Field(default_factory=lambda: image(METRICS_SERVER), alias="metricsserver")
    kube_proxy: ImageSpec = Field(default_factory=lambda: image(KUBE_PROXY), alias="kubeproxy")
    coredns: ImageSpec = _default(COREDNS)
    pause: ImageSpec = _default(PAUSE)
    windows: WindowsImages = Field(default_factory=WindowsImages)
    calico: CalicoImages = Field(default_factory=CalicoImages)
    kuberouter: KubeRouterImages = Field(default_factory=KubeRouterImages)
    repository: str = ""
    default_pull_policy: str = Field("IfNotPresent", alias="default_pull_policy")


def default_cluster_images() -> ClusterImages:
    return ClusterImages()


def override_repository(repository: str, original: str) -> str:
    """k0s's rewrite: replace the registry host of `original` by `repository`, or prefix it."""
    if not repository or original.startswith(repository):
        return original
    host = _registry_host(original)
    if host:
        return original.replace(host, repository, 1)
    return f"{repository}/{original}"


def _registry_host(name: str) -> str:
    head, sep, _ = name.partition("/")
    if not sep or (not any(c in head for c in ".:") and head != "localhost"):
        return ""
    return head


# Dict paths (under spec.images) of every image the repository rewrite applies to.
REWRITTEN_IMAGES = (
    ("konnectivity",),
    ("metricsserver",),
    ("kubeproxy",),
    ("coredns",),
    ("calico", "cni"),
    ("calico", "node"),
    ("calico", "kubecontrollers"),
    ("calico", "windows", "cni"),
    ("calico", "windows", "node"),
    ("kuberouter", "cni"),
    ("kuberouter", "cniInstaller"),
    ("pause",),
    ("pushgateway",),
    ("windows", "kubeproxy"),
    ("windows", "pause"),
)
