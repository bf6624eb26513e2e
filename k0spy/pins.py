"""The component versions this k0spy release is built and tested for.

The Kubernetes minor is the one whose flag lists the renderers are checked against. Kept import-free so
that `k0spy version` stays cheap; the bundle builder (packaging/) reads its download pins from here too.
"""

from __future__ import annotations

KUBERNETES_VERSION = "1.35.0"
KUBERNETES_MINOR = "1.35"

COMPONENT_VERSIONS: dict[str, str] = {
    "kubernetes": KUBERNETES_VERSION,
    "etcd": "3.6.14",
    "kine": "0.16.4",
    "konnectivity": "0.36.0",
    "containerd": "2.3.4",
    "runc": "1.5.1",
    "iptables": "1.8.13",
}
