"""The worker's iptables: `DATA/bin/iptables*` pointing at the xtables backend the host already uses.

Why: kubelet (and anything else a worker runs with `DATA/bin` first on PATH) writes iptables rules, and
rules written through iptables-nft and iptables-legacy live in different kernel tables that do not see
each other: a node where kube-proxy or the CNI use one backend and kubelet the other ends up with rules
that never meet. k0s therefore stages its own `xtables-nft-multi` and `xtables-legacy-multi` and links
`iptables`, `iptables-save`, `iptables-restore` and their `ip6tables` twins to the backend in use, and so
does k0spy, with the same choice (kubernetes-sigs/iptables-wrappers' rules):

1. `--iptables-mode nft|legacy` when given;
2. the backend whose rules already hold kubelet's marker chains (KUBE-IPTABLES-HINT, KUBE-KUBELET-CANARY),
   nft first;
3. legacy when it holds more rules than nft;
4. (k0spy only) the one backend that can read the rules at all, when the other fails (a kernel without
   nf_tables, or without the legacy ip_tables module): k0s would go on to steps 5 and 6 and may pick the
   broken one;
5. what the host's own `iptables --version` says (`nf_tables` or not);
6. nft on kernel 5 or later, else legacy.

Where the binaries come from: the bundle (a k0s release payload carries them), else `DATA/bin`, else the
host's PATH (Debian's `iptables` package installs both). With none of them the component says so and links
nothing: kubelet then finds whatever iptables the host has, as before. Links are replaced atomically (a new
link renamed over the old one), so there is no moment without an `iptables` in `DATA/bin`.
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from k0spy.errors import K0spyError
from k0spy.log import get_logger
from k0spy.paths import Paths

NAME = "iptables"
MODES = ("nft", "legacy")
MARKERS = ("KUBE-IPTABLES-HINT", "KUBE-KUBELET-CANARY")
LINKS = ("iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore")
SAVE_TIMEOUT = 10.0


@dataclass(frozen=True)
class Scan:
    """What `xtables-<mode>-multi iptables-save` and `ip6tables-save` showed."""

    found: bool = False  # a marker chain
    total: int = 0  # lines, as the wrappers count them
    error: str | None = None  # both saves failed (the backend is unusable here)


def scan_text(outputs: Iterable[str]) -> Scan:
    """Pure: markers and line count over the save outputs that succeeded."""
    found, total = False, 0
    for text in outputs:
        for line in text.splitlines():
            total += 1
            found = found or any(marker in line for marker in MARKERS)
    return Scan(found, total)


def validate_mode(configured: str) -> str:
    """`--iptables-mode`: nft, legacy, or auto (also the empty default); anything else is refused."""
    mode = configured.strip().lower() or "auto"
    if mode not in (*MODES, "auto"):
        raise K0spyError(f"--iptables-mode {configured!r} is not one of nft, legacy, auto")
    return mode


def choose_mode(configured: str, nft: Scan, legacy: Scan, host_version: str | None,
                kernel_major: int) -> tuple[str, str]:
    """(mode, why): the rules of the module docstring, in their order."""
    mode = validate_mode(configured)
    if mode != "auto":
        return mode, "--iptables-mode"
    if nft.error is None and nft.found:
        return "nft", "kubelet's marker chains are in the nft tables"
    if legacy.error is None and legacy.found:
        return "legacy", "kubelet's marker chains are in the legacy tables"
    if nft.error is None and legacy.error is None and legacy.total > nft.total:
        return "legacy", f"more legacy rules than nft rules ({legacy.total} > {nft.total} lines)"
    if (nft.error is None) != (legacy.error is None):  # k0s would still pick the broken one by kernel
        working, broken = ("nft", legacy) if nft.error is None else ("legacy", nft)
        return working, f"the only backend that works here (the other failed: {broken.error})"
    if host_version:
        return ("nft" if "nf_tables" in host_version else "legacy"), f"host iptables: {host_version}"
    if kernel_major >= 5:
        return "nft", f"no rules and no host iptables to go by; kernel {kernel_major}.x defaults to nft"
    return "legacy", f"no rules and no host iptables to go by; kernel {kernel_major}.x defaults to legacy"


def kernel_major(release: str | None = None) -> int:
    head = (release or platform.release()).split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def link_target(binary: Path, bin_dir: Path) -> str:
    """Relative inside DATA/bin (the directory can move with the data dir), absolute to a host binary."""
    return binary.name if binary.parent == bin_dir else str(binary)


def replace_link(link: Path, target: str) -> None:
    """Point `link` at `target` atomically: a fresh symlink renamed over whatever is there."""
    temporary = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    os.replace(temporary, link)


async def _output(argv: list[str]) -> str:
    pipe = asyncio.subprocess.PIPE
    proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL, stdout=pipe,
                                                stderr=pipe)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), SAVE_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise OSError(f"{' '.join(argv)} did not finish within {SAVE_TIMEOUT:g}s") from None
    if proc.returncode != 0:
        why = err.decode(errors="replace").strip()
        raise OSError(f"{' '.join(argv)} exited with {proc.returncode}: {why}")
    return out.decode(errors="replace")


async def scan(binary: Path) -> Scan:
    """Save the IPv4 and IPv6 rules through one backend; an error only when both saves fail."""
    saves = ("iptables-save", "ip6tables-save")
    results = await asyncio.gather(*(_output([str(binary), save]) for save in saves), return_exceptions=True)
    texts = [r for r in results if isinstance(r, str)]
    if not texts:
        return Scan(error="; ".join(str(r) for r in results))
    return scan_text(texts)


async def host_iptables_version(bin_dir: Path) -> str | None:
    """`iptables --version` of the host's own iptables (PATH without DATA/bin), None when there is none."""
    path = os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    search = os.pathsep.join(p for p in path.split(os.pathsep) if p and Path(p) != bin_dir)
    found = shutil.which("iptables", path=search)
    if found is None:
        return None
    try:
        return (await _output([found, "--version"])).strip() or None
    except OSError:
        return None


