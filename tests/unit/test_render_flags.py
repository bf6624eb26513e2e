"""The pure argument-map rules and CLI parsing (vectors from k0s's stringmap, flags and cli tests)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from k0spy.components.flags import (
    DEFAULT_LOG_LEVELS,
    LogLevels,
    add_feature_gates,
    fill_defaults,
    merge_extra_args,
    normalize_disabled_components,
    parse_logging,
    render_args,
    split_extra_args,
)
from k0spy.components.render import (
    ControllerOptions,
    args_diff,
    authentication_config_has_anonymous,
    running_args,
)
from k0spy.errors import K0spyError


def test_merge_reports_overridden_base_keys_only() -> None:
    merged, overridden = merge_extra_args({"a": "1", "b": "2"}, {"b": "3", "c": "4"})
    assert merged == {"a": "1", "b": "3", "c": "4"}
    assert overridden == ("b",)


def test_fill_defaults_only_fills_missing_or_empty() -> None:
    filled = fill_defaults({"a": "", "b": "x"}, {"a": "1", "b": "2", "c": "3"})
    assert filled == {"a": "1", "b": "x", "c": "3"}


def test_feature_gates_append_after_user_value() -> None:
    assert add_feature_gates({}, []) == {}
    assert add_feature_gates({}, ["A=true"]) == {"feature-gates": "A=true"}
    assert add_feature_gates({"feature-gates": "X=false"}, ["A=true", "B=false"]) == {
        "feature-gates": "X=false,A=true,B=false"}


def test_render_sorted_or_in_order() -> None:
    args = {"b": "2", "a": "1", "c": ""}
    assert render_args(args) == ["--a=1", "--b=2", "--c="]
    assert render_args(args, sort=False) == ["--b=2", "--a=1", "--c="]


@pytest.mark.parametrize(("text", "expected"), [
    ("", {}),
    ("--a=1 --b=2", {"a": "1", "b": "2"}),
    ("  a=1\tb  c=x=y ", {"a": "1", "b": "", "c": "x=y"}),
    ("--node-cidr-mask-size=26 --v=4", {"node-cidr-mask-size": "26", "v": "4"}),
])
def test_split_extra_args(text: str, expected: dict[str, str]) -> None:
    assert split_extra_args(text) == expected


def test_logging_full_and_partial_input() -> None:
    full = parse_logging("kubelet=a,kube-scheduler=b,kube-controller-manager=c,kube-apiserver=d,"
                         "konnectivity-server=e,etcd=f,containerd=g")
    assert str(full) == ("[containerd=g,etcd=f,konnectivity-server=e,kube-apiserver=d,"
                         "kube-controller-manager=c,kube-scheduler=b,kubelet=a]")
    partial = parse_logging("[kubelet=a,etcd=b]")
    assert partial == LogLevels(etcd="b", kubelet="a")
    assert {c: LogLevels().level(c) for c in DEFAULT_LOG_LEVELS} == dict(DEFAULT_LOG_LEVELS)


@pytest.mark.parametrize(("text", "message"), [
    ("random=debug", "unknown component name: 'random'"),
    ("=info", "component name cannot be empty"),
    ("random", "must be of format component=level: 'random'"),
    ("kube-apiserver", "must be of format component=level: 'kube-apiserver'"),
    ("containerd=info,random=debug", "unknown component name: 'random'"),
])
def test_logging_errors(text: str, message: str) -> None:
    with pytest.raises(K0spyError, match=message):
        parse_logging(text)


def test_disable_components_normalisation() -> None:
    assert normalize_disabled_components(["helm", "kube-proxy", "coredns", "kube-proxy", "autopilot"]) == (
        ("helm", "kube-proxy", "coredns", "autopilot"), ())
    names, warnings = normalize_disabled_components(["worker-config,helm"])
    assert names == ("worker-config", "helm") and len(warnings) == 1 and "deprecated" in warnings[0]
    with pytest.raises(K0spyError, match="unknown component i-dont-exist") as info:
        normalize_disabled_components(["i-dont-exist"])
    assert info.value.hint is not None and "konnectivity-server" in info.value.hint


def test_controller_options_from_cli() -> None:
    opts, warnings = ControllerOptions.from_cli(disable_components=["kube-scheduler"], logging="etcd=debug",
                                                single=True)
    assert opts.single and opts.disabled("kube-scheduler") and not opts.disabled("helm")
    assert opts.log_levels.etcd == "debug" and warnings == ()


def test_args_diff() -> None:
    assert args_diff(["--a=1", "--b=2"], ["--a=1", "--b=3", "--c"]) == {"added": ["--b=2"],
                                                                     "removed": ["--b=3", "--c"]}


@pytest.mark.parametrize(("content", "expected"), [
    ("kind: AuthenticationConfiguration\nanonymous:\n  enabled: true\n", True),
    ("kind: AuthenticationConfiguration\nanonymous:\n  enabled: false\n", True),
    ("kind: AuthenticationConfiguration\njwt: []\n", False),
    ("anonymous: null\n", False),
    ("{unparseable", False),
])
def test_authentication_config_has_anonymous(tmp_path: Path, content: str, expected: bool) -> None:
    path = tmp_path / "auth.yaml"
    path.write_text(content)
    assert authentication_config_has_anonymous(str(path)) is expected


def test_authentication_config_missing_or_unset() -> None:
    assert authentication_config_has_anonymous("/nonexistent/auth.yaml") is False
    assert authentication_config_has_anonymous("") is False


def test_running_args_reads_proc_cmdline() -> None:
    assert running_args(os.getpid()) == sys.orig_argv[1:]
