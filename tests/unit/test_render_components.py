"""Each config knob and CLI flag changes exactly what it should in the rendered command lines."""

from __future__ import annotations

from dataclasses import replace

import pytest

from k0spy.components.apiserver import stop_timeout_ns
from k0spy.components.etcd import EtcdJoin
from k0spy.components.flags import ComponentSpec
from k0spy.errors import K0spyError
from k0spy.supervisor.privileges import setpriv_argv
from tests.support.render import FACTS, arg_map, render

BASE = render()
SINGLE = render(single=True)


def changed(before: tuple[str, ...], after: tuple[str, ...]) -> tuple[set[str], set[str]]:
    """(arguments only in `after`, arguments only in `before`)."""
    return set(after) - set(before), set(before) - set(after)


def same_except(name: str, other: dict[str, ComponentSpec]) -> None:
    """Every component but `name` renders exactly as in BASE."""
    for key, spec in BASE.items():
        if key != name:
            assert other[key] == spec, key


# --- etcd -------------------------------------------------------------------------------------------------
def test_etcd_34_drops_only_tls_min_version() -> None:
    old = render(facts=replace(FACTS, etcd_version=(3, 4)))["etcd"]
    added, removed = changed(BASE["etcd"].args, old.args)
    assert added == set() and removed == {"--tls-min-version=TLS1.2"}
    assert "cipher-suites" in arg_map(old.args)


def test_etcd_tls13_minimum_gets_no_cipher_list() -> None:
    spec = render("""
        spec:
          storage:
            etcd:
              extraArgs: {tls-min-version: TLS1.3}
    """)["etcd"]
    assert "cipher-suites" not in arg_map(spec.args)
    assert arg_map(spec.args)["tls-min-version"] == "TLS1.3"
    assert spec.overridden == ("tls-min-version",)


def test_etcd_extra_args_override_and_add_and_raw_args_append() -> None:
    specs = render("""
        spec:
          storage:
            etcd:
              extraArgs: {name: member-a, quota-backend-bytes: "8589934592"}
              rawArgs: ["--experimental-initial-corrupt-check=true"]
    """)
    added, removed = changed(BASE["etcd"].args, specs["etcd"].args)
    assert added == {"--name=member-a", "--quota-backend-bytes=8589934592",
                     "--experimental-initial-corrupt-check=true"}
    assert removed == {"--name=node1"}
    assert specs["etcd"].args[-1] == "--experimental-initial-corrupt-check=true"
    assert specs["etcd"].overridden == ("name",)
    same_except("etcd", specs)


def test_etcd_join_adds_initial_cluster() -> None:
    join = EtcdJoin(("a=https://10.0.0.2:2380", "node1=https://10.0.0.1:2380"))
    spec = render(facts=replace(FACTS, etcd_join=join))["etcd"]
    added, removed = changed(BASE["etcd"].args, spec.args)
    assert removed == set()
    assert added == {"--initial-cluster=a=https://10.0.0.2:2380,node1=https://10.0.0.1:2380",
                     "--initial-cluster-state=existing"}


def test_etcd_ipv6_peer_address_is_bracketed() -> None:
    spec = render("spec: {storage: {etcd: {peerAddress: 'fd00::1'}}}")["etcd"]
    assert arg_map(spec.args)["listen-peer-urls"] == "https://[fd00::1]:2380"


def test_moved_etcd_client_url_reaches_apiserver_and_probe() -> None:
    specs = render("""
        spec:
          storage:
            etcd:
              extraArgs:
                listen-client-urls: https://127.0.0.1:32379
                advertise-client-urls: https://127.0.0.1:32379
    """)
    assert arg_map(specs["kube-apiserver"].args)["etcd-servers"] == "https://127.0.0.1:32379"
    assert specs["etcd"].probe is not None and specs["etcd"].probe.url == "https://127.0.0.1:32379"


