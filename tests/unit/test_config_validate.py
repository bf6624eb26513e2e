"""Semantic validation, rule by rule, as k0s's Validate() methods (plus what k0s forgets)."""

from __future__ import annotations

import pytest

from tests.support.config import errors_of, load_text


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("spec: {api: {address: 0.0.0.0}}", "spec.api.address", "invalid INADDR_ANY"),
        ("spec: {api: {address: '::'}}", "spec.api.address", "invalid INADDR_ANY"),
        ("spec: {api: {address: 10.0.0.300}}", "spec.api.address", "invalid IP address"),
        ("spec: {api: {address: host.example.com}}", "spec.api.address", "invalid IP address"),
        ("spec: {api: {port: 70000}}", "spec.api.port", "must be between 1 and 65535, inclusive"),
        ("spec: {api: {k0sApiPort: -1}}", "spec.api.k0sApiPort", "must be between 1 and 65535"),
        (
            "spec: {api: {sans: [ok.example.com, 'not valid!']}}",
            "spec.api.sans[1]",
            "invalid IP address / DNS",
        ),
        (
            "spec: {api: {externalAddress: 'bad host'}}",
            "spec.api.externalAddress",
            "invalid IP address / DNS",
        ),
        ("spec: {storage: {type: mysql}}", "spec.storage.type", "unsupported value"),
        ("spec: {storage: {type: ''}}", "spec.storage.type", "required value"),
        ("spec: {network: {podCIDR: 10.244.0.0}}", "spec.network.podCIDR", "invalid CIDR address"),
        ("spec: {network: {serviceCIDR: 10.96.0.0/40}}", "spec.network.serviceCIDR", "invalid CIDR address"),
        ("spec: {network: {serviceCIDR: 'fd00::/108'}}", "spec.network.podCIDR", "both IPv4 or IPv6"),
        ("spec: {network: {provider: flannel}}", "spec.network.provider", "unsupported value"),
        ("spec: {network: {clusterDomain: 'bad domain'}}", "spec.network.clusterDomain", "invalid DNS name"),
        ("spec: {network: {primaryAddressFamily: IPv5}}", "spec.network.primaryAddressFamily", "unsupported"),
        ("spec: {network: {kubeProxy: {mode: magic}}}", "spec.network.kubeProxy.mode", "unsupported mode"),
        (
            "spec: {network: {kubeProxy: {metricsBindAddress: '0.0.0.0'}}}",
            "spec.network.kubeProxy.metricsBindAddress",
            "missing port in address",
        ),
        (
            "spec: {network: {provider: calico, calico: {mode: ipip6}}}",
            "spec.network.calico.mode",
            "unsupported",
        ),
        (
            "spec: {konnectivity: {adminPort: 0}}",
            "spec.konnectivity.adminPort",
            "must be between 1 and 65535",
        ),
        (
            "spec: {featureGates: [{name: A, enabled: true}, {enabled: true}]}",
            "spec.featureGates[1].name",
            "feature gate must have a name",
        ),
        ("spec: {workerProfiles: [{name: Bad_Name}]}", "spec.workerProfiles[0].name", "RFC 1123 label"),
        (
            "spec: {workerProfiles: [{name: p, values: {clusterDNS: [10.0.0.10]}}]}",
            "spec.workerProfiles[0].values.clusterDNS",
            "may not be used in k0s worker profiles",
        ),
        (
            "spec: {workerProfiles: [{name: p, values: {kind: Pod}}]}",
            "spec.workerProfiles[0].values.kind",
            'expected "KubeletConfiguration"',
        ),
        (
            "spec: {images: {default_pull_policy: Sometimes}}",
            "spec.images.default_pull_policy",
            "unsupported",
        ),
        ("spec: {images: {pause: {version: 'bad version!'}}}", "spec.images.pause.version", "must match"),
        ("spec: {images: {pause: {image: ' padded'}}}", "spec.images.pause.image", "whitespace"),
        (
            "spec: {extensions: {helm: {charts: [{name: a, chartname: r/a}]}}}",
            "spec.extensions.helm.charts[0].namespace",
            "chart must have a namespace",
        ),
        (
            "spec: {extensions: {helm: {charts: [{name: Bad_Release, chartname: r/a, namespace: x}]}}}",
            "spec.extensions.helm.charts[0].name",
            "invalid release name",
        ),
        (
            "spec: {extensions: {helm: {charts: [{name: " + "a" * 54 + ", chartname: r/a, namespace: x}]}}}",
            "spec.extensions.helm.charts[0].name",
            "must not be longer than 53",
        ),
        (
            "spec: {extensions: {helm: {repositories: [{name: r}]}}}",
            "spec.extensions.helm.repositories[0].url",
            "repository must have a URL",
        ),
        (
            "spec: {network: {nodeLocalLoadBalancing: {type: HAProxy}}}",
            "spec.network.nodeLocalLoadBalancing.type",
            "unsupported value",
        ),
        (
            "spec: {network: {nodeLocalLoadBalancing: {envoyProxy: {apiServerBindPort: 99999}}}}",
            "spec.network.nodeLocalLoadBalancing.envoyProxy.apiServerBindPort",
            "must be between 1 and 65535",
        ),
        (
            "spec: {metricsServer: {patches: [{target: {kind: Deployment}, patch: {type: JSON}}]}}",
            "spec.metricsServer.patches[0].target.name",
            "required value",
        ),
        (
            "spec: {network: {kubeProxy: {patches: [{target: {kind: D, name: x}, patch: {type: Yaml}}]}}}",
            "spec.network.kubeProxy.patches[0].patch.type",
            "invalid type",
        ),
    ],
)
def test_single_rule(text: str, field: str, message: str) -> None:
    errors = errors_of(text + "\n")
    assert [f for f, _ in errors] == [field], errors
    assert message in errors[0][1]


