"""Health checks (/livez, /readyz, /healthz), discovery and the openapi documents kubectl reads."""

from __future__ import annotations

from aiohttp import web

from . import resources as resmod
from .state import ApiState, get_state, json_response


async def _checks(state: ApiState, which: str) -> list[tuple[str, str | None]]:
    """(name, failure reason or None) in the real apiserver's order."""
    out: list[tuple[str, str | None]] = [("ping", None), ("log", None)]
    try:
        await state.store.gw.health()
        etcd_error = None
    except Exception as err:  # any storage failure makes the check fail
        etcd_error = f"etcd client connection failed: {err}"
    out.append(("etcd", etcd_error))
    if which == "readyz":
        out.append(("etcd-readiness", etcd_error))
        out.append(("informer-sync", None))
        out.append(
            (
                "poststarthook/start-system-namespaces-controller",
                None if state.namespaces_ready else "not finished",
            )
        )
        out.append(("shutdown", "process is shutting down" if state.shutting_down else None))
    return out


async def health(request: web.Request) -> web.Response:
    state = get_state(request)
    which = request.path.strip("/").split("/")[0]
    checks = await _checks(state, which)
    name = request.match_info.get("name")
    if name:
        reason = dict(checks).get(name, "missing")
        if name not in dict(checks):
            return web.Response(status=404, text="404 page not found\n")
        return (
            web.Response(text="ok")
            if reason is None
            else web.Response(status=500, text=f"internal server error: {reason}\n")
        )
    excluded = set(request.query.getall("exclude", []))
    failed = any(reason is not None for n, reason in checks if n not in excluded)
    verbose = "verbose" in request.query or failed
    if not verbose:
        return web.Response(text="ok")
    lines = []
    for n, reason in checks:
        if n in excluded:
            lines.append(f"[+]{n} excluded: ok")
        elif reason is None:
            lines.append(f"[+]{n} ok")
        else:
            lines.append(f"[-]{n} failed: reason withheld")
            state.log.info(f"{which} check failed", check=n, err=reason)
    lines.append(f"{which} check {'failed' if failed else 'passed'}")
    return web.Response(status=500 if failed else 200, text="\n".join(lines) + "\n")


async def discovery_core(request: web.Request) -> web.Response:
    return await json_response(resmod.resource_list("", "v1"))


async def discovery_group(request: web.Request) -> web.Response:
    doc = resmod.api_group(request.match_info["group"])
    return await json_response(doc) if doc else page_not_found()


async def discovery_gv(request: web.Request) -> web.Response:
    doc = resmod.resource_list(request.match_info["group"], request.match_info["version"])
    return await json_response(doc) if doc else page_not_found()


def page_not_found() -> web.Response:
    return web.Response(status=404, text="404 page not found\n")


async def openapi_v2(request: web.Request) -> web.Response:
    return page_not_found()


async def openapi_v3(request: web.Request) -> web.Response:
    paths = {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1"}}
    for group, version in resmod.GROUP_VERSIONS:
        if group:
            paths[f"apis/{group}/{version}"] = {"serverRelativeURL": f"/openapi/v3/apis/{group}/{version}"}
    return await json_response({"paths": paths})


async def openapi_v3_doc(request: web.Request) -> web.Response:
    """Per group-version: each kind's schema (GVK-tagged, open) and its write paths accepting
    fieldValidation, which makes kubectl leave validation to the server instead of checking client-side."""
    tail = request.match_info["tail"].split("/")
    group, version = (
        ("", "v1") if tail[:2] == ["api", "v1"] else (tail[1], tail[2]) if len(tail) == 3 else ("", "")
    )
    entries = resmod.GROUP_VERSIONS.get((group, version))
    if entries is None:
        return page_not_found()
    return await json_response(resmod.openapi_v3(group, version, entries))
