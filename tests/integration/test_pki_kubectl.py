"""Real kubectl with admin.conf against a TLS server on server.crt that demands a client cert from ca.crt."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from k0spy.paths import Paths
from k0spy.pki.kubeconfig import render_kubeconfig
from tests.support.net import free_port
from tests.support.pki import make_pki, settings

SEEN = web.AppKey("seen", list)


@dataclass(frozen=True)
class Server:
    port: int
    seen: list[str]


async def version(request: web.Request) -> web.Response:
    peer = request.transport.get_extra_info("peercert") if request.transport else None
    subject = dict(item[0] for item in peer["subject"]) if peer else {}
    request.app[SEEN].append(subject.get("commonName", ""))
    return web.json_response({"major": "1", "minor": "37", "gitVersion": "v1.37.0-k0spy-test",
                              "platform": "linux/amd64", "client": subject.get("commonName")})


async def serve(paths: Paths, hosts: list[str], port: int) -> tuple[web.AppRunner, list[str]]:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(paths.cert_dir / "ca.crt"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_cert_chain(paths.cert_dir / "server.crt", paths.cert_dir / "server.key")
    app = web.Application()
    app[SEEN] = []
    app.router.add_get("/version", version)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    for host in hosts:
        await web.TCPSite(runner, host, port, ssl_context=ctx).start()
    return runner, app[SEEN]


async def kubectl(kubeconfig: Path, home: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        "kubectl", "--kubeconfig", str(kubeconfig), "--request-timeout", "10s", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
async def api(paths: Paths, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Server]:
    port = free_port()
    make_pki(paths, settings(api_port=port, only_bind_to_address=request.param == "address"))
    runner, seen = await serve(paths, ["127.0.0.1", "127.0.0.2"], port)
    try:
        yield Server(port, seen)
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("api", ["localhost", "address"], indirect=True)
async def test_kubectl_with_admin_conf(api: Server, paths: Paths, tmp_path: Path,
                                       request: pytest.FixtureRequest) -> None:
    conf = (paths.cert_dir / "admin.conf").read_text()
    host = {"localhost": "localhost", "address": "127.0.0.1"}[request.node.callspec.params["api"]]
    assert f"server: https://{host}:{api.port}\n" in conf
    code, out, err = await kubectl(paths.cert_dir / "admin.conf", tmp_path, "get", "--raw", "/version")
    assert code == 0, err
    assert json.loads(out)["client"] == "kubernetes-admin"
    assert "kubernetes-admin" in api.seen


@pytest.mark.parametrize("api", ["localhost"], indirect=True)
async def test_host_outside_the_san_list_fails_the_hostname_check(api: Server, paths: Paths,
                                                                   tmp_path: Path) -> None:
    pki = paths.cert_dir
    other = tmp_path / "other.conf"
    other.write_text(render_kubeconfig(f"https://127.0.0.2:{api.port}", (pki / "ca.crt").read_bytes(),
                                       (pki / "admin.crt").read_bytes(), (pki / "admin.key").read_bytes()))
    code, _out, err = await kubectl(other, tmp_path, "get", "--raw", "/version")
    assert code != 0 and "127.0.0.2" in err and "certificate" in err, err


@pytest.mark.parametrize("api", ["localhost"], indirect=True)
async def test_client_cert_from_another_ca_is_refused(api: Server, paths: Paths, tmp_path: Path) -> None:
    pki = paths.cert_dir
    wrong = tmp_path / "wrong.conf"
    wrong.write_text(render_kubeconfig(f"https://localhost:{api.port}", (pki / "ca.crt").read_bytes(),
                                       (pki / "apiserver-etcd-client.crt").read_bytes(),
                                       (pki / "apiserver-etcd-client.key").read_bytes()))
    code, _out, err = await kubectl(wrong, tmp_path, "get", "--raw", "/version")
    assert code != 0 and api.seen == [], err
