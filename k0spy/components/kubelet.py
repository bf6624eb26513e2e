"""kubelet: its KubeletConfiguration file and its command line, rendered purely (k0s kubelet.go, §5.8).

The config is k0s's default profile (the table in §5.8), the worker profile's `values` merged over it
(objects merge key by key, anything else replaces, as Go's json.Unmarshal over a filled struct; the fields
k0s owns, `clusterDNS`, `clusterDomain` and `staticPodURL`, are refused), then the node-local fields: the
client CA, resolv.conf (only when the profile left it unset), the CRI endpoint and the `--taints`.
Duration fields k0s serialises as `0s` are left out here: kubelet defaults an absent field exactly as it
defaults `0s`.

The command line is k0s's map (`--cert-dir --config --containerd --kubeconfig --node-labels --root-dir
--runtime-cgroups --v` ...), `--kubelet-extra-args` merged over it, then `--hostname-override` forced to
the node name, rendered sorted as `--key=value`.

Writing the files and supervising the process is the worker command's business: `kubelet_spec` returns
the frozen description (args, config file 0600, dirs) that a ProcessComponent runs.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from k0spy.components.flags import TLS12_CIPHER_SUITES, ComponentSpec, DirSpec, FileSpec
from k0spy.errors import K0spyError
from k0spy.fsutil import DATA_DIR_MODE, OWNER_ONLY_MODE, RUN_DIR_MODE
from k0spy.paths import Paths

NAME = "kubelet"
CONFIG_API = "kubelet.config.k8s.io/v1beta1"
VOLUME_PLUGIN_DIR = "/usr/libexec/k0s/kubelet-plugins/volume/exec"
CONTAINERD_CGROUP = "/system.slice/containerd.service"
ETC_RESOLV_CONF = "/etc/resolv.conf"
SYSTEMD_RESOLV_CONF = "/run/systemd/resolve/resolv.conf"
SYSTEMD_RESOLVED_IP = ipaddress.ip_address("127.0.0.53")
FORBIDDEN_PROFILE_FIELDS = ("clusterDNS", "clusterDomain", "staticPodURL")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_NAMESERVER = re.compile(r"^nameserver\s+(\S+)")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_NAME_PART = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


# --- node name, DNS, resolv.conf ---------------------------------------------------------------------------
def node_name(hostname: str, extra_args: Mapping[str, str] | None = None) -> str:
    """`--hostname-override` from the kubelet extra args, else the OS host name; trimmed, lower-cased."""
    override = (extra_args or {}).get("--hostname-override", "")
    name = (override or hostname).strip().lower()
    if not name:
        raise K0spyError("the node name is empty", hint="set a host name or --hostname-override")
    return name


def cluster_dns(service_cidr: str) -> str:
    """The CoreDNS service IP: network address + 10, or + 2 when the CIDR has at most 3 host bits."""
    try:
        network = ipaddress.ip_network(service_cidr.strip(), strict=False)
    except ValueError as err:
        raise K0spyError(f"spec.network.serviceCIDR: {service_cidr!r} is not a CIDR: {err}") from err
    host_bits = network.max_prefixlen - network.prefixlen
    address = network.network_address + (10 if host_bits > 3 else 2)
    if address not in network:
        raise K0spyError(f"spec.network.serviceCIDR: {service_cidr} is too narrow for the DNS address",
                         hint="use a service CIDR with at least 3 addresses, e.g. 10.96.0.0/12")
    return str(address)


def is_systemd_resolved(resolv_conf: str) -> bool:
    """Whether 127.0.0.53 is the one and only nameserver (the stub resolver, unreachable from pods)."""
    seen = False
    for line in resolv_conf.splitlines():
        match = _NAMESERVER.match(line)
        if match is None:
            continue
        try:
            address = ipaddress.ip_address(match.group(1))
        except ValueError:
            continue
        if seen or address != SYSTEMD_RESOLVED_IP:
            return False
        seen = True
    return seen


def resolv_conf_path(etc_resolv_conf: str | None) -> str:
    """`/etc/resolv.conf`, or systemd-resolved's upstream file when the former only names the stub."""
    if etc_resolv_conf is not None and is_systemd_resolved(etc_resolv_conf):
        return SYSTEMD_RESOLV_CONF
    return ETC_RESOLV_CONF


# --- --labels, --taints, --kubelet-extra-args -------------------------------------------------------------
def _qualified_name_ok(key: str) -> bool:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_NAME_PART.match(name))


