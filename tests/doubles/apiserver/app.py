"""The apiserver double's routes and REST: create, get, list, watch, update, patch and delete for the
kinds in resources.py, with /status and CSR /approval; authn in a middleware, authz per request."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web

from . import meta, protobuf, review, tables
from . import patch as patchmod
from . import resources as resmod
from .auth import User, allowed, forbidden
from .defaults import NAMESPACES, SYSTEM_NAMESPACES, default_on_create
from .resources import Resource
from .state import ApiState, get_state, json_response, status_response
from .store import StatusError, bad_request, invalid, now_rfc3339

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_app(state: ApiState) -> web.Application:
    @web.middleware
    async def authn(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
            request["user"] = await state.authn.authenticate(
                ssl_object, request.headers.get("Authorization", "")
            )
            return await handler(request)
        except StatusError as err:
            state.log.v(3, "Request failed", verb=request.method, URI=request.path_qs, code=err.code)
            return status_response(err)

    app = web.Application(middlewares=[authn], client_max_size=8 * 1024 * 1024)
    app["state"] = state
    for check in ("livez", "readyz", "healthz"):
        app.router.add_get(f"/{check}", meta.health)
        app.router.add_get(f"/{check}/{{name:.+}}", meta.health)
    app.router.add_get("/version", lambda r: json_response(state.version))
    app.router.add_get("/api", lambda r: json_response(resmod.api_versions(state.advertise)))
    app.router.add_get("/apis", lambda r: json_response(resmod.api_group_list()))
    app.router.add_get("/openapi/v2", meta.openapi_v2)
    app.router.add_get("/openapi/v3", meta.openapi_v3)
    app.router.add_get("/openapi/v3/{tail:.+}", meta.openapi_v3_doc)
    app.router.add_route("*", "/api/v1", meta.discovery_core)
    app.router.add_route("*", "/api/v1/{tail:.*}", _resource)
    app.router.add_route("*", review.PATH, review.create_review)
    app.router.add_route("*", "/apis/{group}", meta.discovery_group)
    app.router.add_route("*", "/apis/{group}/{version}", meta.discovery_gv)
    app.router.add_route("*", "/apis/{group}/{version}/{tail:.*}", _resource)
    return app


# ---------------------------------------------------------------- REST


@dataclass(frozen=True)
class Target:
    res: Resource
    ns: str
    name: str
    sub: str


def _target(request: web.Request) -> Target:
    group = request.match_info.get("group", "")
    version = request.match_info.get("version", "v1")
    segs = [s for s in request.match_info["tail"].split("/") if s]
    if len(segs) >= 3 and segs[0] == "namespaces":
        res = resmod.find(group, version, segs[2])
        if res is not None and res.namespaced:
            return Target(res, segs[1], segs[3] if len(segs) > 3 else "", segs[4] if len(segs) > 4 else "")
    res = resmod.find(group, version, segs[0]) if segs else None
    if res is None or len(segs) > 3:
        raise StatusError(404, "NotFound", "the server could not find the requested resource")
    return Target(res, "", segs[1] if len(segs) > 1 else "", segs[2] if len(segs) > 2 else "")


def _verb(request: web.Request, t: Target) -> str:
    method = request.method
    if method == "GET":
        if request.query.get("watch") in ("1", "true"):
            return "watch"
        return "get" if t.name else "list"
    if method == "POST" and not t.name:
        return "create"
    return {"PUT": "update", "PATCH": "patch", "DELETE": "delete" if t.name else "deletecollection"}.get(
        method, ""
    )


async def _resource(request: web.Request) -> web.StreamResponse:
    state = get_state(request)
    t = _target(request)
    verb = _verb(request, t)
    if not verb or (t.sub and t.sub not in t.res.subresources):
        raise StatusError(
            405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
        )
    user: User = request["user"]
    if not allowed(user, verb, t.res, t.ns, t.name, t.sub):
        raise forbidden(user, verb, t.res, t.ns, t.name)
    state.log.v(
        3,
        "HTTP",
        verb=request.method,
        URI=request.path_qs,
        userAgent=request.headers.get("User-Agent", ""),
        user=user.name,
    )
    if verb == "watch":
        return await _watch(request, state, t)
    if verb == "list":
        return await _list(request, state, t)
    if verb == "get":
        obj = await state.store.get(t.res, t.ns, t.name)
        if tables.wants_table(request.headers.get("Accept", "")):
            include = request.query.get("includeObject", "Metadata")
            return await json_response(
                tables.table(t.res.name, [obj], include, obj["metadata"]["resourceVersion"])
            )
        return await json_response(obj)
    if verb == "create":
        return await _create(request, state, t, user)
    if verb in ("update", "patch"):
        return await _update(request, state, t, verb)
    if verb == "delete":
        return await _delete(state, t)
    return await _delete_collection(request, state, t)


def _filtered(request: web.Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    labels, fields = request.query.get("labelSelector", ""), request.query.get("fieldSelector", "")
    return [
        o
        for o in items
        if patchmod.label_match(labels, o["metadata"].get("labels") or {}) and patchmod.field_match(fields, o)
    ]


async def _list(request: web.Request, state: ApiState, t: Target) -> web.Response:
    items, revision = await state.store.list(t.res, t.ns)
    if tables.wants_table(request.headers.get("Accept", "")):
        include = request.query.get("includeObject", "Metadata")
        return await json_response(
            tables.table(t.res.name, _filtered(request, items), include, str(revision))
        )
    for item in items:
        item.pop("kind", None)
        item.pop("apiVersion", None)
    return await json_response(
        {
            "kind": f"{t.res.kind}List",
            "apiVersion": t.res.api_version,
            "metadata": {"resourceVersion": str(revision)},
            "items": _filtered(request, items),
        }
    )


async def _watch(request: web.Request, state: ApiState, t: Target) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    timeout = float(request.query.get("timeoutSeconds", "1800"))
    rv = request.query.get("resourceVersion", "")
    ns = t.ns
    selector_name = t.name if t.name and not request.query.get("fieldSelector") else ""
    table_of = t.res.name if tables.wants_table(request.headers.get("Accept", "")) else ""
    include = request.query.get("includeObject", "Metadata")

    async def pump() -> None:
        start = int(rv) if rv not in ("", "0") else 0
        if not start:
            items, start = await state.store.list(t.res, ns)
            for obj in _filtered(request, items):
                await _send(response, "ADDED", obj, table_of, include)
        async for kind, obj in state.store.watch(t.res, ns, start):
            if selector_name and obj["metadata"]["name"] != selector_name:
                continue
            if _filtered(request, [obj]):
                await _send(response, kind, obj, table_of, include)

    task = asyncio.create_task(pump())
    state.watches.add(task)
    try:
        with contextlib.suppress(TimeoutError, ConnectionError, asyncio.CancelledError):
            await asyncio.wait_for(task, timeout)
    finally:
        state.watches.discard(task)
        task.cancel()
    return response


async def _send(
    response: web.StreamResponse,
    kind: str,
    obj: dict[str, Any],
    table_of: str = "",
    include: str = "Metadata",
) -> None:
    """One watch event; as a one-row Table when the client asked for server-side printing."""
    if table_of:
        obj = tables.table(table_of, [obj], include, obj["metadata"].get("resourceVersion", ""))
    await response.write(json.dumps({"type": kind, "object": obj}).encode() + b"\n")


async def _body(request: web.Request) -> Any:
    if "protobuf" in request.content_type:
        try:
            return protobuf.decode(await request.read())
        except (protobuf.ProtobufError, KeyError, UnicodeDecodeError) as err:
            raise StatusError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown "
                f"format - accepted media types include: application/json, application/yaml "
                f"({err})",
            ) from None
    raw = await request.read()
    try:
        if "yaml" in request.content_type:
            return yaml.safe_load(raw)
        return json.loads(raw or b"null")
    except (ValueError, yaml.YAMLError) as err:
        raise bad_request(f"the body of the request was in an unknown format: {err}") from None


def _random_suffix() -> str:
    return "".join(random.choices(string.ascii_lowercase + "2456789", k=5))


async def _create(request: web.Request, state: ApiState, t: Target, user: User) -> web.Response:
    if t.sub:
        raise StatusError(
            405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
        )
    obj = await _body(request)
    _check_type(obj, t.res)
    meta = obj.setdefault("metadata", {})
    if not meta.get("name"):
        if not meta.get("generateName"):
            raise invalid(t.res, "", "metadata.name: Required value: name or generateName is required")
        meta["name"] = meta["generateName"] + _random_suffix()
    if t.res.namespaced:
        if meta.get("namespace", t.ns) != t.ns:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        meta["namespace"] = t.ns
        if NAMESPACES is not None:
            await state.store.get(NAMESPACES, "", t.ns)
    default_on_create(t.res, obj, user)
    if request.query.get("dryRun") == "All":
        meta.setdefault("creationTimestamp", now_rfc3339())
        return await json_response(obj, 201)
    created = await state.store.create(t.res, t.ns, obj)
    state.log.v(2, "Created object", resource=t.res.name, namespace=t.ns, name=meta["name"])
    return await json_response(created, 201)


def _check_type(obj: Any, res: Resource) -> None:
    if not isinstance(obj, dict):
        raise bad_request("the body of the request was in an unknown format")
    if obj.get("kind", res.kind) != res.kind:
        raise bad_request(
            f"the kind in the data ({obj.get('kind')}) does not match the expected kind ({res.kind})"
        )
    if obj.get("apiVersion", res.api_version) != res.api_version:
        raise bad_request(
            f"the API version in the data ({obj.get('apiVersion')}) does not match the expected "
            f"API version ({res.api_version})"
        )
    obj["kind"], obj["apiVersion"] = res.kind, res.api_version


def _apply_patch(request: web.Request, current: dict[str, Any], body: Any) -> dict[str, Any]:
    ctype = request.content_type
    try:
        if ctype == "application/json-patch+json":
            out = patchmod.json_patch(current, body)
        elif ctype == "application/merge-patch+json":
            out = patchmod.merge_patch(current, body)
        elif ctype in ("application/strategic-merge-patch+json", "application/apply-patch+yaml"):
            out = patchmod.strategic_merge_patch(current, body)
        else:
            raise StatusError(
                415, "UnsupportedMediaType", f"the server does not support the media type {ctype!r} for PATCH"
            )
    except (ValueError, KeyError, IndexError, TypeError) as err:
        raise StatusError(
            422, "Invalid", f"the server rejected our request due to an error in our request: {err}"
        ) from None
    if not isinstance(out, dict):
        raise bad_request("patch did not produce an object")
    return out


def _restrict(t: Target, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What an update may change: /status only status, /approval only conditions, main keeps status."""
    if t.sub == "status":
        merged = dict(old)
        merged["status"] = new.get("status", {})
        if t.res.name == "certificatesigningrequests":
            merged["status"]["conditions"] = (old.get("status") or {}).get("conditions", [])
        return merged
    if t.sub == "approval":
        merged = dict(old)
        merged["status"] = dict(old.get("status") or {})
        merged["status"]["conditions"] = (new.get("status") or {}).get("conditions", [])
        return merged
    if resmod.has_status(t.res) and "status" in old:
        new["status"] = old["status"]
    if t.res.name == "certificatesigningrequests":
        new["spec"] = old.get("spec", {})
    return new


