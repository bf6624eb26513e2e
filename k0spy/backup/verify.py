"""Check an unpacked archive completely before anything on the node changes.

In order: the config (present as `k0s.yaml`, a v1beta1 ClusterConfig that validates, not external etcd),
every member against the manifest (or a warning when there is none: k0s writes none), the database the
config calls for (etcd snapshot: its sha256 trailer and `snapshot status`; SQLite: `quick_check`), and
that the CA keys match their certificates. `k0spy backup --verify` and `k0spy restore` share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from k0spy.backup.archive import CONFIG_MEMBER, ETCD_SNAPSHOT, KINE_BACKUP, MANIFEST_MEMBER
from k0spy.backup.etcdtool import find_etcd_tool
from k0spy.backup.extract import Extracted, extract
from k0spy.backup.kine import integrity_problem
from k0spy.backup.manifest import Manifest, compare
from k0spy.backup.storage import StoragePlan, storage_plan
from k0spy.errors import K0spyError
from k0spy.paths import Paths

API_VERSION = "k0s.k0sproject.io/v1beta1"
NOTHING_CHANGED = "nothing was changed; use another backup"


@dataclass
class Verified:
    """An archive unpacked in `staging` that passed every check, and what the checks found."""

    staging: Path
    extracted: Extracted
    manifest: Manifest | None
    config_yaml: bytes
    storage: StoragePlan
    facts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _config(staging: Path, extracted: Extracted, label: str, paths: Paths) -> tuple[bytes, Any]:
    from k0spy.config.load import build_cluster_config
    from k0spy.config.yamlsafe import parse_yaml

    if CONFIG_MEMBER not in extracted.files:
        raise K0spyError(f"the archive {label} has no {CONFIG_MEMBER} member",
                         hint=f"restore needs the cluster config as {CONFIG_MEMBER} at the top of the "
                              "archive (k0s names it after the config file it was started with: "
                              "rename and repack); nothing was changed")
    data = (staging / CONFIG_MEMBER).read_bytes()
    raw = parse_yaml(data, f"{label}:{CONFIG_MEMBER}").value or {}
    if not isinstance(raw, dict):
        raise K0spyError(f"{label}:{CONFIG_MEMBER} is not a YAML mapping", hint=NOTHING_CHANGED)
    version, kind = raw.get("apiVersion", API_VERSION), raw.get("kind", "ClusterConfig")
    if version != API_VERSION or kind != "ClusterConfig":
        raise K0spyError(f"{label}:{CONFIG_MEMBER} is {kind} {version}, expected ClusterConfig {API_VERSION}",
                         hint=NOTHING_CHANGED)
    config, _warnings = build_cluster_config(raw, f"{label}:{CONFIG_MEMBER}", data_dir=paths.data_dir)
    return data, config


def _manifest(extracted: Extracted, label: str, result: Verified) -> None:
    if extracted.manifest_bytes is None:
        result.warnings.append(f"the archive has no {MANIFEST_MEMBER} (made by k0s?): its members cannot be "
                               "checksum-verified")
        return
    try:
        manifest = Manifest.from_json(extracted.manifest_bytes)
    except ValueError as err:
        raise K0spyError(f"the archive {label} has an unreadable {MANIFEST_MEMBER}: {err}",
                         hint=NOTHING_CHANGED) from err
    problems = compare(manifest, extracted.files)
    if problems:
        raise K0spyError(f"the archive {label} does not match its manifest:\n  " + "\n  ".join(problems),
                         hint=NOTHING_CHANGED)
    result.manifest = manifest
    result.facts.append(f"manifest: {len(manifest.members)} members match their sha256 "
                        f"(k0spy {manifest.k0spy_version}, etcd {manifest.etcd_version or '-'})")


def _database(result: Verified, label: str, paths: Paths, open_snapshot: bool) -> None:
    plan, files = result.storage, result.extracted.files
    if plan.kind == "etcd":
        if ETCD_SNAPSHOT not in files:
            raise K0spyError(f"the archive {label} has no {ETCD_SNAPSHOT}, but its config uses etcd storage",
                             hint=NOTHING_CHANGED)
        if result.extracted.snapshot_trailer_ok is False:
            raise K0spyError(f"{ETCD_SNAPSHOT} in {label} fails its sha256 trailer check",
                             hint=NOTHING_CHANGED)
        tool = find_etcd_tool(paths.bin_dir)
        if not open_snapshot:
            result.facts.append(f"{ETCD_SNAPSHOT}: sha256 trailer ok ({files[ETCD_SNAPSHOT].size} bytes)")
            return
        status = tool.status(result.staging / ETCD_SNAPSHOT)
        result.facts.append(f"{ETCD_SNAPSHOT}: opens with {tool.name} (revision {status.get('revision')}, "
                            f"{status.get('totalKey')} keys, {files[ETCD_SNAPSHOT].size} bytes)")
    elif plan.kind == "kine":
        if KINE_BACKUP not in files:
            raise K0spyError(f"the archive {label} has no {KINE_BACKUP}, but its config uses kine "
                             "with SQLite",
                             hint=NOTHING_CHANGED)
        problem = integrity_problem(result.staging / KINE_BACKUP)
        if problem:
            raise K0spyError(f"{KINE_BACKUP} in {label} is not a sound SQLite database: {problem}",
                             hint=NOTHING_CHANGED)
        result.facts.append(f"{KINE_BACKUP}: SQLite quick_check ok ({files[KINE_BACKUP].size} bytes)")
    else:
        result.warnings.append(plan.note)


def _ca_pairs(result: Verified, label: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pairs = [("pki/ca.crt", "pki/ca.key", True), ("pki/etcd/ca.crt", "pki/etcd/ca.key", False)]
    for cert_name, key_name, required in pairs:
        present = cert_name in result.extracted.files and key_name in result.extracted.files
        if not present:
            if required:
                raise K0spyError(f"the archive {label} lacks {cert_name} or {key_name}", hint=NOTHING_CHANGED)
            continue
        try:
            cert = x509.load_pem_x509_certificate((result.staging / cert_name).read_bytes())
            key = serialization.load_pem_private_key((result.staging / key_name).read_bytes(), password=None)
        except ValueError as err:
            raise K0spyError(f"{cert_name} or {key_name} in {label} cannot be read: {err}",
                             hint=NOTHING_CHANGED) from err
        raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if cert.public_key().public_bytes(*raw) != key.public_key().public_bytes(*raw):
            raise K0spyError(f"{key_name} in {label} does not belong to {cert_name}", hint=NOTHING_CHANGED)
        result.facts.append(f"{key_name} matches {cert_name} ({cert.subject.rfc4514_string()})")


def verify_archive(stream: IO[bytes], staging: Path, label: str, paths: Paths,
                   progress: Any = None, *, open_snapshot: bool = True) -> Verified:
    """Unpack into `staging` and run every check; K0spyError on the first failed one.

    `open_snapshot=False` skips `snapshot status` (the sha256 trailer is still checked): restore opens
    the snapshot anyway by restoring it into the staging dir, and a 1 GB database need not be read twice.
    """
    extracted = extract(stream, staging, label, progress)
    config_yaml, config = _config(staging, extracted, label, paths)
    plan = storage_plan(config, paths.data_dir, "restore")
    result = Verified(staging, extracted, None, config_yaml, plan)
    result.facts.append(f"{CONFIG_MEMBER}: ClusterConfig {API_VERSION}, storage {config.spec.storage.type}")
    _manifest(extracted, label, result)
    _database(result, label, paths, open_snapshot)
    _ca_pairs(result, label)
    return result
