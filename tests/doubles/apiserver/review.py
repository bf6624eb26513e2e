"""POST /apis/authorization.k8s.io/v1/subjectaccessreviews: "may this user do this?", answered by the
double's fixed policy (auth.allowed), as the real server answers it with Node+RBAC.

Like the real endpoint: create only, nothing is stored; the caller must itself be allowed to create
subjectaccessreviews; a review names a user or at least one group and exactly one of resourceAttributes and
nonResourceAttributes, else 422; the answer is the review with `status.allowed` (and a reason when it is).
Non-resource paths (/healthz, /version...) are allowed to every authenticated subject, as the double serves
them.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .auth import User, allowed, forbidden
from .resources import Resource
from .state import get_state, json_response
from .store import StatusError, bad_request

REVIEWS = Resource("subjectaccessreviews", "SubjectAccessReview", "authorization.k8s.io", "v1", False)
PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"


def _invalid(why: str) -> StatusError:
    return StatusError(422, "Invalid", f'SubjectAccessReview.authorization.k8s.io "" is invalid: {why}',
                       {"group": REVIEWS.group, "kind": REVIEWS.kind})


def decide(spec: dict[str, Any]) -> tuple[bool, str]:
    """(allowed, reason) for one review spec; raises 422 for a malformed one."""
    attrs, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if (attrs is None) == (non_resource is None):
        raise _invalid("spec.resourceAttributes: Invalid value: \"null\": exactly one of "
                       "nonResourceAttributes or resourceAttributes must be specified")
    user = User(str(spec.get("user") or ""), tuple(str(g) for g in spec.get("groups") or ()))
    if not user.name and not user.groups:
        raise _invalid("spec.user: Invalid value: \"\": at least one of user or group must be specified")
    if non_resource is not None:
        return True, "non-resource paths are open to every subject in the double"
    name = str(attrs.get("resource") or "")
    target = Resource(name, "", str(attrs.get("group") or ""), str(attrs.get("version") or "v1"),
                      bool(attrs.get("namespace")))
    ok = allowed(user, str(attrs.get("verb") or ""), target, str(attrs.get("namespace") or ""),
                 str(attrs.get("name") or ""), str(attrs.get("subresource") or ""))
    return ok, ("allowed by the double's fixed Node+RBAC policy" if ok else "")


async def create_review(request: web.Request) -> web.StreamResponse:
    if request.method != "POST":
        raise StatusError(405, "MethodNotAllowed",
                          "the server does not allow this method on the requested resource")
    caller: User = request["user"]
    if not allowed(caller, "create", REVIEWS, "", "", ""):
        raise forbidden(caller, "create", REVIEWS, "", "")
    try:
        review = await request.json()
    except ValueError:
        raise bad_request("the body of the request was in an unknown format") from None
    if not isinstance(review, dict) or review.get("kind", REVIEWS.kind) != REVIEWS.kind:
        raise bad_request("the body is not a SubjectAccessReview")
    ok, reason = decide(review.get("spec") or {})
    spec = review.get("spec") or {}
    get_state(request).log.v(3, "SubjectAccessReview", user=spec.get("user"), allowed=ok)
    status: dict[str, Any] = {"allowed": ok}
    if reason:
        status["reason"] = reason
    out = {"kind": REVIEWS.kind, "apiVersion": REVIEWS.api_version, "metadata": {"creationTimestamp": None},
           "spec": review.get("spec") or {}, "status": status}
    return await json_response(out, 201)
