"""The apiserver double's shared state and response helpers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..klog import Klog
from .auth import Authenticator
from .store import StatusError, Store


@dataclass
class ApiState:
    store: Store
    authn: Authenticator
    log: Klog
    version: dict[str, Any]
    advertise: str
    namespaces_ready: bool = False
    shutting_down: bool = False
    watches: set[asyncio.Task[Any]] = field(default_factory=set)


def status_response(err: StatusError) -> web.Response:
    return web.json_response(err.body(), status=err.code)


async def json_response(doc: Any, status: int = 200) -> web.Response:
    return web.json_response(doc, status=status)


def get_state(request: web.Request) -> ApiState:
    state: ApiState = request.app["state"]
    return state
