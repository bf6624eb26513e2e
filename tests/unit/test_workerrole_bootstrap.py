"""Kubelet client bootstrap: the pure parts (CSR shape, issuance, kubeconfigs) and the source order."""

from __future__ import annotations

import base64
import stat

import pytest
import yaml
from cryptography import x509

from k0spy.errors import K0spyError
from k0spy.joinapi.token import make_join_token
from k0spy.paths import Paths
from k0spy.worker import bootstrap as bs

CA = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
TOKEN = "abcdef.0123456789abcdef"


def test_request_is_for_the_node_in_system_nodes() -> None:
    key_pem, request_pem = bs.new_key_and_request("worker-1")
    request = x509.load_pem_x509_csr(request_pem)
    assert request.subject.rfc4514_string() == "CN=system:node:worker-1,O=system:nodes"
    assert b"EC PRIVATE KEY" in key_pem
    obj = bs.csr_object(bs.csr_name(request_pem), request_pem)
    assert obj["spec"]["signerName"] == "kubernetes.io/kube-apiserver-client-kubelet"
    assert obj["spec"]["usages"] == ["digital signature", "client auth"]
    assert base64.b64decode(obj["spec"]["request"]) == request_pem
    assert obj["metadata"]["name"].startswith("node-csr-") and len(obj["metadata"]["name"]) == 52


def test_csr_name_is_stable_per_request() -> None:
    assert bs.csr_name(b"a") == bs.csr_name(b"a") != bs.csr_name(b"b")


def test_issued_certificate_pending_signed_denied() -> None:
    assert bs.issued_certificate({"status": {}}) is None
    assert bs.issued_certificate({"status": {"certificate": base64.b64encode(b"PEM").decode()}}) == b"PEM"
    denied = {"metadata": {"name": "x"}, "status": {"conditions": [
        {"type": "Denied", "status": "True", "reason": "Nope", "message": "policy"}]}}
    with pytest.raises(K0spyError, match="x was denied: Nope: policy"):
        bs.issued_certificate(denied)


def test_approval_adds_an_approved_condition() -> None:
    approved = bs.approval({"metadata": {"name": "x"}, "status": {"conditions": []}})
    assert [c["type"] for c in approved["status"]["conditions"]] == ["Approved"]


def test_kubelet_kubeconfig_references_the_pem_and_direct_rewrites_the_server(paths: Paths) -> None:
    pem = paths.kubelet_cert_dir / bs.CLIENT_PEM
    doc = yaml.safe_load(bs.kubelet_kubeconfig("https://10.0.0.1:6443", CA, pem))
    assert doc["clusters"][0]["cluster"] == {"server": "https://10.0.0.1:6443",
                                            "certificate-authority-data": base64.b64encode(CA).decode()}
    assert doc["users"][0]["user"] == {"client-certificate": str(pem), "client-key": str(pem)}
    direct = yaml.safe_load(bs.with_server(yaml.safe_dump(doc), "https://127.0.0.1:6443"))
    assert direct["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert direct["users"] == doc["users"]


def test_write_client_config_is_owner_only(paths: Paths) -> None:
    bs.write_client_config(paths, "https://h:6443", CA, b"CERT\n", b"KEY\n")
    pem = paths.kubelet_cert_dir / bs.CLIENT_PEM
    assert pem.read_bytes() == b"CERT\nKEY\n"
    for path in (pem, paths.kubelet_kubeconfig):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_retry_delay_grows_and_is_capped() -> None:
    delays = [bs.retry_delay(n) for n in range(8)]
    assert delays[:3] == [1.0, 2.0, 4.0] and max(delays) == bs.RETRY_MAX_DELAY


class TestSourceOrder:
    def test_kubelet_conf_wins_and_the_token_is_not_even_read(self, paths: Paths) -> None:
        paths.data_dir.mkdir(parents=True)
        paths.kubelet_kubeconfig.write_text("x")

        def never() -> str:
            raise AssertionError("token read")

        assert bs.resolve_source(paths, never) is None

    def test_bootstrap_kubeconfig_before_the_token(self, paths: Paths) -> None:
        paths.data_dir.mkdir(parents=True)
        paths.kubelet_bootstrap_kubeconfig.write_text(yaml.safe_dump({
            "clusters": [{"name": "c", "cluster": {"server": "https://b:6443"}}],
            "contexts": [{"name": "k", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "k", "users": [{"name": "u", "user": {"token": TOKEN}}]}))
        source = bs.resolve_source(paths, lambda: "ignored")
        assert source is not None and source.kind == "kubelet-bootstrap.conf"
        assert source.creds.server == "https://b:6443" and source.creds.token == TOKEN

    def test_join_token_is_decoded_in_memory(self, paths: Paths) -> None:
        token = make_join_token("https://10.0.0.1:6443", CA, "worker", TOKEN)
        source = bs.resolve_source(paths, lambda: token)
        assert source is not None and source.kind == "join token" and not source.approve
        assert (source.creds.server, source.creds.token, source.creds.ca_pem) == ("https://10.0.0.1:6443",
                                                                                  TOKEN, CA)
        assert not paths.data_dir.exists()

    def test_controller_token_is_refused(self, paths: Paths) -> None:
        token = make_join_token("https://10.0.0.1:9443", CA, "controller", TOKEN)
        with pytest.raises(K0spyError, match="wrong token type controller-bootstrap"):
            bs.resolve_source(paths, lambda: token)

    def test_nothing_is_an_error_naming_the_files(self, paths: Paths) -> None:
        with pytest.raises(K0spyError, match="no join token given") as err:
            bs.resolve_source(paths, lambda: None)
        assert "kubelet-bootstrap.conf" in err.value.message


async def test_unreachable_and_server_errors_are_retried_client_errors_are_not(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from k0spy.kube.client import KubeApiError

    monkeypatch.setattr(bs, "retry_delay", lambda attempt: 0.0)
    calls: list[int] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise KubeApiError("cannot reach", status=0 if len(calls) == 1 else 503)
        return "ok"

    assert await bs.with_retries("x", flaky) == "ok" and len(calls) == 3

    async def forbidden() -> str:
        calls.append(1)
        raise KubeApiError("forbidden", status=403)

    calls.clear()
    with pytest.raises(KubeApiError, match="forbidden"):
        await bs.with_retries("x", forbidden)
    assert len(calls) == 1

    async def down() -> str:
        calls.append(1)
        raise KubeApiError("down", status=0)

    calls.clear()
    with pytest.raises(KubeApiError, match="down"):
        await bs.with_retries("x", down)
    assert len(calls) == bs.RETRY_ATTEMPTS
