"""Token validation decisions (k0s isValidToken) and the fresh-read sharing, including fuzzed headers."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k0spy.joinapi.auth import Authenticator, FreshReader, SecretDoc, bearer_token, token_allows
from k0spy.joinapi.etcdmembers import valid_peer_url
from k0spy.joinapi.server import member_request
from k0spy.joinapi.tokens import token_secret

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TOKEN = "abcdef.0123456789abcdef"


def secret(
    role: str = "controller", expiry: dt.timedelta | None = dt.timedelta(hours=1), token: str = TOKEN
) -> SecretDoc:
    return token_secret(token, role, expiry, NOW)


@pytest.mark.parametrize(
    ("header", "parsed"),
    [
        (f"Bearer {TOKEN}", ("abcdef", "0123456789abcdef")),
        (None, None),
        ("", None),
        (TOKEN, None),
        (f"bearer {TOKEN}", None),
        (f"Basic {TOKEN}", None),
        (f"Bearer  {TOKEN}", None),
        (f"Bearer {TOKEN} ", None),
        (f"Bearer {TOKEN}\n", None),
        ("Bearer ABCDEF.0123456789abcdef", None),
        ("Bearer abcdef.0123456789abcde", None),
        ("Bearer abcdef0123456789abcdef", None),
        ("Bearer abcdef.0123456789abcdef.x", None),
    ],
)
def test_bearer_format_is_checked_first(header: str | None, parsed: tuple[str, str] | None) -> None:
    assert bearer_token(header) == parsed


def test_valid_controller_token_is_allowed() -> None:
    assert token_allows(secret(), "abcdef", "0123456789abcdef", "controller-join", NOW)


@pytest.mark.parametrize(
    "case", ["missing", "wrong-secret", "expired", "expires-now", "worker", "other-id", "garbled"]
)
def test_refusals(case: str) -> None:
    doc: SecretDoc | None = secret()
    token_id, token_sec = "abcdef", "0123456789abcdef"
    if case == "missing":
        doc = None
    elif case == "wrong-secret":
        token_sec = "0123456789abcdeX".lower().replace("x", "0")
    elif case == "expired":
        doc = secret(expiry=dt.timedelta(seconds=1))
        assert token_allows(doc, token_id, token_sec, "controller-join", NOW)
        assert not token_allows(doc, token_id, token_sec, "controller-join", NOW + dt.timedelta(seconds=2))
        return
    elif case == "expires-now":
        doc = secret(expiry=dt.timedelta(seconds=5))
        assert not token_allows(doc, token_id, token_sec, "controller-join", NOW + dt.timedelta(seconds=5))
        return
    elif case == "worker":
        doc = secret(role="worker")
    elif case == "other-id":
        token_id = "zzzzzz"
    elif case == "garbled":
        assert doc is not None
        doc["data"]["expiration"] = "!!!"
    assert not token_allows(doc, token_id, token_sec, "controller-join", NOW)


def test_legacy_usage_key_alone_is_accepted() -> None:
    doc = secret()
    del doc["data"]["usage-bootstrap-controller-join"]
    assert "usage-controller-join" in doc["data"]
    assert token_allows(doc, "abcdef", "0123456789abcdef", "controller-join", NOW)


def test_no_expiry_never_expires() -> None:
    assert token_allows(
        secret(expiry=None), "abcdef", "0123456789abcdef", "controller-join", NOW + dt.timedelta(days=10000)
    )


class CountingFetch:
    def __init__(self, docs: dict[str, SecretDoc], delay: float = 0.01) -> None:
        self.docs, self.delay, self.calls = docs, delay, 0

    async def __call__(self, token_id: str) -> SecretDoc | None:
        self.calls += 1
        doc = self.docs.get(token_id)  # the read's snapshot is taken when it begins
        await asyncio.sleep(self.delay)
        return doc


def authenticator(fetch: CountingFetch) -> Authenticator:
    return Authenticator(FreshReader(fetch), "controller-join", clock=lambda: NOW)


async def test_malformed_tokens_never_reach_a_lookup() -> None:
    fetch = CountingFetch({"abcdef": secret()})
    auth = authenticator(fetch)
    for header in ("Bearer x", "Basic abc", "", "Bearer ABCDEF.0123456789ABCDEF"):
        assert not await auth.allows(header)
    assert fetch.calls == 0


async def test_concurrent_requests_share_reads_but_never_an_older_one() -> None:
    fetch = CountingFetch({"abcdef": secret()}, delay=0.05)
    auth = authenticator(fetch)
    results = await asyncio.gather(*(auth.allows(f"Bearer {TOKEN}") for _ in range(50)))
    assert all(results)
    assert fetch.calls == 2  # the first read, then one shared by the 49 that arrived while it ran
    first = asyncio.ensure_future(auth.allows(f"Bearer {TOKEN}"))
    await asyncio.sleep(0.01)  # the read for `first` is in flight: revoke now
    del fetch.docs["abcdef"]
    late = await asyncio.gather(*(auth.allows(f"Bearer {TOKEN}") for _ in range(10)))
    assert await first  # its read began before the revocation
    assert not any(late)  # arrived after: they waited for a read that began after them
    assert fetch.calls == 4
    assert auth.reader._slots == {}  # nothing kept once idle


async def test_lookup_errors_refuse_and_are_reported() -> None:
    seen: list[str] = []

    async def broken(_token_id: str) -> SecretDoc | None:
        raise OSError("api down")

    auth = Authenticator(
        FreshReader(broken), "controller-join", on_error=lambda i, e: seen.append(f"{i}:{e}")
    )
    assert not any(await asyncio.gather(*(auth.allows(f"Bearer {TOKEN}") for _ in range(5))))
    assert seen and all(s == "abcdef:api down" for s in seen)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.none(),
        st.text(max_size=80),
        st.from_regex(r"\ABearer [a-z0-9.]{0,30}\Z"),
        st.builds(lambda s: "Bearer " + s, st.text(max_size=40)),
    )
)
def test_fuzzed_headers_only_allow_the_exact_token(header: str | None) -> None:
    fetch = CountingFetch({"abcdef": secret()}, delay=0)
    allowed = asyncio.run(authenticator(fetch).allows(header))
    assert allowed == (header == f"Bearer {TOKEN}")
    if bearer_token(header) is None:
        assert fetch.calls == 0


# --- the members body ------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=400)
@given(
    st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries({"node": json_values, "peerAddress": json_values}).map(
            lambda v: json.dumps(v).encode()
        ),
        st.builds(
            lambda n, h, p: json.dumps({"node": n, "peerAddress": f"https://{h}:{p}"}).encode(),
            st.text(max_size=10),
            st.from_regex(r"\A[a-z0-9.]{1,12}\Z"),
            st.integers(0, 70000),
        ),
    )
)
def test_fuzzed_member_bodies_are_parsed_or_refused_never_raised(raw: bytes) -> None:
    parsed = member_request(raw)
    if isinstance(parsed, tuple):
        doc = json.loads(raw)
        assert parsed == (doc["node"], doc["peerAddress"]) and doc["node"].strip()
        assert valid_peer_url(doc["peerAddress"])
    else:
        assert parsed in (
            "invalid JSON in the request body",
            "node name must not be empty",
            "peerAddress must be a URL like https://<address>:2380",
        )


def test_deeply_nested_json_is_a_400() -> None:
    assert member_request(b"[" * 100000 + b"]" * 100000) == "invalid JSON in the request body"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://10.0.0.2:2380", True),
        ("http://node:2380", True),
        ("https://[fd00::2]:2380", True),
        ("https://10.0.0.2", False),
        ("10.0.0.2:2380", False),
        ("https://10.0.0.2:2380/x", False),
        ("ftp://10.0.0.2:2380", False),
        ("https://:2380", False),
        ("https://h:99999", False),
    ],
)
def test_peer_urls(url: str, ok: bool) -> None:
    assert valid_peer_url(url) is ok


async def test_spacing_bounds_reads_but_never_serves_an_older_read() -> None:
    fetch = CountingFetch({"abcdef": secret()}, delay=0)
    reader = FreshReader(fetch, spacing=0.2)
    auth = Authenticator(reader, "controller-join", clock=lambda: NOW)
    assert await auth.allows(f"Bearer {TOKEN}")  # a lone request is read at once
    del fetch.docs["abcdef"]  # revoked right after that read
    results = await asyncio.gather(*(auth.allows(f"Bearer {TOKEN}") for _ in range(20)))
    assert not any(results)  # they waited out the spacing for a read that began after they arrived
    assert fetch.calls == 2
    await asyncio.sleep(0.3)
    assert reader._slots == {}
