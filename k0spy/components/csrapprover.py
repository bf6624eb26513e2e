"""The CSR approver: approves the kubelets' serving-certificate requests, as k0s's CSRApprover does.

k0s renders kubelet with `serverTLSBootstrap: true`, so a kubelet has no certificate for its own port
(10250: `kubectl logs`, `exec`, `port-forward`, metrics) until a CSR for the signer
`kubernetes.io/kubelet-serving` is approved; kube-controller-manager signs it then, but never approves
it. Without this component a real kubelet's serving CSR stays Pending and `kubectl logs` fails.

What is approved, and how k0spy differs from k0s:
* A request passes the checks kube-apiserver itself applies to kubelet serving requests: organization
  exactly `system:nodes`, common name `system:node:<name>`, at least one DNS or IP name and no email or
  URI names, usages exactly {digital signature, server auth} with or without key encipherment.
* Stricter than k0s: the request must come from the node it names (the requesting user is the CN, in
  the group `system:nodes`). k0s approves any requester allowed to create CSRs, so a bootstrap token
  could obtain a serving certificate for another node's name.
* As k0s: a SubjectAccessReview confirms the requester may still create CSRs; the condition's reason is
  k0s's `Autoapproved by K0s CSRApprover`, so tooling that looks for it keeps working.
* Event-driven rather than k0s's 10 s poll (approving one CSR per tick): a LIST, then a WATCH on the
  signer, so a kubelet gets its certificate within a round trip. Every pending request of a LIST is
  handled, and every relist (at least every 2 minutes) retries what failed for a transient reason.
* k0s runs it on the elected leader only; k0spy has no leader election, so every controller runs it.
  Two controllers approving the same request conflict harmlessly: the loser's update gets 409, and the
  watch then shows the request approved.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from k0spy.components.base import TaskComponent
from k0spy.kube.csr import with_approval
from k0spy.kube.informer import RELIST_BACKOFF, WATCH_SECONDS, list_and_watch
from k0spy.log import get_logger
from k0spy.paths import Paths
from k0spy.supervisor.backoff import BackoffPolicy

if TYPE_CHECKING:
    from k0spy.kube.client import KubeClient

NAME = "csr-approver"
SIGNER = "kubernetes.io/kubelet-serving"
CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
NODE_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"
REASON = "Autoapproved by K0s CSRApprover"
MESSAGE = "Auto approving kubelet serving certificate after SubjectAccessReview."
SERVING_USAGES = (frozenset({"key encipherment", "digital signature", "server auth"}),
                  frozenset({"digital signature", "server auth"}))

Doc = dict[str, Any]


# --- pure ------------------------------------------------------------------------------------------------
def decided(csr: Doc) -> bool:
    """Approved or denied already: nothing left to do."""
    conditions = (csr.get("status") or {}).get("conditions") or []
    return any(c.get("type") in ("Approved", "Denied") for c in conditions)


def serving_request_problem(csr: Doc) -> str | None:
    """Why this CSR is not a kubelet serving request from the node it names; None when it is one."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    spec = csr.get("spec") or {}
    if spec.get("signerName") != SIGNER:
        return f"signer is {spec.get('signerName')!r}, not {SIGNER}"
    try:
        request = x509.load_pem_x509_csr(base64.b64decode(spec.get("request") or "", validate=True))
    except (ValueError, TypeError, binascii.Error):
        return "spec.request is not a PEM certificate request"
    orgs = [str(a.value) for a in request.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    if orgs != [NODES_GROUP]:
        return f"organization is {orgs}, not ['{NODES_GROUP}']"
    try:
        names = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "no DNS or IP subject alternative name"
    if not names.get_values_for_type(x509.DNSName) and not names.get_values_for_type(x509.IPAddress):
        return "no DNS or IP subject alternative name"
    if names.get_values_for_type(x509.RFC822Name):
        return "email subject alternative names are not allowed"
    if names.get_values_for_type(x509.UniformResourceIdentifier):
        return "URI subject alternative names are not allowed"
    usages = frozenset(spec.get("usages") or [])
    if usages not in SERVING_USAGES:
        return (f"usages are {sorted(usages)}, not digital signature and server auth "
                "(and key encipherment for an RSA key)")
    cns = [str(a.value) for a in request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    cn = cns[0] if len(cns) == 1 else ""
    if not cn.startswith(NODE_PREFIX) or cn == NODE_PREFIX:
        return f"common name {cn!r} is not {NODE_PREFIX}<node name>"
    if spec.get("username") != cn or NODES_GROUP not in (spec.get("groups") or []):
        return f"requested by {spec.get('username')!r}, not by the node {cn!r} it names"
    return None


def access_review(csr: Doc) -> Doc:
    """The SubjectAccessReview k0s runs: may the requester (still) create CSRs?"""
    spec = csr.get("spec") or {}
    attributes = {"group": "certificates.k8s.io", "resource": "certificatesigningrequests", "verb": "create"}
    review: Doc = {"user": spec.get("username", ""), "groups": list(spec.get("groups") or []),
                   "resourceAttributes": attributes}
    if spec.get("uid"):
        review["uid"] = spec["uid"]
    if spec.get("extra"):
        review["extra"] = spec["extra"]
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": review}


def approved(csr: Doc, now: dt.datetime) -> Doc:
    """The CSR with k0s's Approved condition added (the body for the `/approval` subresource)."""
    return with_approval(csr, reason=REASON, message=MESSAGE, now=now)


# --- mechanism -------------------------------------------------------------------------------------------
class CSRApprover(TaskComponent):
    """Watches kubelet serving CSRs with admin.conf and approves the valid ones; see the module doc."""

    def __init__(self, paths: Paths, *, backoff: BackoffPolicy = RELIST_BACKOFF,
                 watch_seconds: int = WATCH_SECONDS) -> None:
        self.name = NAME
        self.paths = paths
        self.backoff = backoff
        self.watch_seconds = watch_seconds
        self.approved: list[str] = []
        self._refused: set[str] = set()  # logged once, not at every relist
        self._broken = False
        self.log = get_logger(component=NAME)

    async def run(self) -> None:
        async with _AdminSource(self.paths) as kube:
            async def listed(items: list[Doc], _version: str) -> None:
                if self._broken:
                    self._broken = False
                    self.log.info("csr.watch_restored")
                for csr in items:
                    await self._consider_safely(kube, csr)

            async def changed(kind: str, csr: Doc) -> None:
                if kind in ("ADDED", "MODIFIED"):
                    await self._consider_safely(kube, csr)

            async def ended(error: Exception | None) -> None:
                if error is not None:  # said once; an API server that stays away is retried quietly
                    say = self.log.debug if self._broken else self.log.warning
                    say("csr.watch_broken", error=str(error))
                    self._broken = True

            await list_and_watch(kube, CSRS, field_selector=f"spec.signerName={SIGNER}",
                                 what="kubelet serving certificate requests", on_list=listed,
                                 on_event=changed, on_end=ended, backoff=self.backoff,
                                 watch_seconds=self.watch_seconds)

    async def _consider_safely(self, kube: Any, csr: Doc) -> None:
        """One odd request must not break the watch (and, relisted, break it again forever)."""
        try:
            await self.consider(kube, csr)
        except Exception as err:
            meta = csr.get("metadata") if isinstance(csr, dict) else None
            name = meta.get("name") if isinstance(meta, dict) else None
            self.log.error("csr.consider_failed", csr=name, error=f"{type(err).__name__}: {err}")

    async def consider(self, kube: Any, csr: Doc) -> None:
        """Approve one request if it is pending, valid and its requester passes the access review."""
        from k0spy.kube.client import KubeApiError

        name = str((csr.get("metadata") or {}).get("name") or "")
        if not name or decided(csr) or (csr.get("spec") or {}).get("signerName") != SIGNER:
            return
        problem = serving_request_problem(csr)
        if problem is not None:
            if name not in self._refused:
                self._refused.add(name)
                self.log.warning("csr.not_approved", csr=name, reason=problem)
            return
        try:
            if not await self._requester_allowed(kube, csr):
                if name not in self._refused:
                    self._refused.add(name)
                    self.log.warning("csr.not_approved", csr=name,
                                     reason="the requester may not create certificate signing requests")
                return
            status, body = await kube.request("PUT", f"{CSRS}/{name}/approval",
                                              body=approved(csr, dt.datetime.now(dt.UTC)),
                                              what=f"approving {name}")
        except KubeApiError as err:  # API restarting: the next relist tries again
            self.log.warning("csr.approval_failed", csr=name, error=str(err))
            return
        if status == 409:  # changed meanwhile (another controller approved it): the watch shows what
            self.log.debug("csr.approval_conflict", csr=name)
            return
        if status != 200:
            self.log.warning("csr.approval_failed", csr=name, status=status,
                             error=(body or {}).get("message") if isinstance(body, dict) else body)
            return
        self.approved.append(name)
        self.log.info("csr.approved", csr=name, node=csr["spec"]["username"][len(NODE_PREFIX):])

    async def _requester_allowed(self, kube: Any, csr: Doc) -> bool:
        review = await kube.create(REVIEWS, access_review(csr), what="reviewing the requester's access")
        return bool((review.get("status") or {}).get("allowed"))


class _AdminSource:
    """A KubeClient on admin.conf, opened afresh at every LIST.

    admin.conf is rewritten whenever its certificate is renewed (at each start, and by the cert-renewer
    while the daemon runs); a client kept for the daemon's lifetime would go on presenting the old
    certificate until it expired. Reopening at each relist (at least every two minutes) follows it.
    """

    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.client: KubeClient | None = None

    async def __aenter__(self) -> _AdminSource:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None

    async def list_versioned(self, path: str, *, field_selector: str = "",
                             what: str = "") -> tuple[list[Doc], str]:
        from k0spy.kube.client import KubeClient, credentials_from_kubeconfig

        await self.__aexit__()
        self.client = await KubeClient(credentials_from_kubeconfig(self.paths.admin_kubeconfig)).__aenter__()
        items, version = await self.client.list_versioned(path, field_selector=field_selector, what=what)
        return items, version

    def _open(self) -> KubeClient:
        if self.client is None:
            raise RuntimeError("used before the first LIST")
        return self.client

    def watch(self, path: str, resource_version: str, *, field_selector: str = "",
              timeout_seconds: int = 300, what: str = "") -> AsyncIterator[tuple[str, Doc]]:
        return self._open().watch(path, resource_version, field_selector=field_selector,
                                  timeout_seconds=timeout_seconds, what=what)

    async def request(self, method: str, path: str, *, body: Any = None, what: str = "") -> tuple[int, Any]:
        return await self._open().request(method, path, body=body, what=what)

    async def create(self, path: str, obj: Doc, *, what: str = "") -> Doc:
        return await self._open().create(path, obj, what=what)
