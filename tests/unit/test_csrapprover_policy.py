"""Which kubelet serving CSRs the approver accepts, and what it sends: pure, no API."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from k0spy.components.csrapprover import (
    REASON,
    SIGNER,
    access_review,
    approved,
    decided,
    serving_request_problem,
)

KEY = ec.generate_private_key(ec.SECP256R1())
SERVING = ["digital signature", "server auth"]


def request(cn: str = "system:node:n1", orgs: tuple[str, ...] = ("system:nodes",),
            names: list[x509.GeneralName] | None = None) -> str:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    if cn:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attrs))
    if names is None:
        names = [x509.DNSName("n1"), x509.IPAddress(ipaddress.ip_address("10.0.0.5"))]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    pem = builder.sign(KEY, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    return base64.b64encode(pem).decode()


def csr(req: str | None = None, *, usages: list[str] | None = None, user: str = "system:node:n1",
        groups: tuple[str, ...] = ("system:nodes", "system:authenticated"), signer: str = SIGNER,
        conditions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": "csr-x", "resourceVersion": "9"},
            "spec": {"request": req if req is not None else request(), "signerName": signer,
                     "usages": SERVING if usages is None else usages, "username": user,
                     "groups": list(groups), "uid": "u-1", "extra": {"k": ["v"]}},
            "status": {"conditions": conditions} if conditions else {}}


def test_a_node_asking_for_its_own_serving_certificate_passes() -> None:
    assert serving_request_problem(csr()) is None
    rsa_usages = ["key encipherment", "digital signature", "server auth"]
    assert serving_request_problem(csr(usages=rsa_usages)) is None
    assert serving_request_problem(csr(request(names=[x509.DNSName("n1")]))) is None


@pytest.mark.parametrize(("case", "expected"), [
    (csr(signer="kubernetes.io/kube-apiserver-client-kubelet"), "signer is"),
    (csr("bm90IGEgcmVxdWVzdA=="), "not a PEM certificate request"),
    (csr("%%%"), "not a PEM certificate request"),
    (csr(request(orgs=())), "organization is [], not ['system:nodes']"),
    (csr(request(orgs=("system:nodes", "system:masters"))), "organization is"),
    (csr(request(names=[])), "no DNS or IP subject alternative name"),
    (csr(request(names=[x509.DNSName("n1"), x509.RFC822Name("a@b.c")])), "email"),
    (csr(request(names=[x509.DNSName("n1"), x509.UniformResourceIdentifier("spiffe://x")])), "URI"),
    (csr(usages=["digital signature", "server auth", "client auth"]), "usages are"),
    (csr(usages=["server auth"]), "usages are"),
    (csr(request(cn="n1")), "common name 'n1' is not system:node:<node name>"),
    (csr(request(cn="system:node:")), "common name"),
    (csr(request(cn="")), "common name ''"),
    # stricter than k0s: only the node itself may ask for its serving certificate
    (csr(user="system:node:n2"), "requested by 'system:node:n2', not by the node 'system:node:n1'"),
    (csr(user="system:bootstrap:abcdef", groups=("system:bootstrappers",)), "requested by"),
    (csr(groups=("system:authenticated",)), "requested by"),
])
def test_what_is_refused_says_why(case: dict[str, Any], expected: str) -> None:
    problem = serving_request_problem(case)
    assert problem is not None and expected in problem


def test_a_request_of_the_wrong_type_is_refused_not_raised() -> None:
    odd = csr()
    odd["spec"]["request"] = 12345
    assert serving_request_problem(odd) == "spec.request is not a PEM certificate request"


def test_decided_reads_approved_and_denied_conditions() -> None:
    assert not decided(csr())
    assert decided(csr(conditions=[{"type": "Approved", "status": "True"}]))
    assert decided(csr(conditions=[{"type": "Denied", "status": "True"}]))
    assert not decided(csr(conditions=[{"type": "Failed", "status": "True"}]))


def test_access_review_asks_whether_the_requester_may_create_csrs() -> None:
    review = access_review(csr())
    assert review["kind"] == "SubjectAccessReview" and review["apiVersion"] == "authorization.k8s.io/v1"
    assert review["spec"] == {
        "user": "system:node:n1", "groups": ["system:nodes", "system:authenticated"], "uid": "u-1",
        "extra": {"k": ["v"]},
        "resourceAttributes": {"group": "certificates.k8s.io", "resource": "certificatesigningrequests",
                               "verb": "create"}}


def test_approval_adds_k0s_condition_and_keeps_the_rest() -> None:
    earlier = {"type": "Failed", "status": "True", "reason": "x"}
    original = csr(conditions=[earlier])
    out = approved(original, dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC))
    assert out["metadata"] == original["metadata"] and out["spec"] == original["spec"]
    assert out["status"]["conditions"] == [earlier, {
        "type": "Approved", "status": "True", "reason": REASON,
        "message": "Auto approving kubelet serving certificate after SubjectAccessReview.",
        "lastUpdateTime": "2026-11-23T06:00:00Z", "lastTransitionTime": "2026-11-23T06:00:00Z"}]
    assert original["status"]["conditions"] == [earlier]  # the input is not changed


async def test_an_odd_object_is_logged_and_does_not_break_the_watch(tmp_path: Any) -> None:
    from k0spy.components.csrapprover import CSRApprover
    from k0spy.paths import Paths
    from tests.support.supervisor import captured_events

    with captured_events() as events:
        approver = CSRApprover(Paths.build(tmp_path / "data", run_dir=tmp_path / "run"))
        await approver._consider_safely(None, {"metadata": ["not", "a", "map"], "spec": {}})
    failed = [e for e in events if e["event"] == "csr.consider_failed"]
    assert len(failed) == 1 and failed[0]["error"].startswith("AttributeError")
    assert approver.approved == []
