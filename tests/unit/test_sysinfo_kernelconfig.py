"""Kernel config: where it is found, how it is parsed (plain and gzip) and how options are judged."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from k0spy.sysinfo.kconfig_tree import kernel_config_tree
from k0spy.sysinfo.kernelconfig import (
    KConfigSpec,
    NoKernelConfig,
    config_candidates,
    judge,
    load_kconfig,
    parse_kconfig,
)
from k0spy.sysinfo.model import Status
from k0spy.sysinfo.runner import kernel_configs

# The fixture of k0s's own parser test, plus the lines k0s must not count.
KCONFIG = """#
# Automatically generated file; DO NOT EDIT.
# Linux/x86_64 5.16.8 Kernel Configuration
#
CONFIG_CC_VERSION_TEXT="gcc (GCC) 10.3.0"
CONFIG_CC_IS_GCC=y
CONFIG_GCC_VERSION=100300
CONFIG_CLANG_VERSION=0
CONFIG_AS_IS_GNU=y
CONFIG_AS_VERSION=23502

CONFIG_IKCONFIG=y
CONFIG_IKCONFIG_PROC=m
CONFIG_IKHEADERS=n
# CONFIG_MODULES is not set
  CONFIG_INDENTED=y
"""


def test_parse_counts_only_ynm_lines() -> None:
    assert parse_kconfig(KCONFIG) == {
        "CC_IS_GCC": "y", "AS_IS_GNU": "y", "IKCONFIG": "y", "IKCONFIG_PROC": "m", "IKHEADERS": "n",
        "INDENTED": "y",
    }


def test_candidates_in_k0s_order() -> None:
    found = [str(p) for p in config_candidates("6.1.0", Path("/"))]
    assert found == [
        "/proc/config.gz", "/boot/config-6.1.0", "/usr/src/linux-6.1.0/.config", "/usr/src/linux/.config",
        "/usr/lib/modules/6.1.0/config", "/usr/lib/ostree-boot/config-6.1.0", "/usr/lib/kernel/config-6.1.0",
        "/usr/src/linux-headers-6.1.0/.config", "/lib/modules/6.1.0/build/.config",
    ]


def test_load_plain_file(tmp_path: Path) -> None:
    (tmp_path / "boot").mkdir()
    (tmp_path / "boot" / "config-6.1.0").write_text(KCONFIG)
    path, configs = load_kconfig("6.1.0", tmp_path)
    assert path == tmp_path / "boot" / "config-6.1.0"
    assert configs["IKCONFIG_PROC"] == "m"


def test_load_prefers_gzip_proc_config(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "config.gz").write_bytes(gzip.compress(b"CONFIG_FROM_PROC=y\n"))
    (tmp_path / "boot").mkdir()
    (tmp_path / "boot" / "config-6.1.0").write_text("CONFIG_FROM_BOOT=y\n")
    path, configs = load_kconfig("6.1.0", tmp_path)
    assert path.name == "config.gz"
    assert configs == {"FROM_PROC": "y"}


def test_no_config_anywhere(tmp_path: Path) -> None:
    with pytest.raises(NoKernelConfig) as caught:
        load_kconfig("6.1.0", tmp_path)
    assert "no kernel config found for kernel release 6.1.0 in " in str(caught.value)
    assert len(caught.value.checked) == 9


def test_unreadable_gzip_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "config.gz").write_bytes(b"not gzip")
    lookup = kernel_configs("6.1.0", tmp_path)
    assert isinstance(lookup, Exception)
    results = list(judge(KConfigSpec("NET", "Networking support"), ("os",), lookup))
    assert results[0].status is Status.ERROR


def _tree() -> KConfigSpec:
    root = KConfigSpec("ROOT")
    net = root.required("NET", "Networking support")
    net.required("INET", "TCP/IP networking")
    net.asserted("BRIDGE", "802.1d Ethernet Bridging")
    return root.children[0]


def test_judge_pass_fail_warn_and_nesting() -> None:
    results = list(judge(_tree(), ("os",), {"INET": "m", "BRIDGE": "n"}))
    assert [(r.path, r.status, r.value) for r in results] == [
        (("os", "NET"), Status.FAIL, "unknown"),  # a missing parent is rejected, its children still probed
        (("os", "NET", "INET"), Status.PASS, "module"),
        (("os", "NET", "BRIDGE"), Status.WARN, "left out"),
    ]
    assert results[0].name == "CONFIG_NET: Networking support"


def test_missing_config_warns_on_top_level_only(tmp_path: Path) -> None:
    lookup = kernel_configs("6.1.0", tmp_path)
    results = list(judge(_tree(), ("os",), lookup))
    assert len(results) == 1
    assert (results[0].status, results[0].value, results[0].reason) == (
        Status.WARN, "no kernel config found", "")


def test_alternative_option() -> None:
    spec = KConfigSpec("ROOT").required("NETFILTER_XT_TARGET_REDIRECT", "REDIRECT", "IP_NF_TARGET_REDIRECT")
    [via] = judge(spec, ("os",), {"IP_NF_TARGET_REDIRECT": "m"})
    assert (via.status, via.value) == (Status.PASS, "module (via CONFIG_IP_NF_TARGET_REDIRECT)")
    [missing] = judge(spec, ("os",), {})
    assert (missing.status, missing.reason) == (Status.FAIL, "also tried CONFIG_IP_NF_TARGET_REDIRECT")


def test_spec_names_are_checked_and_redefinition_keeps_children() -> None:
    root = KConfigSpec("ROOT")
    with pytest.raises(ValueError, match="invalid kernel config"):
        root.required("foo")
    root.required("NET").required("INET")
    again = root.asserted("NET", "Networking")
    assert len(root.children) == 1
    assert [c.name for c in again.children] == ["INET"]
    assert not again.require


def _names(specs: list[KConfigSpec]) -> list[str]:
    out = []
    for spec in specs:
        out.append(spec.name)
        out.extend(_names(spec.children))
    return out


def test_tree_per_role() -> None:
    assert _names(kernel_config_tree(worker=False, debug=False)) == ["NET", "INET"]
    worker = _names(kernel_config_tree(worker=True, debug=False))
    assert worker[:5] == ["CGROUPS", "CGROUP_SCHED", "FAIR_GROUP_SCHED", "CFS_BANDWIDTH", "BLK_CGROUP"]
    assert worker[-2:] == ["EXT4_FS", "PROC_FS"]
    assert "IP_VS" not in worker
    debug = _names(kernel_config_tree(worker=True, debug=True))
    assert {"IP_VS", "IPV6", "BRIDGE", "STP"} <= set(debug)
    required = [s for s in kernel_config_tree(worker=True, debug=True) if s.require]
    assert [s.name for s in required] == ["CGROUPS", "NAMESPACES", "NET", "EXT4_FS", "PROC_FS"]
