"""Which kernel options k0s requires or asserts, per role, nested as in the kernel's menuconfig.

The selection and the nesting follow `internal/pkg/sysinfo/host_linux.go`: workers need cgroups,
namespaces, netfilter with a few xtables targets and matches, ext4 and procfs; every role needs NET and
INET; `debug` adds the netfilter, IPVS and bridge options k0s's `sysinfo` command shows as warnings only.
"""

from __future__ import annotations

from k0spy.sysinfo.kernelconfig import KConfigSpec


def kernel_config_tree(*, worker: bool, debug: bool) -> list[KConfigSpec]:
    """The top-level options (they sit under the `os` probe), each with its nested options."""
    root = KConfigSpec("ROOT")
    if worker:
        cgroups = root.required("CGROUPS", "Control Group support")
        sched = cgroups.required("CGROUP_SCHED", "Group CPU scheduler")
        fair = sched.required("FAIR_GROUP_SCHED", "Group scheduling for SCHED_OTHER")
        fair.asserted("CFS_BANDWIDTH", "CPU bandwidth provisioning for FAIR_GROUP_SCHED")
        cgroups.asserted("BLK_CGROUP", "Block IO controller")
        ns = root.required("NAMESPACES", "Namespaces support")
        ns.required("UTS_NS", "UTS namespace")
        ns.required("IPC_NS", "IPC namespace")
        ns.required("PID_NS", "PID namespace")
        ns.required("NET_NS", "Network namespace")

    net = root.required("NET", "Networking support")
    inet = net.required("INET", "TCP/IP networking")
    if not worker:
        return root.children

    netfilter = net.required("NETFILTER", "Network packet filtering framework (Netfilter)")
    netfilter.asserted("NETFILTER_ADVANCED", "Advanced netfilter configuration")
    netfilter.required("NF_CONNTRACK", "Netfilter connection tracking support")
    xtables = netfilter.required("NETFILTER_XTABLES", "Netfilter Xtables support")
    xtables.required("NETFILTER_XT_TARGET_REDIRECT", "REDIRECT target support", "IP_NF_TARGET_REDIRECT")
    xtables.required("NETFILTER_XT_MATCH_COMMENT", '"comment" match support')
    root.required("EXT4_FS", "The Extended 4 (ext4) filesystem")
    root.required("PROC_FS", "/proc file system support")
    if debug:
        _add_debug_options(net, inet, netfilter, xtables)
    return root.children


def _add_debug_options(net: KConfigSpec, inet: KConfigSpec, nf: KConfigSpec, xt: KConfigSpec) -> None:
    """Options k0s found loaded by comparing `lsmod` before and after starting it: shown, never required."""
    inet.asserted("IPV6", "The IPv6 protocol")
    nf.asserted("NETFILTER_NETLINK")
    nf.asserted("NF_NAT")
    xt.asserted("NETFILTER_XT_MARK", "nfmark target and match support")
    xt.asserted("NETFILTER_XT_SET", "set target and match support")
    xt.asserted("NETFILTER_XT_TARGET_MASQUERADE", "MASQUERADE target support",
                "IP_NF_TARGET_MASQUERADE", "IP6_NF_TARGET_MASQUERADE")
    xt.asserted("NETFILTER_XT_NAT", '"SNAT and DNAT" targets support')
    xt.asserted("NETFILTER_XT_MATCH_ADDRTYPE", '"addrtype" address type match support')
    xt.asserted("NETFILTER_XT_MATCH_CONNTRACK", '"conntrack" connection tracking match support')
    xt.asserted("NETFILTER_XT_MATCH_MULTIPORT", '"multiport" Multiple port match support')
    xt.asserted("NETFILTER_XT_MATCH_RECENT", '"recent" match support')
    xt.asserted("NETFILTER_XT_MATCH_STATISTIC", '"statistic" match support')

    ipset = nf.asserted("IP_SET", "IP set support")
    ipset.asserted("IP_SET_HASH_IP", "hash:ip set support")
    ipset.asserted("IP_SET_HASH_NET", "hash:net set support")
    ipvs = nf.asserted("IP_VS", "IP virtual server support")
    ipvs.asserted("IP_VS_NFCT", "Netfilter connection tracking")
    ipvs.asserted("IP_VS_SH", "Source hashing scheduling")
    ipvs.asserted("IP_VS_RR", "Round-robin scheduling")
    ipvs.asserted("IP_VS_WRR", "Weighted round-robin scheduling")

    nf.asserted("NF_CONNTRACK_IPV4", "IPv4 connection tracking support (required for NAT)")
    nf.asserted("NF_REJECT_IPV4", "IPv4 packet rejection")
    nf.asserted("NF_NAT_IPV4", "IPv4 NAT")
    iptables = nf.asserted("IP_NF_IPTABLES", "IP tables support")
    ipfilter = iptables.asserted("IP_NF_FILTER", "Packet filtering")
    ipfilter.asserted("IP_NF_TARGET_REJECT", "REJECT target support")
    iptables.asserted("IP_NF_NAT", "iptables NAT support")
    iptables.asserted("IP_NF_MANGLE", "Packet mangling")
    nf.asserted("NF_DEFRAG_IPV4")

    nf.asserted("NF_CONNTRACK_IPV6", "IPv6 connection tracking support (required for NAT)")
    nf.asserted("NF_NAT_IPV6", "IPv6 NAT")
    ip6tables = nf.asserted("IP6_NF_IPTABLES", "IP6 tables support")
    ip6tables.asserted("IP6_NF_FILTER", "Packet filtering")
    ip6tables.asserted("IP6_NF_MANGLE", "Packet mangling")
    ip6tables.asserted("IP6_NF_NAT", "ip6tables NAT support")
    nf.asserted("NF_DEFRAG_IPV6")

    bridge = net.asserted("BRIDGE", "802.1d Ethernet Bridging")
    bridge.asserted("LLC")
    bridge.asserted("STP")
