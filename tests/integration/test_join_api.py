"""`k0spy api` against the kube-apiserver double and real etcd 3.4: the CA, learners, abuse, TLS."""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import ssl
import stat
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k0spy.joinapi.client import JoinClient, JoinError, Retry, write_ca_bundle, write_etcd_ca
from k0spy.joinapi.settings import OPENSSL_TLS12_CIPHERS
from k0spy.joinapi.token import make_join_token
from k0spy.paths import Paths
from tests.support.doubles import doubles_bin  # noqa: F401  (fixture)
from tests.support.join import (
    CONTROLLER_USAGE,
    WORKER_USAGE,
    JoinBed,
    b64,
    join_bed,  # noqa: F401  (fixture)
    node_config,
    raw_request,
    secret_doc,
    start_api,
    stop_api,
    wait_listening,
)
from tests.support.net import free_port

CTRL = "ctrl01.0123456789abcdef"
WORKER = "work01.0123456789abcdef"
EXPIRED = "expd01.0123456789abcdef"
FAST = Retry(attempts=3, first_delay=0.05, max_delay=0.1, per_try=5, jitter=False)


@pytest.fixture(scope="module")
def bed(join_bed: JoinBed) -> JoinBed:  # noqa: F811
    join_bed.put_secret(secret_doc(CTRL, usages=CONTROLLER_USAGE))
    join_bed.put_secret(secret_doc(WORKER, usages=WORKER_USAGE))
    join_bed.put_secret(secret_doc(EXPIRED, usages=CONTROLLER_USAGE, expires_in=-60))
    return join_bed


def call(
    bed: JoinBed,
    method: str,
    path: str,
    token: str | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPSConnection("127.0.0.1", bed.api_port, context=bed.ca_context(), timeout=10)
    try:
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def assert_no_ca_material(bed: JoinBed, body: bytes) -> None:
    for name in ("ca.key", "sa.key", "etcd/ca.key"):
        assert b64(bed.paths.cert_dir / name).encode()[:40] not in body
    assert b"PRIVATE KEY" not in body


def test_ca_is_served_to_a_controller_token(bed: JoinBed) -> None:
    status, headers, body = call(bed, "GET", "/v1beta1/ca", CTRL)
    assert status == 200 and headers["content-type"].startswith("application/json")
    doc = json.loads(body)
    d = bed.paths.cert_dir
    assert doc == {
        "key": b64(d / "ca.key"),
        "cert": b64(d / "ca.crt"),
        "saKey": b64(d / "sa.key"),
        "saPub": b64(d / "sa.pub"),
    }


BIG = b"x" * (10 * 1024 * 1024)


@pytest.mark.parametrize(
    ("name", "method", "path", "headers", "body", "expected"),
    [
        ("no header", "GET", "/v1beta1/ca", {}, None, 401),
        ("wrong scheme", "GET", "/v1beta1/ca", {"Authorization": f"Basic {CTRL}"}, None, 401),
        ("lowercase scheme", "GET", "/v1beta1/ca", {"Authorization": f"bearer {CTRL}"}, None, 401),
        ("malformed token", "GET", "/v1beta1/ca", {"Authorization": "Bearer abc.def"}, None, 401),
        ("unknown id", "GET", "/v1beta1/ca", {"Authorization": "Bearer zzzzzz.0123456789abcdef"}, None, 401),
        (
            "wrong secret",
            "GET",
            "/v1beta1/ca",
            {"Authorization": "Bearer ctrl01.0123456789abcdee"},
            None,
            401,
        ),
        ("expired token", "GET", "/v1beta1/ca", {"Authorization": f"Bearer {EXPIRED}"}, None, 401),
        ("worker token", "GET", "/v1beta1/ca", {"Authorization": f"Bearer {WORKER}"}, None, 401),
        (
            "worker token on members",
            "POST",
            "/v1beta1/etcd/members",
            {"Authorization": f"Bearer {WORKER}"},
            b'{"node":"x","peerAddress":"https://127.0.0.9:2380"}',
            401,
        ),
        ("10 MB body, no token", "POST", "/v1beta1/etcd/members", {}, BIG, 401),
        ("10 MB body", "POST", "/v1beta1/etcd/members", {"Authorization": f"Bearer {CTRL}"}, BIG, 413),
        ("invalid JSON", "POST", "/v1beta1/etcd/members", {"Authorization": f"Bearer {CTRL}"}, b"{nope", 400),
        ("JSON list", "POST", "/v1beta1/etcd/members", {"Authorization": f"Bearer {CTRL}"}, b"[]", 400),
        (
            "empty node name",
            "POST",
            "/v1beta1/etcd/members",
            {"Authorization": f"Bearer {CTRL}"},
            b'{"node":"","peerAddress":"https://127.0.0.9:2380"}',
            400,
        ),
        (
            "bad peer URL",
            "POST",
            "/v1beta1/etcd/members",
            {"Authorization": f"Bearer {CTRL}"},
            b'{"node":"n","peerAddress":"127.0.0.9"}',
            400,
        ),
        ("unknown path", "GET", "/v1beta1/secrets", {"Authorization": f"Bearer {CTRL}"}, None, 404),
        ("root", "GET", "/", {}, None, 404),
    ],
)
def test_abuse_is_refused_without_500_or_ca(
    bed: JoinBed,
    name: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
    expected: int,
) -> None:
    status, _headers, text = call(bed, method, path, headers=headers, body=body)
    assert status == expected, (name, text)
    assert_no_ca_material(bed, text)
    if expected == 401:
        assert text == b"go away\n"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/v1beta1/ca", "GET"),
        ("DELETE", "/v1beta1/ca", "GET"),
        ("PUT", "/v1beta1/ca", "GET"),
        ("GET", "/v1beta1/etcd/members", "POST"),
    ],
)
def test_wrong_method_is_405_with_allow_even_without_token(
    bed: JoinBed, method: str, path: str, allow: str
) -> None:
    status, headers, body = call(bed, method, path)
    assert (status, headers.get("allow"), body) == (405, allow, b"")


