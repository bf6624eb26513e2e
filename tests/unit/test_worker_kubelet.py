"""kubelet rendering (§5.8): argv golden vectors, the KubeletConfiguration table, profiles, taints, labels,
node names, the cluster DNS address and resolv.conf detection."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from k0spy.components import kubelet as k
from k0spy.components.flags import TLS12_CIPHER_SUITES
from k0spy.errors import K0spyError
from k0spy.paths import Paths

FIELDS_FILE = Path("/work/shared/reference/flags/kubelet-config-fields.txt")
LOCAL_FIELDS_FILE = Path(__file__).parents[1] / "doubles" / "flags" / "kubelet-config-fields.txt"

K0S = Paths.build("/var/lib/k0s", run_dir="/run/k0s", etc_dir="/etc/k0s")


def known_fields() -> set[str]:
    source = FIELDS_FILE if FIELDS_FILE.exists() else LOCAL_FIELDS_FILE
    return {line.split("#")[0].strip() for line in source.read_text().splitlines()
            if line.strip() and not line.startswith("#")}


def opts(**kw: object) -> k.KubeletOptions:
    base: dict[str, object] = {"node_name": "worker-1", "kubeconfig": K0S.kubelet_kubeconfig}
    base.update(kw)
    return k.KubeletOptions(**base)  # type: ignore[arg-type]


def test_args_golden_worker() -> None:
    assert k.kubelet_args(K0S, opts(labels={"zone": "a", "role": "edge"})) == [
        "--cert-dir=/var/lib/k0s/kubelet/pki",
        "--config=/run/k0s/kubelet/config.yaml",
        "--containerd=/run/k0s/containerd.sock",
        "--hostname-override=worker-1",
        "--kubeconfig=/var/lib/k0s/kubelet.conf",
        "--node-labels=role=edge,zone=a",
        "--root-dir=/var/lib/k0s/kubelet",
        "--runtime-cgroups=/system.slice/containerd.service",
        "--v=1",
    ]


def test_args_controller_worker_cri_socket_cloud_and_dual_stack() -> None:
    args = k.kubelet_args(K0S, opts(kubeconfig=K0S.kubelet_direct_kubeconfig, cri_socket="remote:unix:///x.sock",
                                    cloud_provider=True, node_ip="10.0.0.5,fd00::5", log_level="4"))
    assert "--kubeconfig=/run/k0s/kubelet-direct.conf" in args
    assert not any(a.startswith("--containerd=") for a in args)
    assert "--cloud-provider=external" in args
    assert "--node-ip=10.0.0.5,fd00::5" in args
    assert "--v=4" in args
    assert "--node-labels" not in " ".join(args)


def test_extra_args_merge_over_and_hostname_forced() -> None:
    extra = k.parse_extra_args("--v=6 --max-pods=50  --hostname-override=Other --node-ip=1.2.3.4 --flag")
    assert extra == {"--v": "6", "--max-pods": "50", "--hostname-override": "Other", "--node-ip": "1.2.3.4",
                     "--flag": ""}
    name = k.node_name("Box.Example", extra)
    args = k.kubelet_args(K0S, opts(node_name=name, extra_args=extra, node_ip="10.0.0.1,fd00::1"))
    assert "--v=6" in args and "--max-pods=50" in args and "--flag=" in args
    assert "--hostname-override=other" in args  # forced to k0s's node name, lower-cased
    assert "--node-ip=1.2.3.4" in args  # the user's, not the detected dual-stack pair
    assert args == sorted(args)


@pytest.mark.parametrize(("hostname", "extra", "want"), [
    ("Worker-1", {}, "worker-1"),
    ("  Mixed.Case.Host \n", {}, "mixed.case.host"),
    ("host", {"--hostname-override": " NODE-A "}, "node-a"),
    ("host", {"--hostname-override": ""}, "host"),
])
def test_node_name(hostname: str, extra: dict[str, str], want: str) -> None:
    assert k.node_name(hostname, extra) == want


def test_node_name_empty_is_an_error() -> None:
    with pytest.raises(K0spyError, match="node name is empty"):
        k.node_name("  ")


@pytest.mark.parametrize(("cidr", "dns"), [
    ("10.96.0.0/12", "10.96.0.10"),
    ("10.96.0.0/24", "10.96.0.10"),
    ("172.16.5.0/28", "172.16.5.10"),
    ("10.0.0.8/29", "10.0.0.10"),  # 3 host bits: +2
    ("10.0.0.0/30", "10.0.0.2"),
    ("fd00:10:96::/112", "fd00:10:96::a"),
    ("10.96.0.5/12", "10.96.0.10"),  # host bits ignored as net.ParseCIDR does
])
def test_cluster_dns(cidr: str, dns: str) -> None:
    assert k.cluster_dns(cidr) == dns


@pytest.mark.parametrize("cidr", ["10.0.0.0/31", "nonsense", "10.0.0.0/33"])
def test_cluster_dns_errors_name_the_cidr(cidr: str) -> None:
    with pytest.raises(K0spyError, match="serviceCIDR"):
        k.cluster_dns(cidr)


@pytest.mark.parametrize(("text", "path"), [
    ("nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n", k.SYSTEMD_RESOLV_CONF),
    ("# comment\nnameserver   127.0.0.53  # stub\n", k.SYSTEMD_RESOLV_CONF),
    ("nameserver 127.0.0.53\nnameserver 1.1.1.1\n", k.ETC_RESOLV_CONF),
    ("nameserver 8.8.8.8\n", k.ETC_RESOLV_CONF),
    ("nameserver not-an-ip\nnameserver 127.0.0.53\n", k.SYSTEMD_RESOLV_CONF),
    ("", k.ETC_RESOLV_CONF),
    (None, k.ETC_RESOLV_CONF),
])
def test_resolv_conf_detection(text: str | None, path: str) -> None:
    assert k.resolv_conf_path(text) == path


@pytest.mark.parametrize(("spec", "taint"), [
    ("node-role.kubernetes.io/master:NoSchedule", {"key": "node-role.kubernetes.io/master",
                                                   "effect": "NoSchedule"}),
    ("dedicated=gpu:NoExecute", {"key": "dedicated", "value": "gpu", "effect": "NoExecute"}),
    ("example.com/k=v-1:PreferNoSchedule", {"key": "example.com/k", "value": "v-1",
                                            "effect": "PreferNoSchedule"}),
    ("bare", {"key": "bare", "effect": ""}),
])
def test_parse_taint(spec: str, taint: dict[str, str]) -> None:
    assert k.parse_taint(spec) == taint


@pytest.mark.parametrize(("spec", "why"), [
    ("a:b:c", "invalid taint spec 'a:b:c'"),
    ("key=v:Sometimes", "invalid taint effect 'Sometimes'"),
    ("k=v=w:NoSchedule", "invalid taint spec 'k=v=w:NoSchedule'"),
    ("bad key:NoSchedule", "invalid key 'bad key'"),
    ("k=bad value!:NoSchedule", "invalid value 'bad value!'"),
    (":NoSchedule", "invalid key ''"),
    ("/name:NoSchedule", "invalid key '/name'"),
])
def test_bad_taints_are_named(spec: str, why: str) -> None:
    with pytest.raises(K0spyError) as err:
        k.parse_taint(spec)
    assert why in err.value.message and err.value.hint


def test_parse_taints_splits_commas_and_labels() -> None:
    assert [t["key"] for t in k.parse_taints(["a:NoSchedule,b=1:NoExecute", "c"])] == ["a", "b", "c"]
    assert k.parse_labels(["a=1,b=2", "a=3", "empty="]) == {"a": "3", "b": "2", "empty": ""}
    with pytest.raises(K0spyError, match="'novalue' must be formatted as key=value"):
        k.parse_labels(["x=1,novalue"])


def local_config(values: dict[str, object] | None = None, **kw: object) -> dict[str, object]:
    base = k.default_kubelet_config(service_cidr="10.96.0.0/12", feature_gates={"Foo": True})
    profile = k.profile_config(base, values or {})
    return k.kubelet_config(profile, K0S, opts(**kw), resolv_conf=k.ETC_RESOLV_CONF)


def test_config_matches_the_k0s_table() -> None:
    config = local_config(taints=("node-role.kubernetes.io/control-plane:NoSchedule",))
    assert config == {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "authentication": {"anonymous": {}, "webhook": {"cacheTTL": "0s"},
                           "x509": {"clientCAFile": "/run/k0s/kubelet/ca.crt"}},
        "clusterDNS": ["10.96.0.10"],
        "clusterDomain": "cluster.local",
        "containerRuntimeEndpoint": "unix:///run/k0s/containerd.sock",
        "eventRecordQPS": 0,
        "failSwapOn": False,
        "featureGates": {"Foo": True},
        "kubeReservedCgroup": "system.slice",
        "kubeletCgroups": "/system.slice/containerd.service",
        "registerWithTaints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
        "resolvConf": "/etc/resolv.conf",
        "rotateCertificates": True,
        "serverTLSBootstrap": True,
        "tlsCipherSuites": TLS12_CIPHER_SUITES.split(","),
        "tlsMinVersion": "VersionTLS12",
        "volumePluginDir": "/usr/libexec/k0s/kubelet-plugins/volume/exec",
    }


def test_every_rendered_key_is_a_kubelet_config_field() -> None:
    config = local_config({"maxPods": 50, "resolvConf": "/x"}, taints=("a:NoSchedule",),
                          static_pod_url="http://127.0.0.1:1/pods")
    windows = k.profile_config(k.default_kubelet_config(service_cidr="10.96.0.0/12"), {}, "default-windows")
    assert set(config) | set(windows) <= known_fields()
    assert "staticPodURL" in config


def test_profile_values_merge_over_defaults() -> None:
    config = local_config({"maxPods": 50, "authentication": {"webhook": {"enabled": True}},
                           "tlsCipherSuites": ["X"], "resolvConf": "/custom/resolv.conf"})
    assert config["maxPods"] == 50
    assert config["authentication"] == {"anonymous": {}, "webhook": {"cacheTTL": "0s", "enabled": True},
                                        "x509": {"clientCAFile": "/run/k0s/kubelet/ca.crt"}}
    assert config["tlsCipherSuites"] == ["X"]
    assert config["resolvConf"] == "/custom/resolv.conf"  # only detected when the profile left it unset


@pytest.mark.parametrize("field", ["clusterDNS", "clusterDomain", "staticPodURL"])
def test_forbidden_profile_fields(field: str) -> None:
    with pytest.raises(K0spyError, match=rf"workerProfiles\[edge\].values: field\(s\) {field}"):
        k.profile_config(k.default_kubelet_config(service_cidr="10.96.0.0/12"), {field: "x"}, "edge")


def test_windows_profile_clears_cgroups() -> None:
    config = k.profile_config(k.default_kubelet_config(service_cidr="10.96.0.0/12"), {}, "default-windows")
    assert config["cgroupsPerQOS"] is False
    assert "kubeReservedCgroup" not in config and "kubeletCgroups" not in config


def test_cri_socket_endpoint() -> None:
    assert local_config(cri_socket="remote:unix:///var/run/crio.sock")["containerRuntimeEndpoint"] == \
        "unix:///var/run/crio.sock"
    assert k.cri_endpoint(K0S, "unix:///a.sock") == "unix:///a.sock"


def test_spec_renders_a_0600_yaml_file() -> None:
    config = local_config()
    spec = k.kubelet_spec(K0S, opts(), config)
    (file,) = spec.files
    assert file.path == "/run/k0s/kubelet/config.yaml" and file.mode == 0o600
    assert yaml.safe_load(file.content) == config
    assert spec.binary == "/var/lib/k0s/bin/kubelet" and spec.user is None
    assert [d.path for d in spec.dirs] == ["/var/lib/k0s/kubelet", "/run/k0s/kubelet"]


def test_kubeconfig_ca_inline_or_file() -> None:
    import base64

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    inline = yaml.safe_dump({
        "clusters": [{"name": "other", "cluster": {"certificate-authority-data": b64(b"X")}},
                     {"name": "k0s", "cluster": {"certificate-authority-data": b64(b"PEM"), "server": "https://h"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k0s", "user": "u"}}], "current-context": "c"})
    assert k.kubeconfig_ca(inline) == (b"PEM", None)
    by_file = yaml.safe_dump({"clusters": [{"name": "k", "cluster": {"certificate-authority": "/p/ca.pem"}}]})
    assert k.kubeconfig_ca(by_file) == (None, "/p/ca.pem")
    config = k.kubelet_config({}, K0S, opts(), resolv_conf="/r", client_ca="/pki/ca.crt")
    assert config["authentication"] == {"x509": {"clientCAFile": "/pki/ca.crt"}}