def test_ipv6_single_stack_needs_k0s_feature_gate() -> None:
    text = "spec: {api: {address: 'fd00::1'}, network: {podCIDR: 'fd0::/56', serviceCIDR: 'fd2::/108'}}"
    errors = errors_of(text + "\n")
    assert errors[0][0] == "spec.network.podCIDR" and "IPv6SingleStack" in errors[0][1]
    loaded = load_text(text, k0s_feature_gates=["IPv6SingleStack"])
    assert loaded.config.spec.network.is_single_stack_ipv6()


def test_ipv6_service_cidr_prefix_limit() -> None:
    text = "spec: {network: {podCIDR: 'fd00:10::/56', serviceCIDR: 'fd00:20::/112'}}\n"
    fields = [f for f, _ in errors_of(text, k0s_feature_gates=["IPv6SingleStack"])]
    assert fields == ["spec.network.serviceCIDR"]


def test_dual_stack_rules() -> None:
    errors = errors_of("""
        spec:
          network:
            provider: calico
            dualStack: {enabled: true, IPv6podCIDR: 10.0.0.0/8, IPv6serviceCIDR: 'fd00::/100'}
    """)
    assert errors == [
        ("spec.network.calico.mode", "dual-stack for calico is only supported for mode `bird`"),
        ("spec.network.dualStack.IPv6podCIDR", "must be an IPv6 CIDR, not IPv4"),
        ("spec.network.dualStack.IPv6serviceCIDR", "IPv6 service CIDR prefix must be <= 108"),
    ]


def test_external_etcd_rules() -> None:
    errors = errors_of("""
        spec:
          storage:
            etcd:
              externalCluster:
                endpoints: []
                caFile: /ca.crt
    """)
    assert [f for f, _ in errors] == [
        "spec.storage.etcd.externalCluster.endpoints",
        "spec.storage.etcd.externalCluster.etcdPrefix",
        "spec.storage.etcd.externalCluster",
    ]
    assert "all TLS properties" in errors[2][1]


def test_external_etcd_without_tls_is_fine() -> None:
    etcd = load_text("""
        spec:
          storage:
            etcd:
              externalCluster: {endpoints: ['http://etcd:2379'], etcdPrefix: k0s}
    """).config.spec.storage.etcd
    assert etcd.is_external()
    assert etcd.external_cluster is not None and not etcd.external_cluster.has_all_tls()


def test_nllb_with_external_address_is_forbidden() -> None:
    errors = errors_of(
        "spec: {api: {externalAddress: lb.example.com}, network: {nodeLocalLoadBalancing: {enabled: true}}}\n"
    )
    assert errors[0][0] == "spec.network.nodeLocalLoadBalancing.enabled"
    assert "externalAddress" in errors[0][1]


def test_cplb_rules() -> None:
    errors = errors_of("""
        spec:
          network:
            controlPlaneLoadBalancing:
              enabled: true
              type: HAProxy
              keepalived:
                vrrpInstances:
                - virtualIPs: [10.0.0.5]
                  authPass: waytoolongpassword
                  virtualRouterID: 300
                  unicastPeers: [10.0.0.2]
                virtualServers:
                - ipAddress: nope
                  lbAlgo: random
                  persistenceTimeoutSeconds: -5
    """)
    assert [f for f, _ in errors] == [
        "spec.network.controlPlaneLoadBalancing.type",
        "spec.network.controlPlaneLoadBalancing.keepalived.vrrpInstances[0].virtualRouterID",
        "spec.network.controlPlaneLoadBalancing.keepalived.vrrpInstances[0].authPass",
        "spec.network.controlPlaneLoadBalancing.keepalived.vrrpInstances[0].virtualIPs[0]",
        "spec.network.controlPlaneLoadBalancing.keepalived.vrrpInstances[0].unicastSourceIP",
        "spec.network.controlPlaneLoadBalancing.keepalived.virtualServers[0].ipAddress",
        "spec.network.controlPlaneLoadBalancing.keepalived.virtualServers[0].lbAlgo",
        "spec.network.controlPlaneLoadBalancing.keepalived.virtualServers[0].persistenceTimeoutSeconds",
    ]


def test_kine_joinability() -> None:
    def joinable(source: str) -> bool:
        text = f"spec: {{storage: {{type: kine, kine: {{dataSource: '{source}'}}}}}}\n"
        return load_text(text).config.spec.storage.is_joinable()

    assert not joinable("sqlite:///var/lib/k0s/db/state.db")
    assert not joinable("nats://127.0.0.1:4222")
    assert joinable("nats://nats.example.com:4222?noEmbed")
    assert joinable("mysql://user:pw@tcp(db:3306)/kine")
    assert joinable("postgres://user:pw@db:5432/kine")