def parse_taint(spec: str) -> dict[str, str]:
    """`key[=value]:Effect` (or a bare key) as a Taint object; errors name the taint and the reason."""
    parts = spec.split(":")
    if len(parts) > 2:
        raise K0spyError(f"--taints: invalid taint spec {spec!r}", hint="use key[=value]:Effect")
    key, value, effect = parts[0], "", ""
    if len(parts) == 2:
        effect = parts[1]
        if effect not in TAINT_EFFECTS:
            raise K0spyError(f"--taints: invalid taint effect {effect!r} in {spec!r}",
                             hint="the effect is one of " + ", ".join(TAINT_EFFECTS))
        key_value = parts[0].split("=")
        if len(key_value) > 2:
            raise K0spyError(f"--taints: invalid taint spec {spec!r}", hint="use key[=value]:Effect")
        key = key_value[0]
        if len(key_value) == 2:
            value = key_value[1]
            if len(value) > 63 or not _LABEL_VALUE.match(value):
                raise K0spyError(f"--taints: invalid value {value!r} in {spec!r}",
                                 hint="at most 63 alphanumerics, '-', '_' or '.', starting and ending "
                                      "with an alphanumeric")
    if not _qualified_name_ok(key):
        raise K0spyError(f"--taints: invalid key {key!r} in {spec!r}",
                         hint="a qualified name: [prefix/]name, name at most 63 characters")
    taint = {"key": key, "effect": effect}
    if value:
        taint["value"] = value
    return taint


def parse_taints(values: Iterable[str]) -> list[dict[str, str]]:
    """Every `--taints` value; each may hold several comma-separated taints (a string slice flag)."""
    return [parse_taint(item) for value in values for item in value.split(",") if item]


def parse_labels(values: Iterable[str]) -> dict[str, str]:
    """`--labels k=v,k2=v2` (repeatable); later keys win."""
    out: dict[str, str] = {}
    for value in values:
        for item in value.split(","):
            if not item:
                continue
            key, eq, val = item.partition("=")
            if not eq or not key:
                raise K0spyError(f"--labels: {item!r} must be formatted as key=value",
                                 hint="e.g. --labels role=edge,zone=a")
            out[key.strip()] = val
    return out


def parse_extra_args(value: str) -> dict[str, str]:
    """`--kubelet-extra-args`: whitespace-split words, keys keep their dashes, a bare key has value ''."""
    out: dict[str, str] = {}
    for word in value.split():
        key, _, val = word.partition("=")
        out[key] = val
    return out


# --- the KubeletConfiguration -------------------------------------------------------------------------------
def default_kubelet_config(*, service_cidr: str, cluster_domain: str = "cluster.local",
                           feature_gates: Mapping[str, bool] | None = None) -> dict[str, Any]:
    """k0s's default profile (§5.8) before any profile values and node-local fields."""
    config: dict[str, Any] = {
        "apiVersion": CONFIG_API,
        "kind": "KubeletConfiguration",
        "authentication": {"anonymous": {}, "webhook": {"cacheTTL": "0s"}, "x509": {}},
        "clusterDNS": [cluster_dns(service_cidr)],
        "clusterDomain": cluster_domain,
        "eventRecordQPS": 0,
        "failSwapOn": False,
        "kubeReservedCgroup": "system.slice",
        "kubeletCgroups": CONTAINERD_CGROUP,
        "rotateCertificates": True,
        "serverTLSBootstrap": True,
        "tlsCipherSuites": TLS12_CIPHER_SUITES.split(","),
        "tlsMinVersion": "VersionTLS12",
        "volumePluginDir": VOLUME_PLUGIN_DIR,
    }
    if feature_gates:
        config["featureGates"] = dict(feature_gates)
    return config