# --- storage variants --------------------------------------------------------------------------------------
def test_single_means_kine_no_konnectivity_and_no_leader_election() -> None:
    assert "etcd" not in SINGLE and "konnectivity" not in SINGLE
    for name in ("kube-scheduler", "kube-controller-manager"):
        assert arg_map(SINGLE[name].args)["leader-elect"] == "false"
        assert arg_map(BASE[name].args)["leader-elect"] == "true"
    api = arg_map(SINGLE["kube-apiserver"].args)
    assert "egress-selector-config-file" not in api and SINGLE["kube-apiserver"].files == ()
    assert api["api-audiences"] == "https://kubernetes.default.svc"
    assert api["etcd-servers"] == "unix:/run/k0s/kine/kine.sock:2379"
    assert "etcd-cafile" not in api


def test_kine_extra_and_raw_args() -> None:
    spec = render("""
        spec:
          storage:
            type: kine
            kine:
              dataSource: "postgres://k:pw@db:5432/k0s"
              extraArgs: {metrics-bind-address: "127.0.0.1:12380"}
              rawArgs: ["--debug"]
    """)["kine"]
    args = arg_map(spec.args)
    assert args["endpoint"] == "postgres://k:pw@db:5432/k0s"
    assert args["metrics-bind-address"] == "127.0.0.1:12380"
    assert spec.args[-1] == "--debug" and spec.overridden == ("metrics-bind-address",)
    assert [d.path for d in spec.dirs] == ["/run/k0s/kine"]  # no SQLite directory for postgres


def test_external_etcd_runs_no_storage_and_passes_tls_and_prefix() -> None:
    specs = render("""
        spec:
          storage:
            etcd:
              externalCluster:
                endpoints: ["https://192.168.10.10:2379", "https://192.168.10.11:2379"]
                etcdPrefix: k0s-tenant-1
                caFile: /etc/pki/CA/ca.crt
                clientCertFile: /etc/pki/tls/certs/etcd-client.crt
                clientKeyFile: /etc/pki/tls/private/etcd-client.key
    """)
    assert list(specs) == ["konnectivity", "kube-apiserver", "kube-scheduler", "kube-controller-manager"]
    assert specs["kube-apiserver"].args[-5:] == (
        "--etcd-servers=https://192.168.10.10:2379,https://192.168.10.11:2379",
        "--etcd-cafile=/etc/pki/CA/ca.crt", "--etcd-certfile=/etc/pki/tls/certs/etcd-client.crt",
        "--etcd-keyfile=/etc/pki/tls/private/etcd-client.key", "--etcd-prefix=k0s-tenant-1")


def test_external_etcd_without_tls() -> None:
    api = render("""
        spec:
          storage:
            etcd:
              externalCluster: {endpoints: ["http://192.168.10.10:2379"], etcdPrefix: k0s-tenant-1}
    """)["kube-apiserver"]
    assert api.args[-2:] == ("--etcd-servers=http://192.168.10.10:2379", "--etcd-prefix=k0s-tenant-1")
    assert "etcd-cafile" not in arg_map(api.args)


# --- kube-apiserver -----------------------------------------------------------------------------------------
def test_apiserver_extra_args_override_defaults_and_raw_args_precede_storage() -> None:
    specs = render("""
        spec:
          api:
            extraArgs: {v: "4", allow-privileged: "false", audit-log-maxage: "7"}
            rawArgs: ["--enable-aggregator-routing=true"]
    """)
    api = specs["kube-apiserver"]
    added, removed = changed(BASE["kube-apiserver"].args, api.args)
    assert added == {"--v=4", "--allow-privileged=false", "--audit-log-maxage=7",
                     "--enable-aggregator-routing=true"}
    assert removed == {"--v=1", "--allow-privileged=true"}
    assert api.overridden == ("v",)  # allow-privileged is a fill-if-empty default, not a k0s base key
    assert api.args.index("--enable-aggregator-routing=true") == len(api.args) - 5
    same_except("kube-apiserver", specs)


def test_apiserver_request_timeout_changes_stop_timeout_and_grace_period() -> None:
    api = render("spec: {api: {extraArgs: {request-timeout: 10s}}}")["kube-apiserver"]
    assert api.stop_timeout == 12.0
    assert arg_map(api.args)["shutdown-watch-termination-grace-period"] == "10s"
    short = render("spec: {api: {extraArgs: {request-timeout: 1s}}}")["kube-apiserver"]
    assert short.stop_timeout == 5.0
    assert arg_map(short.args)["shutdown-watch-termination-grace-period"] == "3s"
    given = render("spec: {api: {extraArgs: {shutdown-watch-termination-grace-period: 0s}}}")
    assert arg_map(given["kube-apiserver"].args)["shutdown-watch-termination-grace-period"] == "0s"
    assert render(api_server_stop_timeout=7.5)["kube-apiserver"].stop_timeout == 7.5


