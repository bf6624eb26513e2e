"""konnectivity-server double: validates its options and certificates, reads --kubeconfig, creates the
--uds-name socket the API server's egress selector dials, serves /healthz and /readyz on
--health-bind-address:--health-port (readyz fails until an agent connects, as the real proxy-server's
does), /metrics on the admin port, and accepts agents over TLS (--cluster-cert/--cluster-key) on
--agent-port.  It proxies nothing."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from .flagparse import ParsedArgs
from .klog import Klog
from .runner import Component, app_runner, start_site
from .runner import main as run_main
from .tlsfiles import (
    StartupError,
    check_cipher_suites,
    load_ca_bundle,
    load_kubeconfig,
    load_pair,
    server_context,
)

STRATEGIES = {"destHost", "defaultRoute", "default"}


@dataclass
class Prepared:
    args: ParsedArgs
    agents: set[asyncio.StreamWriter] = field(default_factory=set)


def _validate(args: ParsedArgs) -> None:
    mode = args.get("mode", "grpc")
    if mode not in ("grpc", "http-connect"):
        raise StartupError(f'mode must be set to either "grpc" or "http-connect" not "{mode}"')
    for strategy in args.list("proxy-strategies"):
        if strategy not in STRATEGIES:
            raise StartupError(f"invalid proxy strategies: unknown proxy strategy: {strategy}")
    if args.get("uds-name") and args.int("server-port", 8090) != 0:
        raise StartupError(
            f"server port should be set to 0 when UDS name is set, got {args.int('server-port')}"
        )
    for port_flag, default in (("agent-port", 8091), ("admin-port", 8095), ("health-port", 8092)):
        port = args.int(port_flag, default)
        if not 1 <= port <= 65535:
            raise StartupError(f"please do not try to use reserved port {port} for the {port_flag}")
    check_cipher_suites(args.list("cipher-suites"))
    if args.int("server-count", 1) < 1:
        raise StartupError("server count should be at least 1")


def prepare(args: ParsedArgs, log: Klog) -> Prepared:
    _validate(args)
    for cert, key in (("cluster-cert", "cluster-key"), ("server-cert", "server-key")):
        if args.get(cert) or args.get(key):
            if not (args.get(cert) and args.get(key)):
                raise StartupError(f"--{cert} and --{key} must be given together")
            load_pair(args.get(cert), args.get(key))
    for ca in ("cluster-ca-cert", "server-ca-cert"):
        if args.get(ca):
            load_ca_bundle(args.get(ca))
    if args.get("kubeconfig"):
        load_kubeconfig(args.get("kubeconfig"))
    log.info(
        "Starting konnectivity-server",
        serverID=args.get("server-id"),
        serverCount=args.int("server-count", 1),
    )
    return Prepared(args)


async def _open_uds(path: str, delete_existing: bool) -> asyncio.AbstractServer:
    sock = Path(path)
    if sock.exists() and delete_existing:
        sock.unlink()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while await reader.read(65536):
                pass
        writer.close()

    try:
        server = await asyncio.start_unix_server(hold, path=path)
    except OSError as err:
        reason = "bind: address already in use" if err.errno == 98 else (err.strerror or str(err)).lower()
        raise StartupError(
            f"failed to run the frontend server: failed to listen(unix) name {path}: listen unix "
            f"{path}: {reason}"
        ) from None
    os.chmod(path, 0o660)
    return server


def _health_app(prep: Prepared) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(request: web.Request) -> web.Response:
        if prep.agents:
            return web.Response(text="ok")
        return web.Response(status=500, text="no connection to any proxy agent\n")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


def _admin_app(prep: Prepared) -> web.Application:
    async def metrics(request: web.Request) -> web.Response:
        return web.Response(
            text=f"# TYPE konnectivity_network_proxy_server_ready_backend_connections gauge\n"
            f"konnectivity_network_proxy_server_ready_backend_connections {len(prep.agents)}\n"
        )

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    return app


async def serve(prep: Prepared, stop: asyncio.Event, log: Klog) -> None:
    args = prep.args
    servers: list[asyncio.AbstractServer] = []
    runners: list[web.AppRunner] = []
    try:
        if args.get("uds-name"):
            servers.append(await _open_uds(args.get("uds-name"), args.bool("delete-existing-uds-file")))
            log.info("Starting frontend server for client connections", uds=args.get("uds-name"))
        if args.get("cluster-cert"):
            servers.append(await _agent_server(prep, log))
        for app, host, port in (
            (_health_app(prep), args.get("health-bind-address", ""), args.int("health-port", 8092)),
            (_admin_app(prep), args.get("admin-bind-address", "127.0.0.1"), args.int("admin-port", 8095)),
        ):
            runner = await app_runner(app)
            runners.append(runner)
            await start_site(runner, host, port)
        log.info("Starting health server for healthchecks", port=args.int("health-port", 8092))
        await stop.wait()
    finally:
        for server in servers:
            server.close()
        for writer in list(prep.agents):
            writer.close()
        for runner in runners:
            await runner.cleanup()
        if args.get("uds-name"):
            with contextlib.suppress(FileNotFoundError):
                Path(args.get("uds-name")).unlink()


async def _agent_server(prep: Prepared, log: Klog) -> asyncio.AbstractServer:
    args = prep.args
    ctx = server_context(
        args.get("cluster-cert"),
        args.get("cluster-key"),
        args.get("cluster-ca-cert") or None,
        args.get("tls-min-version", "VersionTLS12"),
        args.list("cipher-suites"),
    )

    async def agent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        prep.agents.add(writer)
        log.info("Agent connected", peer=str(writer.get_extra_info("peername")))
        try:
            with contextlib.suppress(Exception):
                while await reader.read(65536):
                    pass
        finally:
            prep.agents.discard(writer)
            writer.close()

    host, port = args.get("agent-bind-address", ""), args.int("agent-port", 8091)
    try:
        return await asyncio.start_server(agent, host or None, port, ssl=ctx)
    except OSError as err:
        raise StartupError(
            f"failed to run the agent server: failed to listen on {host}:{port}: "
            f"{(err.strerror or str(err)).lower()}"
        ) from None


COMPONENT = Component("konnectivity-server", "server", prepare, serve, version_text="")


def main(argv: list[str] | None = None) -> int:
    return run_main(COMPONENT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
