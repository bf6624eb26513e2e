"""Argument maps: the pure merge and render rules every control-plane component shares with k0s.

k0s builds each component's command line the same way: a map of k0s's own flags, the user's `extraArgs`
written over it (k0s logs a warning for each of its own keys a user overrides, so we return those keys),
some defaults filled in only where the key is still empty, `spec.featureGates` appended to
`feature-gates`, the map rendered as `--key=value` (sorted by key for every component but
kube-apiserver, which k0s renders in Go's random map order; we keep insertion order there so that a
render is reproducible) and `rawArgs` appended verbatim. Keys are dash-less everywhere.

The CLI-side parsing that feeds rendering lives here too: `--logging` levels, the
`--kube-controller-manager-extra-args` string, and `--disable-components` normalisation. Finally the
frozen `ComponentSpec` that a renderer returns: everything a ProcessComponent needs, and what the dry run
prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from k0spy.errors import K0spyError

ArgMap = dict[str, str]

# k0s's constant.AllowedTLS12CipherSuiteNames()
TLS12_CIPHER_SUITES = ",".join((
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
))


# --- the merge pipeline ------------------------------------------------------------------------------
def merge_extra_args(base: Mapping[str, str], extra: Mapping[str, str]) -> tuple[ArgMap, tuple[str, ...]]:
    """`base` with `extra` written over it, and the base keys the user overrode (in `extra`'s order)."""
    merged = dict(base)
    overridden = tuple(name for name in extra if name in merged)
    merged.update(extra)
    return merged, overridden


def fill_defaults(args: Mapping[str, str], defaults: Mapping[str, str]) -> ArgMap:
    """Set each default whose key is missing or empty (k0s tests `args[name] == ""`)."""
    out = dict(args)
    for name, value in defaults.items():
        if not out.get(name):
            out[name] = value
    return out


def add_feature_gates(args: Mapping[str, str], gates: Iterable[str]) -> ArgMap:
    """Append `Name=bool` gates to `feature-gates`, after any value the user gave (k0s BuildArgs)."""
    out = dict(args)
    joined = ",".join(gates)
    if not joined:
        return out
    current = out.get("feature-gates", "")
    out["feature-gates"] = f"{current},{joined}" if current else joined
    return out


def render_args(args: Mapping[str, str], *, sort: bool = True) -> list[str]:
    """`--key=value` for every entry, sorted by key (k0s's ToDashedArgs) or in insertion order."""
    names = sorted(args) if sort else list(args)
    return [f"--{name}={args[name]}" for name in names]


def split_extra_args(value: str) -> ArgMap:
    """`--kube-controller-manager-extra-args`: whitespace-separated `k=v`, every `--` removed (k0s)."""
    out: ArgMap = {}
    for word in value.replace("--", "").split():
        name, _, val = word.partition("=")
        out[name] = val
    return out


# --- --logging -----------------------------------------------------------------------------------------
LOG_COMPONENTS = ("containerd", "etcd", "konnectivity-server", "kube-apiserver", "kube-controller-manager",
                  "kube-scheduler", "kubelet")
DEFAULT_LOG_LEVELS: Mapping[str, str] = {
    "containerd": "info", "etcd": "info", "konnectivity-server": "1", "kube-apiserver": "1",
    "kube-controller-manager": "1", "kube-scheduler": "1", "kubelet": "1",
}


@dataclass(frozen=True)
class LogLevels:
    """Per-component log levels (`-l/--logging`); unnamed components keep k0s's defaults."""

    containerd: str = "info"
    etcd: str = "info"
    konnectivity_server: str = "1"
    kube_apiserver: str = "1"
    kube_controller_manager: str = "1"
    kube_scheduler: str = "1"
    kubelet: str = "1"

    def level(self, component: str) -> str:
        value: str = getattr(self, component.replace("-", "_"))
        return value

    def __str__(self) -> str:
        """k0s's flag String(): `[containerd=info,etcd=info,...]`."""
        return "[" + ",".join(f"{c}={self.level(c)}" for c in LOG_COMPONENTS) + "]"


def parse_logging(value: str) -> LogLevels:
    """Parse `comp=level,...` (optionally in brackets) over the defaults; errors name the bad pair."""
    text = value.removeprefix("[").removesuffix("]")
    levels: dict[str, str] = {}
    while text:
        pair, _, text = text.partition(",")
        name, sep, level = pair.partition("=")
        if not name:
            raise K0spyError(f"--logging: component name cannot be empty: {pair!r}",
                             hint="use component=level, e.g. -l kube-apiserver=4")
        if not sep:
            raise K0spyError(f"--logging: must be of format component=level: {pair!r}",
                             hint="use component=level, e.g. -l kube-apiserver=4")
        if name not in LOG_COMPONENTS:
            raise K0spyError(f"--logging: unknown component name: {name!r}",
                             hint="valid names: " + ", ".join(LOG_COMPONENTS))
        levels[name.replace("-", "_")] = level
    return replace(LogLevels(), **levels)


# --- --disable-components --------------------------------------------------------------------------------
AVAILABLE_COMPONENTS = (
    "applier-manager", "autopilot", "control-api", "coredns", "csr-approver", "endpoint-reconciler", "helm",
    "konnectivity-server", "kube-controller-manager", "kube-proxy", "kube-scheduler", "metrics-server",
    "network-provider", "node-role", "system-rbac", "update-prober", "windows-node",
)
DEPRECATED_COMPONENTS = ("worker-config",)


def normalize_disabled_components(values: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(names without duplicates in first-seen order, deprecation warnings). Comma lists are split as
    pflag's StringSlice does; an unknown name is an error naming it."""
    out: list[str] = []
    warnings: list[str] = []
    for raw in values:
        for name in (part.strip() for part in raw.split(",")):
            if not name:
                continue
            if name not in AVAILABLE_COMPONENTS and name not in DEPRECATED_COMPONENTS:
                raise K0spyError(f"--disable-components: unknown component {name}",
                                 hint="valid items: " + ",".join(AVAILABLE_COMPONENTS))
            if name in DEPRECATED_COMPONENTS and name not in out:
                warnings.append(f"--disable-components: {name} is deprecated and has no effect")
            if name not in out:
                out.append(name)
    return tuple(out), tuple(warnings)


# --- what a renderer returns ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FileSpec:
    """A config file a component needs before it starts: written atomically with this mode."""

    path: str
    content: str
    mode: int
    owner: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "mode": f"{self.mode:04o}", "owner": self.owner, "content": self.content}


@dataclass(frozen=True)
class DirSpec:
    """A directory a component needs (created with this mode, chowned to `owner` with gid 0)."""

    path: str
    mode: int
    owner: str | None = None
    recursive: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "mode": f"{self.mode:04o}", "owner": self.owner,
                "recursive": self.recursive}


