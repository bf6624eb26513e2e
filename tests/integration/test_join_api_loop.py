"""`k0spy api` on either event loop (uvloop when importable, asyncio's otherwise): it says which loop it
runs, serves the CA to a controller token, refuses TLS 1.1 and stops cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import base64
import http.client
import json
import signal
import ssl
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from k0spy.runtime import runtime_config_doc
from tests.support.doubles import doubles_bin  # noqa: F401  (fixture)
from tests.support.join import (
    CONTROLLER_USAGE,
    ROOT,
    JoinBed,
    join_bed,  # noqa: F401  (fixture)
    node_config,
    secret_doc,
    wait_listening,
)
from tests.support.net import free_port

TOKEN = "loop01.0123456789abcdef"
# `python -m k0spy` with uvloop made unimportable (a None entry in sys.modules makes `import` fail)
WITHOUT_UVLOOP = "import sys; sys.modules['uvloop'] = None; from k0spy.cli.main import main; main()"
ARGV = {"uvloop": ["-m", "k0spy", "api"], "asyncio": ["-c", WITHOUT_UVLOOP, "api"]}


@pytest.fixture(scope="module")
def bed(join_bed: JoinBed) -> JoinBed:  # noqa: F811
    join_bed.put_secret(secret_doc(TOKEN, usages=CONTROLLER_USAGE))
    return join_bed


class Api:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log

    def events(self, name: str) -> list[dict[str, object]]:
        lines = [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]
        return [doc for doc in lines if doc.get("event") == name]


@pytest.fixture(params=["uvloop", "asyncio"])
def api(request: pytest.FixtureRequest, bed: JoinBed, tmp_path: Path) -> Iterator[Api]:
    port, log = free_port(), tmp_path / "api.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, *ARGV[request.param]], stdin=subprocess.PIPE,
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        assert proc.stdin is not None
        config = runtime_config_doc(bed.paths, node_config(port, bed.etcd.url))
        proc.stdin.write(yaml.safe_dump(config).encode())
        proc.stdin.close()
        wait_listening(port, proc, log)
        yield Api(proc, port, log)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _stop(api: Api, sig: signal.Signals) -> int:
    api.proc.send_signal(sig)
    return api.proc.wait(30)  # generous: the server's own grace is 3 s, the machine may be busy


def test_reports_its_loop_serves_the_ca_and_stops_on_sigterm(request: pytest.FixtureRequest, bed: JoinBed,
                                                               api: Api) -> None:
    loop_name = request.node.callspec.params["api"]
    assert [doc["loop"] for doc in api.events("api.listening")] == [loop_name]
    conn = http.client.HTTPSConnection("127.0.0.1", api.port, context=bed.ca_context(), timeout=10)
    try:
        conn.request("GET", "/v1beta1/ca", headers={"Authorization": f"Bearer {TOKEN}"})
        resp = conn.getresponse()
        body = json.loads(resp.read())
    finally:
        conn.close()
    assert resp.status == 200
    assert base64.b64decode(body["cert"]) == (bed.paths.cert_dir / "ca.crt").read_bytes()
    assert _stop(api, signal.SIGTERM) == 0
    assert api.events("api.stopped")


def test_refuses_tls_1_1_and_stops_on_sigint(bed: JoinBed, api: Api) -> None:
    ctx = bed.ca_context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    conn = http.client.HTTPSConnection("127.0.0.1", api.port, context=ctx, timeout=10)
    with pytest.raises(ssl.SSLError):
        conn.connect()
    conn.close()
    assert _stop(api, signal.SIGINT) == 0
    assert api.events("api.stopped")