@pytest.mark.parametrize(("args", "expected"), [
    ({}, 20), ({"request-timeout": "30s"}, 20), ({"request-timeout": "2s"}, 5),
    ({"request-timeout": "5s", "shutdown-watch-termination-grace-period": "15s"}, 17),
    ({"request-timeout": "bogus"}, 20),
])
def test_stop_timeout_formula(args: dict[str, str], expected: int) -> None:
    assert stop_timeout_ns(args) == expected * 1_000_000_000


def test_only_bind_to_address_and_external_address() -> None:
    api = render("spec: {api: {onlyBindToAddress: true, externalAddress: k8s.example.com}}")["kube-apiserver"]
    args = arg_map(api.args)
    assert args["bind-address"] == "10.0.0.1"
    assert args["endpoint-reconciler-type"] == "none"
    off = render("spec: {api: {externalAddress: k8s.example.com}}",
                 disable_components=["endpoint-reconciler"])["kube-apiserver"]
    assert "endpoint-reconciler-type" not in arg_map(off.args)


def test_a_port_below_1024_asks_for_the_bind_capability_and_nothing_else_changes() -> None:
    assert not BASE["kube-apiserver"].binds_privileged_ports
    low = render("spec: {api: {port: 443}}")
    api = low["kube-apiserver"]
    assert api.binds_privileged_ports and api.to_dict()["bindsPrivilegedPorts"] is True
    assert arg_map(api.args)["secure-port"] == "443" and api.user == "kube-apiserver"
    assert not any(spec.binds_privileged_ports for name, spec in low.items() if name != "kube-apiserver")


def test_setpriv_command_keeps_the_argv_whole() -> None:
    argv = ("/var/lib/k0s/bin/kube-apiserver", "--secure-port=443", "--", "x y")
    assert setpriv_argv("/usr/bin/setpriv", argv, 996, 0) == (
        "/usr/bin/setpriv", "--reuid=996", "--regid=0", "--clear-groups", "--inh-caps=+net_bind_service",
        "--ambient-caps=+net_bind_service", "--", *argv)


def test_anonymous_auth_default_skipped_when_auth_config_manages_it() -> None:
    text = "spec: {api: {extraArgs: {authentication-config: /etc/k0s/auth.yaml}}}"
    managed = render(text, facts=replace(FACTS, auth_config_has_anonymous=True))["kube-apiserver"]
    assert "anonymous-auth" not in arg_map(managed.args)
    assert arg_map(render(text)["kube-apiserver"].args)["anonymous-auth"] == "false"


def test_dual_stack_cidrs_primary_family_first() -> None:
    text = """
        spec:
          network:
            podCIDR: 10.244.0.0/16
            serviceCIDR: 10.96.0.0/12
            dualStack: {enabled: true, IPv6podCIDR: "fd00::/108", IPv6serviceCIDR: "fd01::/108"}
    """
    specs = render(text)
    assert arg_map(specs["kube-apiserver"].args)["service-cluster-ip-range"] == "10.96.0.0/12,fd01::/108"
    kcm = arg_map(specs["kube-controller-manager"].args)
    assert kcm["cluster-cidr"] == "10.244.0.0/16,fd00::/108"
    assert kcm["node-cidr-mask-size-ipv4"] == "24" and kcm["node-cidr-mask-size-ipv6"] == "117"
    assert "node-cidr-mask-size" not in kcm


# --- feature gates ------------------------------------------------------------------------------------------
def test_feature_gates_reach_only_their_components_after_user_value() -> None:
    specs = render("""
        spec:
          scheduler: {extraArgs: {feature-gates: "A=true"}}
          featureGates:
            - {name: B, enabled: true}
            - {name: C, enabled: false, components: [kube-apiserver]}
    """)
    assert arg_map(specs["kube-apiserver"].args)["feature-gates"] == "B=true,C=false"
    assert arg_map(specs["kube-scheduler"].args)["feature-gates"] == "A=true,B=true"
    assert arg_map(specs["kube-controller-manager"].args)["feature-gates"] == "B=true"
    for name in ("etcd", "konnectivity"):
        assert specs[name] == BASE[name]


