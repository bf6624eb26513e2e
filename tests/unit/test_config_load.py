"""Loading: defaults, the merge onto them, strictness per subtree, types, and every error at once."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest

from k0spy.config.load import load_cluster_config
from k0spy.config.model import default_cluster_config
from k0spy.errors import ConfigError
from tests.support.config import ADDRESS, errors_of, load_text, warning_fields


def test_missing_default_file_means_defaults(tmp_path: Path) -> None:
    loaded = load_cluster_config(None, default_path=tmp_path / "k0s.yaml", address=ADDRESS)
    assert loaded.config == default_cluster_config(ADDRESS)
    assert loaded.warnings == []


def test_defaults_match_k0s() -> None:
    spec = load_text("apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n").config.spec
    assert (spec.api.address, spec.api.port, spec.api.k0s_api_port) == (ADDRESS, 6443, 9443)
    assert spec.api.ca.expires_after == timedelta(hours=87600)
    assert spec.api.ca.certificates_expire_after == timedelta(hours=8760)
    assert spec.storage.type == "etcd" and spec.storage.etcd.peer_address == ADDRESS
    assert spec.storage.is_joinable()
    net = spec.network
    assert (net.provider, net.pod_cidr, net.service_cidr, net.cluster_domain) == (
        "kuberouter",
        "10.244.0.0/16",
        "10.96.0.0/12",
        "cluster.local",
    )
    assert net.kuberouter is not None and net.kuberouter.metrics_port == 8080 and net.calico is None
    assert net.kube_proxy.mode == "iptables"
    assert net.node_local_load_balancing.envoy_proxy is not None
    assert net.node_local_load_balancing.envoy_proxy.api_server_bind_port == 7443
    assert (spec.konnectivity.agent_port, spec.konnectivity.admin_port) == (8132, 8133)
    assert spec.telemetry.enabled is False
    assert spec.install_config.users.etcd_user == "etcd"
    assert spec.install_config.users.kube_api_server_user == "kube-apiserver"
    assert spec.extensions.helm.concurrency_level == 5
    assert spec.images.konnectivity.uri == "quay.io/k0sproject/apiserver-network-proxy-agent:v0.36.0-k0s.0"
    assert spec.images.default_pull_policy == "IfNotPresent"


def test_single_makes_kine_the_default_with_the_data_dir(tmp_path: Path) -> None:
    spec = load_text("spec: {}\n", single=True, data_dir=tmp_path).config.spec
    assert spec.storage.type == "kine"
    assert spec.storage.kine is not None
    assert spec.storage.kine.data_source == f"sqlite://file:{tmp_path}/db/state.db?mode=rwc&_journal=WAL"
    assert not spec.storage.is_joinable()


def test_single_does_not_override_an_explicit_type() -> None:
    spec = load_text("spec:\n  storage:\n    type: etcd\n", single=True).config.spec
    assert spec.storage.type == "etcd"


def test_kine_without_data_source_gets_the_default(tmp_path: Path) -> None:
    spec = load_text("spec:\n  storage:\n    type: kine\n", data_dir=tmp_path).config.spec
    assert spec.storage.kine is not None and spec.storage.kine.data_source.startswith(
        f"sqlite://file:{tmp_path}"
    )


def test_field_names_match_case_insensitively() -> None:
    spec = load_text(
        "spec:\n  Network:\n    podcidr: 10.1.0.0/16\n  API:\n    ADDRESS: 10.2.3.4\n"
    ).config.spec
    assert spec.network.pod_cidr == "10.1.0.0/16"
    assert spec.api.address == "10.2.3.4"


def test_empty_value_means_unset() -> None:
    spec = load_text("spec:\n  api:\n    address:\n    port:\n  network:\n").config.spec
    assert spec.api.address == ADDRESS and spec.api.port == 6443
    assert spec.network.pod_cidr == "10.244.0.0/16"


def test_partial_sections_merge_onto_defaults() -> None:
    spec = load_text("""
        spec:
          api: {sans: [k0s.example.com]}
          images: {konnectivity: {version: v9}}
          network: {kuberouter: {mtu: 1400}}
          extensions: {helm: {charts: []}}
    """).config.spec
    assert spec.api.port == 6443 and spec.api.sans == ["k0s.example.com"]
    assert spec.images.konnectivity.uri == "quay.io/k0sproject/apiserver-network-proxy-agent:v9"
    assert spec.network.kuberouter is not None
    assert (spec.network.kuberouter.mtu, spec.network.kuberouter.metrics_port) == (1400, 8080)
    assert spec.extensions.helm.concurrency_level == 5


def test_images_repository_rewrites_every_image() -> None:
    spec = load_text("""
        spec:
          images:
            repository: registry.example.com:5000
            coredns: {image: docker.io/coredns/coredns, version: 1.7.0}
    """).config.spec
    assert spec.images.pause.uri == "registry.example.com:5000/k0sproject/pause:3.10.2-0"
    assert spec.images.coredns.image == "registry.example.com:5000/coredns/coredns"
    assert spec.images.windows.pause.image == "registry.example.com:5000/pause"
    envoy = spec.network.node_local_load_balancing.envoy_proxy
    assert envoy is not None and envoy.image is not None
    assert envoy.image.image == "registry.example.com:5000/k0sproject/envoy-distroless"


def test_provider_calico_drops_kuberouter_and_keeps_k0s_flex_path_quirk() -> None:
    bare = load_text("spec:\n  network:\n    provider: calico\n").config.spec.network
    assert bare.kuberouter is None and bare.calico is not None
    assert bare.calico.flex_volume_driver_path == "/usr/libexec/k0s/kubelet-plugins/volume/exec/nodeagent~uds"
    given = load_text(
        "spec:\n  network:\n    provider: calico\n    calico: {mtu: 1400}\n"
    ).config.spec.network
    assert given.calico is not None and (given.calico.mtu, given.calico.mode) == (1400, "vxlan")
    # k0s's Calico decoder fills a different default path than DefaultCalico(): kept as k0s has it.
    assert given.calico.flex_volume_driver_path.startswith("/usr/libexec/kubernetes/")


def test_nllb_traefik_gets_its_defaults() -> None:
    nllb = load_text(
        "spec:\n  network:\n    nodeLocalLoadBalancing:\n      type: Traefik\n"
    ).config.spec.network.node_local_load_balancing
    assert nllb.traefik is not None and nllb.traefik.image is not None
    assert nllb.traefik.image.image == "quay.io/k0sproject/traefik"
    assert (nllb.traefik.api_server_bind_port, nllb.traefik.konnectivity_server_bind_port) == (7443, 7132)


def test_api_port_zero_means_default_with_a_warning() -> None:
    loaded = load_text("spec:\n  api:\n    port: 0\n")
    assert loaded.config.spec.api.port == 6443
    assert "spec.api.port" in warning_fields(loaded)


def test_feature_gates_for_component() -> None:
    spec = load_text("""
        spec:
          featureGates:
          - {name: A, enabled: true}
          - {name: B, enabled: false, components: [kubelet]}
          - {name: C, enabled: true, components: [kube-apiserver]}
    """).config.spec
    assert spec.feature_gates_for("kubelet") == ["A=true", "B=false"]
    assert spec.feature_gates_for("kube-apiserver") == ["A=true", "C=true"]
    assert spec.feature_gates_for("etcd") == []


def test_chart_timeout_accepts_duration_or_nanoseconds() -> None:
    charts = load_text("""
        spec:
          extensions:
            helm:
              charts:
              - {name: a, chartname: r/a, namespace: ns, timeout: 5m}
              - {name: b, chartname: r/b, namespace: ns, timeout: 60000000000}
    """).config.spec.extensions.helm.charts
    assert [c.timeout for c in charts] == [timedelta(minutes=5), timedelta(minutes=1)]


def test_models_are_frozen() -> None:
    cfg = load_text("spec: {}\n").config
    with pytest.raises(ValueError, match="frozen"):
        cfg.spec.api.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    "key",
    [
        "spec.foo",
        "foo",
        "spec.telemetry.foo",
        "spec.extensions.helm.foo",
        "spec.controllerManager.foo",
        "spec.installConfig.users.foo",
        "spec.konnectivity.foo",
        "metadata.foo",
        "status.foo",
    ],
)
def test_unknown_keys_in_strict_subtrees_are_errors(key: str) -> None:
    *parents, last = key.split(".")
    text, indent = "", ""
    for parent in parents:
        text += f"{indent}{parent}:\n"
        indent += "  "
    text += f"{indent}{last}: 1\n"
    assert errors_of(text) == [(key, f"unknown field (line {len(parents) + 1})")]


def test_unknown_keys_in_list_items_are_errors() -> None:
    text = "spec:\n  featureGates:\n  - name: A\n  - name: B\n    bogus: 1\n"
    assert errors_of(text) == [("spec.featureGates[1].bogus", "unknown field (line 5)")]


@pytest.mark.parametrize(
    "key",
    [
        "spec.api.tunneledNetworkingMode",
        "spec.network.podCidrr",
        "spec.network.calico.withWindowsNodes",
        "spec.storage.etcd.foo",
        "spec.images.foo",
    ],
)
def test_unknown_keys_in_lenient_subtrees_are_warnings(key: str) -> None:
    parts = key.split(".")
    text, indent = "", ""
    for part in parts[:-1]:
        text += f"{indent}{part}:\n"
        indent += "  "
        if part == "network" and "calico" in parts:
            text += f"{indent}provider: calico\n"
    text += f"{indent}{parts[-1]}: 1\n"
    loaded = load_text(text)
    assert key in warning_fields(loaded)
    assert "k0s ignores it too" in next(w.message for w in loaded.warnings if w.field == key)


@pytest.mark.parametrize(
    "text",
    [
        "spec:\n  podSecurityPolicy:\n    defaultPolicy: 00-k0s-privileged\n",
        "spec:\n  telemetry:\n    interval: 10m\n    enabled: true\n",
    ],
)
def test_removed_fields_are_swallowed(text: str) -> None:
    loaded = load_text(text)
    assert any("removed" in w.message for w in loaded.warnings)


@pytest.mark.parametrize(("api_version", "kind"), [("k0s.k0sproject.io/v1beta1", "Cluster"), ("v1", "Nope")])
def test_type_meta_is_not_checked(api_version: str, kind: str) -> None:
    loaded = load_text(f"apiVersion: {api_version}\nkind: {kind}\n")
    assert loaded.config.kind == kind
    assert {"apiVersion", "kind"} & set(warning_fields(loaded))


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("spec:\n  api:\n    port: '6443'\n", "spec.api.port", "expected an integer, got a string"),
        ("spec:\n  api:\n    sans: 10.0.0.1\n", "spec.api.sans", "expected a list, got a string"),
        ("spec:\n  api:\n    extraArgs: {v: 4}\n", "spec.api.extraArgs.v", "expected a string, got a number"),
        ("spec:\n  telemetry:\n    enabled: 'true'\n", "spec.telemetry.enabled", "expected a boolean"),
        ("spec:\n  network: []\n", "spec.network", "expected a mapping, got a list"),
        (
            "spec:\n  extensions:\n    helm:\n      charts:\n"
            "      - {name: a, chartname: r/a, namespace: ns, version: 1.0}\n",
            "spec.extensions.helm.charts[0].version",
            "expected a string, got a number",
        ),
        ("spec:\n  konnectivity:\n    agentPort: 3000000000\n", "spec.konnectivity.agentPort", "32-bit"),
        (
            "spec:\n  api:\n    ca:\n      expiresAfter: 10\n",
            "spec.api.ca.expiresAfter",
            "expected a duration",
        ),
        ("spec:\n  api:\n    ca:\n      expiresAfter: ten\n", "spec.api.ca.expiresAfter", "invalid duration"),
    ],
)
def test_wrong_types_are_errors(text: str, field: str, expected: str) -> None:
    errors = errors_of(text)
    assert [f for f, _ in errors] == [field]
    assert expected in errors[0][1]


def test_every_error_is_reported_at_once() -> None:
    errors = errors_of("""
        spec:
          foo: 1
          api: {port: "x", address: 0.0.0.0}
          network: {podCIDR: nope, serviceCIDR: 10.96.0.0/12}
          featureGates: [{enabled: true}]
          konnectivity: {agentPort: 0}
    """)
    assert [f for f, _ in errors] == [
        "spec.foo",
        "spec.api.port",
        "spec.api.address",
        "spec.network.podCIDR",
        "spec.konnectivity.agentPort",
        "spec.featureGates[0].name",
    ]


def test_top_level_must_be_a_mapping() -> None:
    assert errors_of("just a string\n") == [
        ("", "expected a mapping (apiVersion, kind, spec, ...) at the top, got a string")
    ]


def test_empty_input_is_defaults_unless_refused() -> None:
    assert load_text("").config.spec.api.address == ADDRESS
    assert errors_of("", allow_empty=False) == [("", "empty: no configuration found")]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    for source, message in (
        (tmp_path / "nope.yaml", "no such file"),
        (tmp_path, "is a directory, not a configuration file"),
    ):
        with pytest.raises(ConfigError) as info:
            load_cluster_config(source)
        assert info.value.issues[0].message == message
        assert info.value.source == str(source)


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with open(big, "wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    with pytest.raises(ConfigError, match="byte limit"):
        load_cluster_config(big)


def test_oversized_stdin_is_refused() -> None:
    with pytest.raises(ConfigError, match="byte limit"):
        load_cluster_config("-", stdin=io.BytesIO(b"#" * (9 * 1024 * 1024)))


def test_to_k0s_dict_round_trips() -> None:
    import yaml

    cfg = load_text("spec:\n  api: {sans: [a.example.com]}\n  network: {provider: calico}\n").config
    again = load_text(yaml.safe_dump(cfg.to_k0s_dict()))
    assert again.config == cfg
    assert again.warnings == []


def test_errors_after_a_removed_field_are_ignored_as_k0s_ignores_them() -> None:
    # Go's strict decoder keeps only its first error; k0s drops it when it is a removed field, so a
    # later unknown key or wrongly typed value in a strict section goes unnoticed. Mirrored, with warnings.
    loaded = load_text("""
        spec:
          podSecurityPolicy: {defaultPolicy: 00-k0s-privileged}
          telemetry: {enabled: "yes"}
          workerProfiles: [{name: a, bogus: 1}]
    """)
    assert loaded.config.spec.telemetry.enabled is False
    ignored = [w.field for w in loaded.warnings if "stops reporting" in w.message]
    assert sorted(ignored) == ["spec.telemetry.enabled", "spec.workerProfiles[0].bogus"]


def test_errors_before_a_removed_field_still_count() -> None:
    text = "spec:\n  konnectivity: {bogus: 1}\n  podSecurityPolicy: {defaultPolicy: x}\n"
    assert errors_of(text) == [("spec.konnectivity.bogus", "unknown field (line 2)")]


def test_errors_in_self_decoding_sections_are_never_ignored() -> None:
    text = "spec:\n  podSecurityPolicy: {defaultPolicy: x}\n  storage: {type: 5}\n"
    assert [f for f, _ in errors_of(text)] == ["spec.storage.type"]


def test_null_sections_mean_defaults() -> None:
    # k0s's own TestNullValues vector.
    loaded = load_text("""
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        metadata:
          name: foobar
        spec:
          images: null
          storage: null
          network: null
          api: null
          extensions: null
          controllerManager: null
          scheduler: null
          installConfig: null
          telemetry: null
          konnectivity: null
    """)
    expected = default_cluster_config(ADDRESS).spec
    assert loaded.config.spec == expected
    assert loaded.config.metadata.name == "foobar" and loaded.config.metadata.namespace == "kube-system"


def test_kine_partial_config() -> None:
    # k0s's own TestKinePartialConfigLoading vector (with the data dir given).
    kine = load_text("""
        spec:
          storage:
            type: kine
            kine:
              extraArgs:
                datastore-max-open-connections: "10"
              rawArgs:
                - --debug
    """, data_dir=Path("/var/lib/k0s")).config.spec.storage.kine
    assert kine is not None
    assert kine.data_source == "sqlite://file:/var/lib/k0s/db/state.db?mode=rwc&_journal=WAL"
    assert (kine.extra_args, kine.raw_args) == ({"datastore-max-open-connections": "10"}, ["--debug"])


def test_the_default_path_may_be_named_and_missing(tmp_path: Path) -> None:
    default = tmp_path / "k0s.yaml"
    loaded = load_cluster_config(default, default_path=default, address=ADDRESS)
    assert loaded.config == default_cluster_config(ADDRESS)
    with pytest.raises(ConfigError, match="no such file"):
        load_cluster_config(default, default_path=default, allow_empty=False)


def test_values_kept_as_given_are_plain_data() -> None:
    import yaml

    values = load_text("""
        spec:
          workerProfiles:
          - name: big
            values: {evictionHard: {memory.available: 5%}, maxPods: 300}
    """).config.spec.worker_profiles[0].values
    assert type(values) is dict and type(values["evictionHard"]) is dict
    expected = {"evictionHard": {"memory.available": "5%"}, "maxPods": 300}
    assert yaml.safe_load(yaml.safe_dump(values)) == expected
