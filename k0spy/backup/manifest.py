"""The manifest k0spy adds to a backup: sha256, size and mode of every file member, and versions.

k0s archives carry no checksums, so a flipped bit in a snapshot is only noticed when the restored
cluster misbehaves. The manifest is the archive's last member (it can only be written once every other
member has been hashed); restore checks every member against it before changing anything. k0s ignores
the extra member when it restores a k0spy archive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

FORMAT = "k0spy-backup/v1"


@dataclass(frozen=True)
class MemberDigest:
    sha256: str
    size: int
    mode: int


@dataclass
class Manifest:
    k0spy_version: str
    storage: str  # "etcd", "kine" or "none"
    etcd_version: str = ""
    created_at: str = ""
    members: dict[str, MemberDigest] = field(default_factory=dict)
    directories: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> bytes:
        doc = {
            "format": FORMAT,
            "k0spyVersion": self.k0spy_version,
            "etcdVersion": self.etcd_version,
            "storage": self.storage,
            "createdAt": self.created_at,
            "members": {name: {"sha256": d.sha256, "size": d.size, "mode": f"{d.mode:04o}"}
                        for name, d in self.members.items()},
            "directories": {name: f"{mode:04o}" for name, mode in self.directories.items()},
        }
        return (json.dumps(doc, indent=1, sort_keys=False) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse a manifest; raises ValueError naming what is wrong."""
        try:
            doc: Any = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"not JSON: {err}") from err
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
            raise ValueError(f"format is {got!r}, expected {FORMAT!r}")
        try:
            members = {str(name): MemberDigest(str(m["sha256"]), int(m["size"]), int(str(m["mode"]), 8))
                       for name, m in doc["members"].items()}
            directories = {str(n): int(str(m), 8) for n, m in doc.get("directories", {}).items()}
            return cls(k0spy_version=str(doc.get("k0spyVersion", "")), storage=str(doc.get("storage", "")),
                       etcd_version=str(doc.get("etcdVersion", "")), created_at=str(doc.get("createdAt", "")),
                       members=members, directories=directories)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(f"malformed member list: {err!r}") from err


def compare(manifest: Manifest, found: dict[str, MemberDigest]) -> list[str]:
    """Every difference between the manifest and the members found, as operator-readable lines."""
    problems: list[str] = []
    for name, want in sorted(manifest.members.items()):
        got = found.get(name)
        if got is None:
            problems.append(f"member {name} is listed in the manifest but missing from the archive")
        elif got.size != want.size:
            problems.append(f"member {name} has {got.size} bytes, the manifest says {want.size}")
        elif got.sha256 != want.sha256:
            problems.append(f"member {name} has sha256 {got.sha256}, the manifest says {want.sha256}")
    for name in sorted(set(found) - set(manifest.members)):
        problems.append(f"member {name} is in the archive but not in the manifest")
    return problems
