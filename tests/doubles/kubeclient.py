"""A minimal Kubernetes REST client for the doubles (scheduler, controller-manager, kubelet), JSON only.

Credentials come from a kubeconfig (client certificate or bearer token), exactly as the real components
use theirs; `request` returns (status, body) and never raises on HTTP errors, callers decide.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from .tlsfiles import Kubeconfig


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        message = body.get("message", "") if isinstance(body, dict) else str(body)
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.body = body


class KubeClient:
    def __init__(self, config: Kubeconfig, user_agent: str, timeout: float = 10.0) -> None:
        self.config = config
        self._ssl = config.ssl_context()
        headers = {"User-Agent": user_agent, "Accept": "application/json"}
        if config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        self._headers = headers
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _sess(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=self._timeout, connector=aiohttp.TCPConnector(ssl=self._ssl)
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if data is not None else {}
        async with self._sess().request(
            method, self.config.server + path, data=data, headers=headers
        ) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text) if text else None
            except json.JSONDecodeError:
                return resp.status, text

    async def call(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> Any:
        status, payload = await self.request(method, path, body, content_type)
        if status >= 300:
            raise ApiError(status, payload)
        return payload
