"""Every flag k0spy renders exists in the real binary's flag list, for several configurations.

The lists are ../shared/reference/flags/<component>.txt (next to the repository, as in CI); the egress
selector file's keys are checked against the EgressSelectorConfiguration v1beta1 schema list.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import yaml

from k0spy.components.etcd import EtcdJoin
from k0spy.components.flags import ComponentSpec
from tests.support.render import FACTS, FLAG_LIST, arg_name, flag_names, render

CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "single": {"single": True},
    "etcd-3.4": {"facts": replace(FACTS, etcd_version=(3, 4))},
    "tuned": {"yaml_text": """
        spec:
          api: {onlyBindToAddress: true, externalAddress: k8s.example.com,
                extraArgs: {request-timeout: 30s, authentication-config: /etc/k0s/auth.yaml}}
          storage: {etcd: {extraArgs: {tls-min-version: TLS1.3}}}
          network:
            dualStack: {enabled: true, IPv6podCIDR: "fd00::/108", IPv6serviceCIDR: "fd01::/108"}
          featureGates: [{name: SomeGate, enabled: true}]
    """, "kcm_extra_args": "--concurrent-deployment-syncs=3", "logging": "etcd=debug,kube-apiserver=4"},
    "external-etcd": {"yaml_text": """
        spec:
          storage:
            etcd:
              externalCluster: {endpoints: ["https://10.0.0.9:2379"], etcdPrefix: p,
                                caFile: /c, clientCertFile: /d, clientKeyFile: /e}
    """},
    "joining": {"facts": replace(FACTS, etcd_join=EtcdJoin(("a=https://10.0.0.2:2380",)))},
}
SPECS: list[tuple[str, ComponentSpec]] = [
    (f"{config}/{spec.name}", spec)
    for config, kwargs in CONFIGS.items() for spec in render(**kwargs).values()
]


@pytest.mark.parametrize(("case", "spec"), SPECS, ids=[case for case, _ in SPECS])
def test_every_rendered_flag_is_real(case: str, spec: ComponentSpec) -> None:
    known = flag_names(FLAG_LIST[spec.name])
    unknown = [arg for arg in spec.args if arg_name(arg) not in known]
    assert unknown == [], f"{case}: flags {FLAG_LIST[spec.name]} does not have"


def test_flag_lists_are_complete_enough_to_mean_something() -> None:
    assert len(flag_names("kube-apiserver")) > 150 and len(flag_names("etcd")) > 100


def _key_paths(node: Any, prefix: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out |= {path} | _key_paths(value, path)
    elif isinstance(node, list):
        for item in node:
            out |= _key_paths(item, prefix + "[]")
    return out


def test_egress_selector_file_uses_only_schema_keys() -> None:
    spec = render()["kube-apiserver"]
    doc = yaml.safe_load(spec.files[0].content)
    assert doc["kind"] == "EgressSelectorConfiguration"
    assert _key_paths(doc) <= flag_names("egress-selector")
    assert doc["egressSelections"][0]["connection"]["transport"]["uds"]["udsName"] == (
        "/run/k0s/konnectivity-server/konnectivity-server.sock")