@dataclass(frozen=True)
class ProbeSpec:
    """How to tell the component is ready; `k0spy.components.probes.build_probe` turns it into a call.

    kind: "etcd" (range `health` over the JSON gateway with a client cert), "kine" (put/get over the etcd
    gRPC API on a unix socket), "https" (GET, 200 required, client cert and CA), "https-insecure" (GET
    without verifying the server, for the self-signed scheduler / controller-manager ports), "http".
    """

    kind: str
    url: str
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    timeout: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is not None:
                head, *rest = item.name.split("_")
                out[head + "".join(word.title() for word in rest)] = value
        return out


@dataclass(frozen=True)
class ComponentSpec:
    """Everything needed to run one control-plane child, rendered purely from config + paths + options.

    `name` is the supervisor name (PID file `RUN/<name>.pid`, env prefix `NAME_`), `component` the k0s
    component name (`--disable-components`, `--logging`), `overridden` the k0s keys `extraArgs` replaced.
    """

    name: str
    component: str
    binary: str
    args: tuple[str, ...]
    user: str | None
    files: tuple[FileSpec, ...] = ()
    dirs: tuple[DirSpec, ...] = ()
    stop_timeout: float = 5.0
    keep_env_prefix: bool = False
    probe: ProbeSpec | None = None
    overridden: tuple[str, ...] = ()
    binds_privileged_ports: bool = False  # run with CAP_NET_BIND_SERVICE when dropped to `user`

    def to_dict(self) -> dict[str, Any]:
        """The dry run's JSON object for this component."""
        return {
            "name": self.name,
            "binary": self.binary,
            "args": list(self.args),
            "user": self.user,
            "files": [f.to_dict() for f in self.files],
            "dirs": [d.to_dict() for d in self.dirs],
            "stopTimeout": self.stop_timeout,
            "keepEnvPrefix": self.keep_env_prefix,
            "probe": self.probe.to_dict() if self.probe else None,
            "bindsPrivilegedPorts": self.binds_privileged_ports,
            "overriddenByExtraArgs": list(self.overridden),
        }