def test_chunked_10mb_body_is_413(bed: JoinBed) -> None:
    head = (
        f"POST /v1beta1/etcd/members HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {CTRL}\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    chunk = b"%x\r\n" % (1 << 20) + b"x" * (1 << 20) + b"\r\n"
    try:
        status, _head, body = raw_request(bed.api_port, head + chunk * 10 + b"0\r\n\r\n", bed.ca_context())
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
        return  # the server cut us off mid-body: also a refusal, and no answer at all to leak
    assert status == 413 and b"PRIVATE KEY" not in body


def test_revocation_takes_effect_on_the_next_request(bed: JoinBed) -> None:
    token = "revoke.0123456789abcdef"
    bed.put_secret(secret_doc(token, usages=CONTROLLER_USAGE))
    assert call(bed, "GET", "/v1beta1/ca", token)[0] == 200
    assert bed.delete_secret("revoke") == 200
    assert call(bed, "GET", "/v1beta1/ca", token)[0] == 401


def _handshake(bed: JoinBed, version: ssl.TLSVersion, ciphers: str | None = None) -> tuple[str, str]:
    ctx = bed.ca_context()
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated: that is what is being tested
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ctx.maximum_version = version
    if ciphers:
        ctx.set_ciphers(ciphers)
    conn = http.client.HTTPSConnection("127.0.0.1", bed.api_port, context=ctx, timeout=5)
    try:
        conn.connect()
        sock = conn.sock
        assert isinstance(sock, ssl.SSLSocket)
        cipher = sock.cipher()
        assert cipher is not None
        return str(sock.version()), cipher[0]
    finally:
        conn.close()


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_tls_1_0_and_1_1_are_refused(bed: JoinBed, version: ssl.TLSVersion) -> None:
    with pytest.raises(ssl.SSLError) as err:
        _handshake(bed, version, "DEFAULT:@SECLEVEL=0")
    assert any(
        words in str(err.value).upper() for words in ("PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "EOF")
    )
    assert (
        _handshake(bed, ssl.TLSVersion.TLSv1_2)[0] == "TLSv1.2"
    )  # the server is fine: it refused the version


def test_tls_1_2_uses_the_k0s_ciphers_only(bed: JoinBed) -> None:
    version, cipher = _handshake(bed, ssl.TLSVersion.TLSv1_2)
    assert version == "TLSv1.2"
    assert cipher in OPENSSL_TLS12_CIPHERS.split(":") and cipher.startswith("ECDHE-RSA-")
    with pytest.raises(ssl.SSLError):
        _handshake(bed, ssl.TLSVersion.TLSv1_2, "AES128-SHA256:AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA256")
    assert _handshake(bed, ssl.TLSVersion.TLSv1_3)[0] == "TLSv1.3"


def test_served_certificate_chains_to_ca_crt(bed: JoinBed) -> None:
    ctx = ssl.create_default_context(cafile=str(bed.paths.cert_dir / "ca.crt"))
    with (
        __import__("socket").create_connection(("127.0.0.1", bed.api_port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        cert = tls.getpeercert()
    assert cert and ("IP Address", "127.0.0.1") in cert["subjectAltName"]
    foreign = ssl.create_default_context(cafile=str(bed.paths.etcd_cert_dir / "ca.crt"))
    with pytest.raises(ssl.SSLCertVerificationError):
        call_ctx = http.client.HTTPSConnection("127.0.0.1", bed.api_port, context=foreign, timeout=5)
        call_ctx.connect()


def test_member_add_as_learner_against_real_etcd(bed: JoinBed) -> None:
    body = json.dumps({"node": "joiner", "peerAddress": "https://127.0.0.2:2380"}).encode()
    status, _headers, text = call(bed, "POST", "/v1beta1/etcd/members", CTRL, body)
    assert status == 200, text
    doc = json.loads(text)
    members = bed.etcd_members()
    try:
        new = [m for m in members if "https://127.0.0.2:2380" in m.get("peerURLs", [])]
        assert len(new) == 1 and new[0].get("isLearner") is True
        existing = next(m for m in members if m.get("name") == "test")
        assert sorted(doc["initialCluster"]) == sorted(
            ["joiner=https://127.0.0.2:2380", f"test={existing['peerURLs'][0]}"]
        )
        etcd_dir = bed.paths.etcd_cert_dir
        assert doc["ca"] == {
            "key": b64(etcd_dir / "ca.key"),
            "cert": b64(etcd_dir / "ca.crt"),
            "saKey": None,
            "saPub": None,
        }
        again = call(bed, "POST", "/v1beta1/etcd/members", CTRL, body)  # a retry after a lost answer
        assert again[0] == 200, again[2]
        assert sorted(json.loads(again[2])["initialCluster"]) == sorted(doc["initialCluster"])
        assert len(bed.etcd_members()) == len(members)
    finally:
        for member in bed.etcd_members():
            if "https://127.0.0.2:2380" in member.get("peerURLs", []):
                bed.remove_member(member["ID"])


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_join_client_fetches_and_writes_with_k0s_modes(bed: JoinBed, tmp_path: Path) -> None:
    ca_pem = (bed.paths.cert_dir / "ca.crt").read_bytes()
    client = JoinClient.from_token_text(
        make_join_token(bed.api_url, ca_pem, "controller", CTRL), retry_ca=FAST, retry_etcd=FAST
    )
    joiner = Paths.build(tmp_path / "data", run_dir=tmp_path / "run", etc_dir=tmp_path / "etc")
    bundle = await client.get_ca()
    write_ca_bundle(joiner, bundle)
    d = joiner.cert_dir
    assert {n: _mode(d / n) for n in ("ca.key", "ca.crt", "sa.key", "sa.pub")} == {
        "ca.key": 0o640,
        "ca.crt": 0o644,
        "sa.key": 0o640,
        "sa.pub": 0o644,
    }
    for name in ("ca.key", "ca.crt", "sa.key", "sa.pub"):
        assert (d / name).read_bytes() == (bed.paths.cert_dir / name).read_bytes()
    answer = await client.join_etcd("client-joiner", "https://127.0.0.3:2380")
    try:
        assert "client-joiner=https://127.0.0.3:2380" in answer.initial_cluster
        assert write_etcd_ca(joiner, answer.ca)
        assert not write_etcd_ca(joiner, answer.ca)  # kept when present
        assert _mode(joiner.etcd_cert_dir / "ca.key") == 0o640
        assert (joiner.etcd_cert_dir / "ca.key").read_bytes() == (
            bed.paths.etcd_cert_dir / "ca.key"
        ).read_bytes()
    finally:
        for member in bed.etcd_members():
            if "https://127.0.0.3:2380" in member.get("peerURLs", []):
                bed.remove_member(member["ID"])


async def test_join_client_gives_up_at_once_on_401(bed: JoinBed) -> None:
    ca_pem = (bed.paths.cert_dir / "ca.crt").read_bytes()
    client = JoinClient.from_token_text(
        make_join_token(bed.api_url, ca_pem, "controller", WORKER),
        retry_ca=Retry(attempts=10, first_delay=30, max_delay=30, per_try=5, jitter=False),
    )
    with pytest.raises(JoinError) as err:
        await asyncio.wait_for(client.get_ca(), 20)  # a retry would sleep 30 s and time out here
    assert err.value.final and "401" in err.value.message


async def test_join_client_retries_until_the_server_is_up(bed: JoinBed) -> None:
    ca_pem = (bed.paths.cert_dir / "ca.crt").read_bytes()
    port = free_port()
    client = JoinClient.from_token_text(
        make_join_token(f"https://127.0.0.1:{port}", ca_pem, "controller", CTRL),
        retry_ca=Retry(attempts=40, first_delay=0.1, max_delay=0.25, per_try=5, jitter=True),
    )
    fetch = asyncio.ensure_future(client.get_ca())
    await asyncio.sleep(0.5)
    assert not fetch.done()
    log = bed.paths.data_dir.parent / "late-api.log"
    proc = start_api(bed.paths, node_config(port, bed.etcd.url), log)
    try:
        bundle = await asyncio.wait_for(fetch, 30)
        assert bundle.cert == (bed.paths.cert_dir / "ca.crt").read_bytes()
    finally:
        assert stop_api(proc) == 0


def test_nothing_is_mounted_for_sqlite_kine_and_sigterm_is_clean(bed: JoinBed) -> None:
    port = free_port()
    log = bed.paths.data_dir.parent / "kine-api.log"
    storage = {"type": "kine", "kine": {"dataSource": "sqlite:///tmp/nope.db"}}
    proc = start_api(bed.paths, node_config(port, bed.etcd.url, storage), log)
    try:
        wait_listening(port, proc, log)
        for method, path in (("GET", "/v1beta1/ca"), ("POST", "/v1beta1/etcd/members")):
            conn = http.client.HTTPSConnection("127.0.0.1", port, context=bed.ca_context(), timeout=5)
            conn.request(method, path, headers={"Authorization": f"Bearer {CTRL}"})
            assert conn.getresponse().status == 404
            conn.close()
    finally:
        assert stop_api(proc) == 0
    assert "api.stopped" in log.read_text()


def test_tokens_never_reach_the_log(bed: JoinBed) -> None:
    call(bed, "GET", "/v1beta1/ca", CTRL)
    call(bed, "GET", "/v1beta1/ca", "zzzzzz.0123456789abcdef")
    text = bed.api_log.read_text()
    assert "0123456789abcdef" not in text and base64.b64encode(b"0123456789abcdef").decode() not in text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60),
    st.builds(lambda s: f"Bearer {s}", st.from_regex(r"\A[a-z0-9.]{0,30}\Z")),
    st.builds(lambda s: f"Bearer ctrl01.{s}", st.from_regex(r"\A[a-z0-9]{16}\Z")),
))
def test_fuzzed_authorization_headers_never_get_the_ca(bed: JoinBed, header: str) -> None:
    status, _headers, body = call(bed, "GET", "/v1beta1/ca", headers={"Authorization": header})
    expected_ok = header == f"Bearer {CTRL}"
    assert status == (200 if expected_ok else 401)
    if not expected_ok:
        assert body == b"go away\n"
