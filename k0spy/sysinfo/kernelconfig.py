"""Kernel build options: where the kernel config is found, how it is parsed, and how options are judged.

As in k0s (`internal/pkg/sysinfo/probes/linux/kernel.go`): the first readable file of a fixed list is the
config (gzip when it ends in .gz); only `CONFIG_X=y|m|n` lines count, so `# CONFIG_X is not set` leaves X
"unknown". A required option that is neither built in nor a module is rejected, an asserted one warns;
when no config file exists at all, each top-level option warns "no kernel config found" and its nested
options are not looked at. Options form a tree (NET > NETFILTER > NETFILTER_XTABLES > ...), and nested
options are probed even when their parent is missing.
"""

from __future__ import annotations

import errno
import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from k0spy.sysinfo.model import ProbeResult, Status

_LINE_RE = re.compile(r"^\s*CONFIG_([A-Z0-9_]+)=([ynm])")
_OPTION_NAMES = {"y": "built-in", "m": "module", "n": "left out", "": "unknown"}

KConfigs = dict[str, str]


def config_candidates(release: str, root: Path = Path("/")) -> list[Path]:
    """Where k0s looks for the running kernel's config, in order."""
    relative = [
        "proc/config.gz",
        f"boot/config-{release}",
        f"usr/src/linux-{release}/.config",
        "usr/src/linux/.config",
        f"usr/lib/modules/{release}/config",
        f"usr/lib/ostree-boot/config-{release}",
        f"usr/lib/kernel/config-{release}",
        f"usr/src/linux-headers-{release}/.config",
        f"lib/modules/{release}/build/.config",
    ]
    return [root / item for item in relative]


def parse_kconfig(text: str) -> KConfigs:
    """`CONFIG_X=y|m|n` lines as {"X": "y"|"m"|"n"}; everything else (comments, strings, numbers) ignored."""
    configs: KConfigs = {}
    for line in text.splitlines():
        match = _LINE_RE.match(line)
        if match:
            configs[match.group(1)] = match.group(2)
    return configs


class NoKernelConfig(Exception):
    """None of the candidate files exists."""

    def __init__(self, release: str, checked: list[Path]) -> None:
        self.release = release
        self.checked = checked
        listed = ", ".join(str(p) for p in checked)
        super().__init__(f"no kernel config found for kernel release {release} in {listed}")


def load_kconfig(release: str, root: Path = Path("/")) -> tuple[Path, KConfigs]:
    """The first existing candidate file and its options; raises NoKernelConfig or OSError."""
    candidates = config_candidates(release, root)
    for candidate in candidates:
        try:
            raw = candidate.read_bytes()
        except OSError as err:
            if err.errno in (errno.ENOENT, errno.ENOTDIR):
                continue
            raise
        if candidate.suffix == ".gz":
            raw = gzip.decompress(raw)
        return candidate, parse_kconfig(raw.decode("utf-8", errors="replace"))
    raise NoKernelConfig(release, candidates)


@dataclass
class KConfigSpec:
    """One option to probe, with its human description, whether it is required, and nested options."""

    name: str
    desc: str = ""
    require: bool = True
    alternatives: tuple[str, ...] = ()
    children: list[KConfigSpec] = field(default_factory=list)

    def required(self, name: str, desc: str = "", *alternatives: str) -> KConfigSpec:
        return self._add(KConfigSpec(name, desc, True, alternatives))

    def asserted(self, name: str, desc: str = "", *alternatives: str) -> KConfigSpec:
        return self._add(KConfigSpec(name, desc, False, alternatives))

    def _add(self, child: KConfigSpec) -> KConfigSpec:
        if not re.fullmatch(r"[A-Z0-9_]+", child.name):
            raise ValueError(f"invalid kernel config: {child.name!r}")
        for i, existing in enumerate(self.children):
            if existing.name == child.name:  # k0s replaces the spec but keeps the nested options
                child.children = existing.children
                self.children[i] = child
                return child
        self.children.append(child)
        return child

    @property
    def display_name(self) -> str:
        return f"CONFIG_{self.name}: {self.desc}" if self.desc else f"CONFIG_{self.name}"


KConfigLookup = KConfigs | Exception


def judge(
    spec: KConfigSpec, parent: tuple[str, ...], configs: KConfigLookup
) -> Iterator[ProbeResult]:
    """Results for `spec` and, unless the config could not be read, for its nested options."""
    path = (*parent, spec.name)
    if isinstance(configs, NoKernelConfig):
        yield ProbeResult(path, spec.display_name, Status.WARN, "no kernel config found")
        return
    if isinstance(configs, Exception):
        yield ProbeResult(path, spec.display_name, Status.ERROR, reason=str(configs))
        return
    yield _judge_one(spec, path, configs)
    for child in spec.children:
        yield from judge(child, path, configs)


def _judge_one(spec: KConfigSpec, path: tuple[str, ...], configs: KConfigs) -> ProbeResult:
    option = configs.get(spec.name, "")
    if option in ("y", "m"):
        return ProbeResult(path, spec.display_name, Status.PASS, _OPTION_NAMES[option])
    for alternative in spec.alternatives:
        # k0s (at dff90ce) looks the main option up again here instead of the alternative, so that an
        # alternative never helps; k0spy checks the alternative, which is what the k0s code means to do.
        alt_option = configs.get(alternative, "")
        if alt_option in ("y", "m"):
            value = f"{_OPTION_NAMES[alt_option]} (via CONFIG_{alternative})"
            return ProbeResult(path, spec.display_name, Status.PASS, value)
    reason = ""
    if spec.alternatives:
        reason = "also tried " + ", ".join(f"CONFIG_{a}" for a in spec.alternatives)
    status = Status.FAIL if spec.require else Status.WARN
    return ProbeResult(path, spec.display_name, status, _OPTION_NAMES.get(option, f"??? {option!r}"), reason)