# --- scheduler and controller-manager --------------------------------------------------------------------
def test_scheduler_extra_and_raw_args() -> None:
    specs = render("spec: {scheduler: {extraArgs: {bind-address: 0.0.0.0}, rawArgs: ['--v=5']}}")
    sched = specs["kube-scheduler"]
    assert arg_map(sched.args)["bind-address"] == "0.0.0.0" and sched.args[-1] == "--v=5"
    assert sched.overridden == ("bind-address",)
    same_except("kube-scheduler", specs)


def test_kcm_precedence_cli_string_then_mask_then_extra_args_then_defaults() -> None:
    specs = render("spec: {controllerManager: {extraArgs: {cluster-name: prod, leader-elect: ''}}}",
                   kcm_extra_args="--node-cidr-mask-size=26 --concurrent-deployment-syncs=3 --v=4")
    kcm = arg_map(specs["kube-controller-manager"].args)
    assert kcm["node-cidr-mask-size"] == "24"  # the mask rule overrides the CLI string
    assert kcm["concurrent-deployment-syncs"] == "3" and kcm["v"] == "4"
    assert kcm["cluster-name"] == "prod"
    assert kcm["leader-elect"] == "true"  # emptied by extraArgs, filled again by the defaults
    same_except("kube-controller-manager", specs)


def test_single_stack_ipv6_mask() -> None:
    kcm = render("spec: {network: {podCIDR: 'fd00::/104', serviceCIDR: 'fd01::/108'}}",
                 k0s_feature_gates=("IPv6SingleStack",))["kube-controller-manager"]
    assert arg_map(kcm.args)["node-cidr-mask-size"] == "117"


# --- CLI options ------------------------------------------------------------------------------------------
def test_disable_components_removes_exactly_those_processes() -> None:
    specs = render(disable_components=["kube-scheduler,konnectivity-server", "kube-controller-manager"])
    assert list(specs) == ["etcd", "kube-apiserver"]
    api = arg_map(specs["kube-apiserver"].args)
    assert "egress-selector-config-file" not in api
    assert specs["kube-apiserver"].files == ()


def test_disable_components_rejects_unknown_names() -> None:
    with pytest.raises(K0spyError, match="unknown component i-dont-exist"):
        render(disable_components=["i-dont-exist"])


def test_logging_levels_reach_their_components() -> None:
    specs = render(logging="etcd=debug,kube-apiserver=4,konnectivity-server=2,kube-scheduler=3,"
                           "kube-controller-manager=5")
    assert arg_map(specs["etcd"].args)["log-level"] == "debug"
    assert arg_map(specs["kube-apiserver"].args)["v"] == "4"
    assert arg_map(specs["konnectivity"].args)["v"] == "2"
    assert arg_map(specs["kube-scheduler"].args)["v"] == "3"
    assert arg_map(specs["kube-controller-manager"].args)["v"] == "5"


def test_konnectivity_ports_and_server_count() -> None:
    specs = render("spec: {konnectivity: {agentPort: 18132, adminPort: 18133}}",
                   facts=replace(FACTS, server_count=3, konnectivity_health_port=18092))
    args = arg_map(specs["konnectivity"].args)
    assert (args["agent-port"], args["admin-port"], args["health-port"]) == ("18132", "18133", "18092")
    assert args["server-count"] == "3"
    assert specs["konnectivity"].probe is not None
    assert specs["konnectivity"].probe.url == "http://localhost:18092/healthz"


def test_node_facts_detect_gives_a_new_invocation_id_each_start() -> None:
    from k0spy.components.render import NodeFacts
    from tests.support.config import load_text

    cfg = load_text("").config
    first, second = NodeFacts.detect(cfg), NodeFacts.detect(cfg, etcd_version=(3, 4), server_count=2)
    assert len(first.invocation_id) == 32 and int(first.invocation_id, 16) >= 0
    assert first.invocation_id != second.invocation_id
    assert first.hostname and second.etcd_version == (3, 4) and second.server_count == 2
    assert not first.auth_config_has_anonymous
