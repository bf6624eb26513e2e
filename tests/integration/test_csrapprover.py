"""The CSR approver against the kube-apiserver double (real etcd behind it): kubelet serving requests are
approved whether they were there before it started (LIST) or arrive later (WATCH); requests for another
node's name stay pending; the double's SubjectAccessReview answers as the real endpoint does."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from k0spy.components.csrapprover import REASON, REVIEWS, SIGNER, CSRApprover
from k0spy.kube.client import KubeClient, credentials_from_kubeconfig
from k0spy.paths import Paths
from k0spy.supervisor.backoff import BackoffPolicy
from tests.support.doubles import ApiServer, apiserver, doubles_bin, etcd, pki, procs
from tests.support.doubles_pki import DoublesPki, make_leaf
from tests.support.supervisor import captured_events, until

__all__ = ["apiserver", "doubles_bin", "etcd", "pki", "procs"]

CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"


def serving_request(node: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
                         x509.NameAttribute(NameOID.COMMON_NAME, f"system:node:{node}")])
    request = (x509.CertificateSigningRequestBuilder().subject_name(subject)
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(node)]), critical=False)
               .sign(key, hashes.SHA256()))
    return base64.b64encode(request.public_bytes(serialization.Encoding.PEM)).decode()


def csr_object(name: str, node: str) -> dict[str, Any]:
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": name},
            "spec": {"request": serving_request(node), "signerName": SIGNER,
                     "usages": ["digital signature", "server auth"]}}


@contextlib.asynccontextmanager
async def as_node(pki: DoublesPki, server: ApiServer, node: str) -> AsyncIterator[KubeClient]:
    pair = make_leaf(pki.ca, f"system:node:{node}", ("system:nodes",))
    conf = pki.kubeconfig(f"node-{node}-{server.url.rsplit(':', 1)[1]}.conf", server.url, pair)
    async with KubeClient(credentials_from_kubeconfig(Path(conf))) as kube:
        yield kube


@pytest.fixture
def admin_paths(paths: Paths, apiserver: ApiServer) -> Paths:
    paths.admin_kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(apiserver.admin_conf, paths.admin_kubeconfig)
    return paths


def condition(csr: dict[str, Any]) -> dict[str, Any] | None:
    return next(iter((csr.get("status") or {}).get("conditions") or []), None)


async def test_serving_requests_are_approved_by_list_and_by_watch(
    admin_paths: Paths, apiserver: ApiServer, pki: DoublesPki
) -> None:
    async with as_node(pki, apiserver, "n1") as n1:
        await n1.create(CSRS, csr_object("before", "n1"))  # there before the approver: found by the LIST
        with captured_events() as events:
            approver = CSRApprover(admin_paths, backoff=BackoffPolicy(first=0.0, initial=0.05, cap=0.2))
            await approver.start()
            try:
                await approver.ready()
                await until(lambda: "before" in approver.approved, timeout=15, what="LIST approval")
                await n1.create(CSRS, csr_object("after", "n1"))  # arrives on the watch
                await n1.create(CSRS, csr_object("other", "n2"))  # n1 asking for n2's name
                await until(lambda: "after" in approver.approved, timeout=15, what="WATCH approval")
                await until(lambda: any(e.get("csr") == "other" for e in events), what="refusal logged")
            finally:
                await approver.stop()
    async with KubeClient(credentials_from_kubeconfig(admin_paths.admin_kubeconfig)) as admin:
        for name in ("before", "after"):
            csr = await admin.get(f"{CSRS}/{name}")
            assert csr is not None
            cond = condition(csr)
            assert cond is not None and cond["type"] == "Approved" and cond["reason"] == REASON
        other = await admin.get(f"{CSRS}/other")
        assert other is not None and condition(other) is None  # still pending
    refusal = next(e for e in events if e.get("csr") == "other")
    assert refusal["event"] == "csr.not_approved"
    assert "requested by 'system:node:n1', not by the node 'system:node:n2'" in refusal["reason"]
    assert approver.approved.count("before") == 1 and approver.approved.count("after") == 1
    assert approver._task is None  # stopped


async def test_approver_survives_an_api_server_that_is_not_up_yet(paths: Paths, apiserver: ApiServer,
                                                                  pki: DoublesPki) -> None:
    """Started before kube-apiserver answers (a wrong port here): it keeps relisting, stays ready."""
    paths.admin_kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    port = apiserver.url.rsplit(":", 1)[1]
    text = Path(apiserver.admin_conf).read_text().replace(f":{port}", ":1")
    paths.admin_kubeconfig.write_text(text)
    with captured_events() as events:
        approver = CSRApprover(paths, backoff=BackoffPolicy(first=0.0, initial=0.05, cap=0.1))
        await approver.start()
        try:
            await until(lambda: sum(e.get("event") == "csr.watch_broken" for e in events) >= 3,
                        what="relists")
            # said once at warning level, then quietly at each retry
            assert [e["log_level"] for e in events if e.get("event") == "csr.watch_broken"][:2] == [
                "warning", "debug"]
            await approver.ready()  # still running
            paths.admin_kubeconfig.write_text(Path(apiserver.admin_conf).read_text())  # the API is up
            async with as_node(pki, apiserver, "n3") as n3:
                await n3.create(CSRS, csr_object("late", "n3"))
                await until(lambda: "late" in approver.approved, timeout=15, what="approval after relist")
        finally:
            await approver.stop()


async def test_subject_access_review_of_the_double(apiserver: ApiServer, pki: DoublesPki) -> None:
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
              "spec": {"resourceAttributes": {"group": "certificates.k8s.io",
                                              "resource": "certificatesigningrequests", "verb": "create"}}}
    async with KubeClient(credentials_from_kubeconfig(Path(apiserver.admin_conf))) as admin:
        node = {**review, "spec": {**review["spec"], "user": "system:node:n1", "groups": ["system:nodes"]}}
        answer = await admin.create(REVIEWS, node)
        assert answer["status"]["allowed"] is True and answer["spec"]["user"] == "system:node:n1"
        stranger = {**review, "spec": {**review["spec"], "user": "alice", "groups": ["devs"]}}
        assert (await admin.create(REVIEWS, stranger))["status"]["allowed"] is False
        status, body = await admin.request("POST", REVIEWS, body=review)  # neither user nor groups
        assert status == 422 and "at least one of user or group must be specified" in body["message"]
        health = {"path": "/healthz", "verb": "get"}
        both = {**review, "spec": {**node["spec"], "nonResourceAttributes": health}}
        status, body = await admin.request("POST", REVIEWS, body=both)
        assert status == 422
        assert "exactly one of nonResourceAttributes or resourceAttributes" in body["message"]
    async with as_node(pki, apiserver, "n1") as n1:  # a node may not ask what others may do
        status, body = await n1.request("POST", REVIEWS, body=node)
        assert status == 403 and 'cannot create resource "subjectaccessreviews"' in body["message"]
    await asyncio.sleep(0)