class IPTablesComponent:
    """Stages the xtables binaries and links `DATA/bin/iptables*` in `init`; nothing runs afterwards."""

    def __init__(self, paths: Paths, *, mode: str = "auto", bundle: Path | str | None = None) -> None:
        self.name = NAME
        self.paths = paths
        self.configured = validate_mode(mode)
        self.bundle = bundle
        self.mode: str | None = None
        self.why = ""
        self.log = get_logger(component=NAME)

    async def init(self) -> None:
        from k0spy.assets.stage import XTABLES_BINARIES, stage_binaries

        try:
            staged = await stage_binaries(self.paths, XTABLES_BINARIES, bundle=self.bundle)
        except K0spyError as err:
            self.why = f"no xtables binaries: {err.message}"
            self.log.warning("iptables.unavailable", reason=err.message,
                             hint="kubelet uses the host's iptables; install iptables (both backends) or use "
                                  "a bundle that carries xtables-nft-multi and xtables-legacy-multi")
            return
        binaries = {mode: staged[f"xtables-{mode}-multi"].path for mode in MODES}
        if self.configured == "auto":
            nft, legacy = await asyncio.gather(scan(binaries["nft"]), scan(binaries["legacy"]))
            host = await host_iptables_version(self.paths.bin_dir)
        else:
            nft, legacy, host = Scan(), Scan(), None
        self.mode, self.why = choose_mode(self.configured, nft, legacy, host, kernel_major())
        target = link_target(binaries[self.mode], self.paths.bin_dir)
        for name in LINKS:
            replace_link(self.paths.bin_dir / name, target)
        self.log.info("iptables.mode", mode=self.mode, why=self.why, target=target,
                      nft_error=nft.error, legacy_error=legacy.error)

    async def start(self) -> None:
        return None

    async def ready(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def details(self) -> dict[str, Any]:
        """Shown in this component's `status components` row."""
        return {"iptablesMode": self.mode, "iptablesWhy": self.why}
