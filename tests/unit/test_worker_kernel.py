"""Kernel set-up against a fake /proc tree: the module plan, sysctl writes, and warnings instead of errors."""

from __future__ import annotations

from pathlib import Path

from k0spy.worker import kernel


def fake_proc(root: Path, *, overlay: bool, conntrack: bool, bridge: bool, iptables: bool) -> Path:
    (root / "net").mkdir(parents=True)
    (root / "filesystems").write_text("nodev\tsysfs\nnodev\tproc\n" + ("nodev\toverlay\n" if overlay else "")
                                      + "\text4\n")
    if conntrack:
        (root / "net/nf_conntrack").write_text("")
    if iptables:
        (root / "net/ip_tables_targets").write_text("")
    for entry in kernel.SYSCTLS:
        if "bridge" in entry and not bridge:
            continue
        path = root / "sys" / entry
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("0\n")
    return root


def test_has_filesystem() -> None:
    assert kernel.has_filesystem("nodev\toverlay\n\text4\n", "overlay")
    assert kernel.has_filesystem("nodev\toverlay\n\text4\n", "ext4")
    assert not kernel.has_filesystem("nodev\toverlayfs\n", "overlay")


def test_plan_loads_only_missing_modules(tmp_path: Path) -> None:
    everything = fake_proc(tmp_path / "a", overlay=True, conntrack=True, bridge=True, iptables=True)
    assert kernel.plan(everything).modules == ()
    nothing = fake_proc(tmp_path / "b", overlay=False, conntrack=False, bridge=False, iptables=False)
    assert kernel.plan(nothing).modules == ("overlay", "nf_conntrack", "br_netfilter", "ip_tables")


def test_apply_writes_sysctls_and_warns(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, overlay=True, conntrack=True, bridge=False, iptables=False)
    warnings = kernel.apply(kernel.plan(proc), proc, modprobe_bin=str(tmp_path / "no-modprobe"))
    for entry in kernel.SYSCTLS[:4]:
        assert (proc / "sys" / entry).read_text() == "1"
    assert [w.split(":")[0] for w in warnings] == [
        "cannot load kernel module br_netfilter", "cannot load kernel module ip_tables",
        f"cannot enable {proc}/sys/net/bridge/bridge-nf-call-iptables",
        f"cannot enable {proc}/sys/net/bridge/bridge-nf-call-ip6tables",
    ]


def test_modprobe_missing_and_failing(tmp_path: Path) -> None:
    assert kernel.modprobe("overlay", None) == "cannot load kernel module overlay: modprobe not found"
    failing = tmp_path / "modprobe"
    failing.write_text("#!/bin/sh\necho \"FATAL: Module $1 not found\" >&2\nexit 1\n")
    failing.chmod(0o755)
    assert kernel.modprobe("br_netfilter", str(failing)) == \
        "cannot load kernel module br_netfilter: FATAL: Module br_netfilter not found"
    working = tmp_path / "ok"
    working.write_text("#!/bin/sh\nexit 0\n")
    working.chmod(0o755)
    assert kernel.modprobe("overlay", str(working)) is None


def test_value_already_set_is_not_rewritten(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, overlay=True, conntrack=True, bridge=True, iptables=True)
    target = proc / "sys" / kernel.SYSCTLS[0]
    target.write_text("1\n")
    target.chmod(0o444)
    assert kernel.enable_sysctl(kernel.SYSCTLS[0], proc) is None
    assert target.read_text() == "1\n"
