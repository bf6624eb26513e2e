"""Pure parts of the controller join: token redaction, peer URLs, member listings, component order."""

from __future__ import annotations

import re
from typing import Any

import pytest

from k0spy.components.controlapi import CONTROL_API, PROMOTER, LearnerPromoter, probe_url, self_command
from k0spy.components.render import ControllerOptions
from k0spy.errors import K0spyError
from k0spy.etcd.members import Member, find_member, members_doc, parse_members, peer_url_of
from k0spy.joinapi.settings import EtcdAccess
from k0spy.paths import Paths
from k0spy.roles.controller import ControllerRequest, with_csr_approver
from k0spy.roles.join import configured_peer_url, join_cluster, redact_token_args, with_join_components
from tests.support.config import load_text


class Named:
    def __init__(self, name: str) -> None:
        self.name = name


def request(paths: Paths, yaml_text: str, **opts: Any) -> ControllerRequest:
    return ControllerRequest(load_text(yaml_text).config, paths, ControllerOptions(**opts))


ETCD = """
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec:
  api: {address: 10.0.0.1, k0sApiPort: 9555}
  storage: {type: etcd, etcd: {peerAddress: 10.0.0.1}}
"""
KINE = """
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec:
  storage: {type: kine}
"""


def names(components: list[Any]) -> list[str]:
    return [component.name for component in components]


def test_positional_token_is_redacted_everywhere_it_appears() -> None:
    assert redact_token_args(["controller", "TOK", "--x", "TOK"], "TOK") == ["controller", "<token>", "--x",
                                                                              "<token>"]
    assert redact_token_args(["controller"], None) == ["controller"]


def test_peer_urls_from_address_url_and_config(paths: Paths) -> None:
    assert peer_url_of("10.0.0.2") == "https://10.0.0.2:2380"
    assert peer_url_of("fd00::2") == "https://[fd00::2]:2380"
    assert peer_url_of("https://10.0.0.2:2390/") == "https://10.0.0.2:2390"
    assert configured_peer_url(request(paths, ETCD).cfg) == "https://10.0.0.1:2380"


def test_member_listing_like_k0s_and_lookup_by_peer_url() -> None:
    members = parse_members([
        {"ID": "11", "name": "a", "peerURLs": ["https://10.0.0.1:2380"]},
        {"ID": "12", "name": "", "peerURLs": ["https://10.0.0.2:2380"], "isLearner": True},
    ])
    assert members[1] == Member("12", "", ("https://10.0.0.2:2380",), True)
    assert members_doc(members) == {"members": {"a": "https://10.0.0.1:2380", "12": "https://10.0.0.2:2380"}}
    assert find_member(members, "https://10.0.0.2:2380").id == "12"
    with pytest.raises(K0spyError, match=re.escape("no etcd member has the peer URL https://10.0.0.3:2380")):
        find_member(members, "https://10.0.0.3:2380")


def test_control_api_follows_the_worker_config_publisher_and_the_promoter_comes_last(paths: Paths) -> None:
    base = [Named(n) for n in ("etcd", "kube-apiserver", "worker-config", "kube-scheduler")]
    out = with_join_components(request(paths, ETCD), list(base))
    assert names(out) == ["etcd", "kube-apiserver", "worker-config", CONTROL_API, "kube-scheduler", PROMOTER]
    control_api = out[3]
    assert control_api.args[-1] == "api" and b"kind: RuntimeConfig" in control_api.stdin


def test_csr_approver_comes_after_the_join_components_unless_disabled(paths: Paths) -> None:
    base = with_join_components(request(paths, ETCD), [Named("etcd"), Named("kube-apiserver")])
    assert names(with_csr_approver(request(paths, ETCD), base)) == [
        "etcd", "kube-apiserver", CONTROL_API, PROMOTER, "csr-approver"]
    off = request(paths, ETCD, disable_components=("csr-approver",))
    assert names(with_csr_approver(off, base)) == ["etcd", "kube-apiserver", CONTROL_API, PROMOTER]


def test_no_control_api_when_disabled_single_or_not_joinable(paths: Paths) -> None:
    base = [Named("kine"), Named("kube-apiserver")]
    assert names(with_join_components(request(paths, KINE), list(base))) == ["kine", "kube-apiserver"]
    disabled = request(paths, ETCD, disable_components=("control-api",))
    assert names(with_join_components(disabled, list(base))) == ["kine", "kube-apiserver", PROMOTER]


def test_self_command_prefers_the_single_file_artifact(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("K0SPY_ARTIFACT", raising=False)
    assert self_command()[1:] == ["-m", "k0spy"]
    artifact = tmp_path / "k0spy"
    artifact.write_text("#!/bin/sh\n")
    artifact.chmod(0o755)
    monkeypatch.setenv("K0SPY_ARTIFACT", str(artifact))
    assert self_command() == [str(artifact)]


def test_probe_targets_the_bind_address_or_loopback(paths: Paths) -> None:
    assert probe_url(request(paths, ETCD).cfg) == "https://127.0.0.1:9555/v1beta1/ca"


async def test_a_joined_controller_never_reads_its_token(paths: Paths) -> None:
    paths.etcd_joined_marker.parent.mkdir(parents=True)
    paths.etcd_joined_marker.write_bytes(b"db")
    req = request(paths, ETCD)

    def reader() -> str | None:
        raise AssertionError("the token was read")

    assert await join_cluster(req, reader) is req


async def test_first_controller_without_token_starts_a_new_cluster(paths: Paths) -> None:
    req = request(paths, ETCD)
    assert await join_cluster(req, lambda: None) is req


async def test_promoter_records_promotions_and_survives_etcd_errors(paths: Paths) -> None:
    access = EtcdAccess("https://127.0.0.1:1", paths.cert_dir / "ca.crt", paths.cert_dir / "c.crt",
                        paths.cert_dir / "c.key", paths.etcd_cert_dir)
    promoter = LearnerPromoter(access)
    answers: list[Any] = ["b", None, OSError("etcd restarting")]

    async def promote(session: Any, got: EtcdAccess) -> str | None:
        assert got is access
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    for _ in range(3):
        await promoter._tick(None, promote)
    assert promoter.promoted == ["b"]
