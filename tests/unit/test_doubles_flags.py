"""The doubles' flag parsing (pflag and urfave rules) and the flag lists themselves, without processes."""

from __future__ import annotations

import pytest

from tests.doubles.fault import Fault, parse_faults
from tests.doubles.flagparse import FlagError, load_flag_names, parse, parse_duration

# Every flag name k0s renders (k0s-behaviour.md section 5), per component.
K0S_RENDERED = {
    "kube-apiserver": [
        "advertise-address",
        "secure-port",
        "authorization-mode",
        "client-ca-file",
        "enable-bootstrap-token-auth",
        "enable-admission-plugins",
        "kubelet-client-certificate",
        "kubelet-client-key",
        "kubelet-certificate-authority",
        "kubelet-preferred-address-types",
        "proxy-client-cert-file",
        "proxy-client-key-file",
        "requestheader-allowed-names",
        "requestheader-client-ca-file",
        "service-account-key-file",
        "service-account-signing-key-file",
        "service-account-issuer",
        "service-account-jwks-uri",
        "service-cluster-ip-range",
        "tls-cert-file",
        "tls-private-key-file",
        "tls-min-version",
        "profiling",
        "v",
        "api-audiences",
        "bind-address",
        "egress-selector-config-file",
        "allow-privileged",
        "requestheader-extra-headers-prefix",
        "requestheader-group-headers",
        "requestheader-username-headers",
        "anonymous-auth",
        "tls-cipher-suites",
        "endpoint-reconciler-type",
        "shutdown-watch-termination-grace-period",
        "etcd-servers",
        "etcd-cafile",
        "etcd-certfile",
        "etcd-keyfile",
        "etcd-prefix",
        "feature-gates",
    ],
    "kube-scheduler": [
        "authentication-kubeconfig",
        "authorization-kubeconfig",
        "bind-address",
        "kubeconfig",
        "leader-elect",
        "profiling",
        "v",
        "feature-gates",
    ],
    "kube-controller-manager": [
        "allocate-node-cidrs",
        "authentication-kubeconfig",
        "authorization-kubeconfig",
        "bind-address",
        "client-ca-file",
        "cluster-cidr",
        "cluster-name",
        "cluster-signing-cert-file",
        "cluster-signing-key-file",
        "controllers",
        "kubeconfig",
        "leader-elect",
        "node-cidr-mask-size",
        "node-cidr-mask-size-ipv4",
        "node-cidr-mask-size-ipv6",
        "profiling",
        "requestheader-client-ca-file",
        "root-ca-file",
        "service-account-private-key-file",
        "service-cluster-ip-range",
        "terminated-pod-gc-threshold",
        "use-service-account-credentials",
        "v",
        "feature-gates",
    ],
    "konnectivity-server": [
        "admin-port",
        "agent-namespace",
        "agent-port",
        "agent-service-account",
        "authentication-audience",
        "cipher-suites",
        "cluster-cert",
        "cluster-key",
        "delete-existing-uds-file",
        "enable-profiling",
        "graceful-shutdown-timeout",
        "health-bind-address",
        "health-port",
        "kubeconfig",
        "logtostderr",
        "mode",
        "proxy-strategies",
        "server-count",
        "server-id",
        "server-port",
        "stderrthreshold",
        "uds-name",
        "v",
    ],
    "kubelet": [
        "cert-dir",
        "config",
        "containerd",
        "hostname-override",
        "kubeconfig",
        "node-labels",
        "root-dir",
        "runtime-cgroups",
        "v",
        "node-ip",
        "cloud-provider",
    ],
    "kine": ["compact-interval", "endpoint", "listen-address", "metrics-bind-address"],
}


@pytest.mark.parametrize("component", sorted(K0S_RENDERED))
def test_every_flag_k0s_renders_is_in_the_real_list(component: str) -> None:
    names = load_flag_names(component)
    missing = [flag for flag in K0S_RENDERED[component] if flag not in names]
    assert missing == []


def test_flag_lists_match_the_shared_reference() -> None:
    from pathlib import Path

    shared = Path(__file__).resolve().parents[3] / "shared" / "reference" / "flags"
    local = Path(__file__).resolve().parents[1] / "doubles" / "flags"
    if shared.is_dir():  # the copy must not drift from the reference it was taken from
        for reference in shared.glob("*.txt"):
            assert (local / reference.name).read_text() == reference.read_text(), reference.name
    assert (local / "kube-apiserver.txt").is_file()


def test_pflag_forms() -> None:
    parsed = parse(
        "kube-apiserver",
        ["--secure-port", "6443", "--profiling", "-v=3", "--etcd_servers=x", "--anonymous-auth=false"],
    )
    assert parsed.values == {
        "secure-port": "6443",
        "profiling": "true",
        "v": "3",
        "etcd-servers": "x",
        "anonymous-auth": "false",
    }
    assert parse("kube-scheduler", ["-v4"]).int("v") == 4


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--nope"], "unknown flag: --nope"),
        (["-x"], "unknown shorthand flag: 'x' in -x"),
        (["--secure-port"], "flag needs an argument: --secure-port"),
        (
            ["--profiling=yes"],
            'invalid argument "yes" for "--profiling" flag: strconv.ParseBool: parsing "yes"',
        ),
        (["--event-ttl=5 minutes"], 'time: invalid duration "5 minutes"'),
        (["--goaway-chance=often"], "strconv.ParseFloat"),
    ],
)
def test_pflag_errors(argv: list[str], message: str) -> None:
    with pytest.raises(FlagError) as err:
        parse("kube-apiserver", argv)
    assert message in err.value.message


def test_urfave_forms_and_errors() -> None:
    parsed = parse("kine", ["-endpoint", "sqlite://x", "--debug", "--listen-address=unix://s:1", "x"])
    assert parsed.values == {"endpoint": "sqlite://x", "debug": "true", "listen-address": "unix://s:1"}
    assert parsed.positional == ["x"]
    with pytest.raises(FlagError, match="flag provided but not defined: -secure-port"):
        parse("kine", ["--secure-port=1"])


def test_durations() -> None:
    assert parse_duration("1h2m3.5s") == pytest.approx(3723.5)
    assert parse_duration("1ns") == pytest.approx(1e-9)
    assert parse_duration("0") == 0
    with pytest.raises(ValueError):
        parse_duration("10")


def test_fault_selection() -> None:
    assert parse_faults("", "kubelet") is None
    assert parse_faults("kubelet=slow-start:2,hang", "kubelet") == Fault("slow-start", 2.0)
    assert parse_faults("kubelet=slow-start:2,hang", "kine") == Fault("hang")
    with pytest.raises(ValueError, match="unknown fault"):
        parse_faults("kubelet=boom", "kubelet")