async def _update(request: web.Request, state: ApiState, t: Target, verb: str) -> web.Response:
    body = await _body(request)
    expect: str | None = None
    if verb == "update":
        _check_type(body, t.res)
        expect = (body.get("metadata") or {}).get("resourceVersion") or None

    def mutate(current: dict[str, Any]) -> dict[str, Any]:
        proposed = _apply_patch(request, current, body) if verb == "patch" else dict(body)
        if t.res.namespaced:
            proposed.setdefault("metadata", {})["namespace"] = t.ns
        return _restrict(t, current, proposed)

    try:
        updated = await state.store.update(t.res, t.ns, t.name, mutate, expect)
    except StatusError as err:
        if err.code == 404 and request.content_type == "application/apply-patch+yaml":
            return await _create(request, state, Target(t.res, t.ns, "", ""), request["user"])
        raise
    return await json_response(updated)


async def _delete(state: ApiState, t: Target) -> web.Response:
    if t.res.name == "namespaces":
        if t.name in SYSTEM_NAMESPACES:
            raise StatusError(
                403, "Forbidden", f'namespaces "{t.name}" is forbidden: this namespace may not be deleted'
            )
        for res in resmod.RESOURCES:
            if res.namespaced:
                await state.store.delete_all(res, t.name)
        gone = await state.store.delete(t.res, "", t.name)
        gone["metadata"]["deletionTimestamp"] = now_rfc3339()
        gone["status"] = {"phase": "Terminating"}
        return await json_response(gone)
    gone = await state.store.delete(t.res, t.ns, t.name)
    return await json_response(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {
                "name": t.name,
                "group": t.res.group,
                "kind": t.res.name,
                "uid": gone["metadata"].get("uid", ""),
            },
        }
    )


async def _delete_collection(request: web.Request, state: ApiState, t: Target) -> web.Response:
    items, _ = await state.store.list(t.res, t.ns)
    for obj in _filtered(request, items):
        with contextlib.suppress(StatusError):
            await state.store.delete(t.res, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
    return await json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