def merge_over(base: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` written over `base`: nested objects merge key by key, everything else replaces."""
    out = dict(base)
    for key, value in values.items():
        current = out.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            out[key] = merge_over(current, value)
        else:
            out[key] = value
    return out


def check_profile_values(values: Mapping[str, Any], profile: str = "default") -> None:
    bad = [name for name in FORBIDDEN_PROFILE_FIELDS if name in values]
    if bad:
        raise K0spyError(f"spec.workerProfiles[{profile}].values: field(s) {', '.join(bad)} cannot be set",
                         hint="k0s sets these from spec.network; remove them from the profile")


def windows_overrides(config: Mapping[str, Any]) -> dict[str, Any]:
    """`default-windows`: no QoS cgroups, no containerd cgroup paths."""
    out = dict(config)
    out["cgroupsPerQOS"] = False
    for name in ("kubeReservedCgroup", "kubeletCgroups"):
        out.pop(name, None)
    return out


@dataclass(frozen=True)
class KubeletOptions:
    """The node-local inputs: what the worker command knows beyond config and paths."""

    node_name: str
    kubeconfig: Path
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[str, ...] = ()
    extra_args: Mapping[str, str] = field(default_factory=dict)
    cri_socket: str | None = None  # `--cri-socket remote:unix:///...`: no managed containerd
    node_ip: str | None = None  # dual-stack `v4,v6` (order by primary family), detected by the caller
    cloud_provider: bool = False
    log_level: str = "1"
    static_pod_url: str | None = None


def cri_endpoint(paths: Paths, cri_socket: str | None) -> str:
    """`unix://RUN/containerd.sock`, or the URL of `--cri-socket [remote:]URL`."""
    if not cri_socket:
        return f"unix://{paths.containerd_socket}"
    kind, sep, url = cri_socket.partition(":")
    if sep and kind in ("remote", "docker"):
        return url
    return cri_socket


def kubeconfig_ca(kubeconfig_text: str) -> tuple[bytes | None, str | None]:
    """(CA PEM from `certificate-authority-data`, or the `certificate-authority` file) of the current
    context's cluster: kubelet authenticates API clients against the CA its own kubeconfig trusts."""
    import base64

    import yaml

    doc = yaml.safe_load(kubeconfig_text) or {}
    contexts = {c.get("name"): c.get("context") or {} for c in doc.get("contexts") or []}
    wanted = contexts.get(doc.get("current-context"), {}).get("cluster")
    clusters = doc.get("clusters") or []
    cluster = next((c for c in clusters if c.get("name") == wanted), clusters[0] if clusters else {})
    body = cluster.get("cluster") or {}
    data = body.get("certificate-authority-data")
    return (base64.b64decode(data) if data else None), body.get("certificate-authority")


def kubelet_config(profile_config: Mapping[str, Any], paths: Paths, opts: KubeletOptions, *,
                   resolv_conf: str, client_ca: str | None = None) -> dict[str, Any]:
    """The file's content: the profile's config plus the node-local fields (§5.8). `client_ca` is the
    kubeconfig's CA file when it has no inline data (else RUN/kubelet/ca.crt, written by the caller)."""
    ca_file = client_ca or str(paths.kubelet_client_ca)
    config = merge_over(profile_config, {"authentication": {"x509": {"clientCAFile": ca_file}}})
    if not config.get("resolvConf"):
        config["resolvConf"] = resolv_conf
    if opts.static_pod_url:
        config["staticPodURL"] = opts.static_pod_url
    config["containerRuntimeEndpoint"] = cri_endpoint(paths, opts.cri_socket)
    if opts.taints:
        config["registerWithTaints"] = parse_taints(opts.taints)
    return config


def profile_config(base: Mapping[str, Any], values: Mapping[str, Any],
                   profile: str = "default") -> dict[str, Any]:
    """A worker profile's KubeletConfiguration: the default with the profile's `values` over it."""
    check_profile_values(values, profile)
    merged = merge_over(base, values)
    return windows_overrides(merged) if profile == "default-windows" else merged


def render_config(config: Mapping[str, Any]) -> str:
    import yaml

    return str(yaml.safe_dump(dict(config), sort_keys=True, default_flow_style=False))


# --- the command line ----------------------------------------------------------------------------------
def kubelet_arg_map(paths: Paths, opts: KubeletOptions) -> dict[str, str]:
    """k0s's map (keys with dashes), the extra args over it, the node name forced last."""
    args = {
        "--root-dir": str(paths.kubelet_root_dir),
        "--config": str(paths.kubelet_config),
        "--kubeconfig": str(opts.kubeconfig),
        "--v": opts.log_level,
        "--cert-dir": str(paths.kubelet_cert_dir),
        "--runtime-cgroups": CONTAINERD_CGROUP,
    }
    if opts.labels:
        args["--node-labels"] = ",".join(f"{k}={v}" for k, v in sorted(opts.labels.items()))
    if opts.node_ip and not opts.extra_args.get("--node-ip"):
        args["--node-ip"] = opts.node_ip
    if not opts.cri_socket:
        args["--containerd"] = str(paths.containerd_socket)
    if opts.cloud_provider:
        args["--cloud-provider"] = "external"
    args.update(opts.extra_args)
    args["--hostname-override"] = opts.node_name
    return args


def kubelet_args(paths: Paths, opts: KubeletOptions) -> list[str]:
    args = kubelet_arg_map(paths, opts)
    return [f"{key}={args[key]}" for key in sorted(args)]


def kubelet_spec(paths: Paths, opts: KubeletOptions, config: Mapping[str, Any],
                 binary: str | None = None) -> ComponentSpec:
    """The kubelet child: args, `RUN/kubelet/config.yaml` (0600), its directories."""
    return ComponentSpec(
        name=NAME, component=NAME, binary=binary or str(paths.bin_dir / NAME),
        args=tuple(kubelet_args(paths, opts)), user=None,
        files=(FileSpec(str(paths.kubelet_config), render_config(config), OWNER_ONLY_MODE),),
        dirs=(DirSpec(str(paths.kubelet_root_dir), DATA_DIR_MODE),
              DirSpec(str(paths.kubelet_run_dir), RUN_DIR_MODE)),
    )
