"""Join token strings: the k0s YAML vector, a token encoded by Go's compress/gzip, and decode errors."""

from __future__ import annotations

import base64
import gzip
import zlib

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from k0spy.joinapi.token import (
    GO_GZIP_HEADER,
    TokenError,
    decode_join_token,
    encode_join_token,
    load_join_token,
    make_join_token,
    parse_token_kubeconfig,
    render_token_kubeconfig,
    yaml_scalar,
)

# pkg/token/kubeconfig_test.go TestGenerateKubeconfig, verbatim.
K0S_YAML = """apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: dGhlIGNlcnQ=
    server: the join URL
  name: k0s
contexts:
- context:
    cluster: k0s
    user: the user
  name: k0s
current-context: k0s
kind: Config
users:
- name: the user
  user:
    token: abcdef.0123456789abcdef
"""

# K0S_YAML through Go 1.19's gzip.NewWriterLevel(BestCompression) + base64.StdEncoding (k0s JoinEncode).
GO_TOKEN = (
    "H4sIAAAAAAAC/1SNzUoEMRCE73mKfoHIrv82ePKwCCIo6D0mPU47Y0c6nUXfXiaZAb0VRdX3hS9+JS2cBeG4d3GuxUgLOg9rRgcAEEmN"
    "B47ByIdqY1a2H5+CBYR0GOf7w+Mc5em2jQvpkRTBRoKPzAIvzw8OQMInIUy74mIWo2/rmp5Xzepsq6WoZQMt6T+kqpKY3wCtnFgSwl2W"
    "gd/dcmmOfvpDadgmsDyRIIS3mGg42e1Pz84vLq+ub3rhfgMAAP//sIiwnSABAAA="
)


def test_kubeconfig_matches_the_k0s_vector_byte_for_byte() -> None:
    text = render_token_kubeconfig("the join URL", b"the cert", "the user", "abcdef.0123456789abcdef")
    assert text == K0S_YAML


def test_a_token_encoded_by_go_decodes_to_the_k0s_yaml() -> None:
    assert decode_join_token(GO_TOKEN) == K0S_YAML.encode()
    parsed = parse_token_kubeconfig(decode_join_token(GO_TOKEN))
    assert (parsed.server, parsed.ca_pem, parsed.user, parsed.token) == (
        "the join URL",
        b"the cert",
        "the user",
        "abcdef.0123456789abcdef",
    )


def test_our_encoding_has_gos_gzip_header_and_round_trips() -> None:
    ours = encode_join_token(K0S_YAML)
    raw = base64.b64decode(ours, validate=True)
    assert raw[:10] == GO_GZIP_HEADER == base64.b64decode(GO_TOKEN)[:10]
    assert gzip.decompress(raw) == K0S_YAML.encode()
    assert "\n" not in ours and len(ours) % 4 == 0


def test_line_broken_tokens_are_tolerated() -> None:
    wrapped = "\n".join(GO_TOKEN[i : i + 76] for i in range(0, len(GO_TOKEN), 76)) + "\n"
    assert decode_join_token(wrapped) == K0S_YAML.encode()


def test_controller_token_round_trip_and_role() -> None:
    text = make_join_token("https://10.0.0.1:9443", b"PEM", "controller", "abcdef.0123456789abcdef")
    token = load_join_token(text, "controller")
    assert token.role == "controller" and token.user == "controller-bootstrap"
    assert token.server == "https://10.0.0.1:9443" and token.token_id == "abcdef"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("not base64 at all!", "not base64"),
        (base64.b64encode(b"plain text, no gzip").decode(), "not gzip"),
        (base64.b64encode(gzip.compress(b"\x00\xff: [")).decode(), "kubeconfig"),
        (encode_join_token("apiVersion: v1\nkind: Config\n"), "no contexts"),
        (encode_join_token(GO_TOKEN[:40]), "kubeconfig"),
    ],
)
def test_decoding_errors_say_which_layer_is_wrong(text: str, words: str) -> None:
    with pytest.raises(TokenError) as err:
        load_join_token(text, "controller")
    assert words in err.value.message and err.value.hint


def test_truncated_gzip_is_reported() -> None:
    raw = base64.b64decode(GO_TOKEN)[:-12]
    with pytest.raises(TokenError, match="not gzip"):
        decode_join_token(base64.b64encode(raw).decode())


def test_gzip_bomb_is_refused() -> None:
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = bomb.compress(b"\0" * (4 << 20)) + bomb.flush()
    with pytest.raises(TokenError, match="expands beyond"):
        decode_join_token(base64.b64encode(data).decode())


def test_wrong_role_is_named() -> None:
    worker = make_join_token("https://10.0.0.1:6443", b"PEM", "worker", "abcdef.0123456789abcdef")
    expected = "wrong token type kubelet-bootstrap, expected type: controller-bootstrap"
    with pytest.raises(TokenError, match=expected):
        load_join_token(worker, "controller")


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("https://10.0.0.1:9443", "https://10.0.0.1:9443"),
        ("https://[fd00::1]:9443", "https://[fd00::1]:9443"),
        ("true", '"true"'),
        ("123", '"123"'),
        ("", '""'),
        ("1.5", '"1.5"'),
        ("*", "'*'"),
        ("a: b", "'a: b'"),
        ("-x", "'-x'"),
        ("<<", '"<<"'),
        ("=", "="),
    ],
)
def test_scalars_follow_go_yaml(value: str, rendered: str) -> None:
    assert yaml_scalar(value) == rendered


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=30))
@example(server="0", user="=")  # PyYAML resolves a plain `=` to its `value` tag and cannot build it
@example(server="<<", user="<<")
def test_any_server_and_user_round_trip_through_yaml(server: str, user: str) -> None:
    text = render_token_kubeconfig(server, b"ca", user, "abcdef.0123456789abcdef")
    parsed = parse_token_kubeconfig(text.encode())
    assert (parsed.server, parsed.user) == (server, user)
