"""Join token strings, interchangeable with k0s's: a kubeconfig, gzipped at level 9, base64 with padding.

The kubeconfig is written as client-go's `clientcmd.Write` lays it out (keys sorted, two-space indent,
plain scalars where go-yaml leaves them plain), so a token made here decodes to the same text k0s would
have made from the same inputs. The gzip header is Go's (mtime 0, XFL 2, OS 255); the deflate stream is
zlib's rather than Go's compress/flate, which is the only byte difference and invisible to any decoder.

Decoding says which layer is wrong (base64, gzip, kubeconfig, role), because an operator pasting a token
into a file usually breaks exactly one of them.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from k0spy.errors import ConfigError, K0spyError

ROLE_CONTROLLER = "controller"
ROLE_WORKER = "worker"
ROLES = (ROLE_CONTROLLER, ROLE_WORKER)
CONTROLLER_AUTH_NAME = "controller-bootstrap"
WORKER_AUTH_NAME = "kubelet-bootstrap"
AUTH_NAMES = {ROLE_CONTROLLER: CONTROLLER_AUTH_NAME, ROLE_WORKER: WORKER_AUTH_NAME}
CONTEXT_NAME = "k0s"
# A bootstrap token, `<id>.<secret>` (k8s.io/cluster-bootstrap/token/api BootstrapTokenPattern).
BOOTSTRAP_TOKEN_RE = re.compile(r"\A([a-z0-9]{6})\.([a-z0-9]{16})\Z")
# Go's gzip.Writer header at BestCompression: no name, mtime 0, XFL 2 (slowest), OS 255 (unknown).
GO_GZIP_HEADER = bytes((0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 2, 0xFF))
MAX_DECODED_SIZE = 1 << 20  # a real token is ~2 KiB; refuse gzip bombs
_TOKEN_HINT = 'create a new token with "k0spy token create --role ROLE" (or "k0s token create")'


class TokenError(K0spyError):
    """A join token that cannot be used, saying which layer is broken."""


@dataclass(frozen=True)
class JoinToken:
    """What a join token carries: where to join, the CA to trust there, and the bootstrap token."""

    server: str
    ca_pem: bytes
    user: str
    token: str

    @property
    def role(self) -> str | None:
        for role, name in AUTH_NAMES.items():
            if name == self.user:
                return role
        return None

    @property
    def token_id(self) -> str:
        return self.token.partition(".")[0]


# --- the kubeconfig, as clientcmd.Write prints it ----------------------------------------------------
_YAML11_NON_STRINGS = re.compile(
    r"""\A(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
    |null|Null|NULL|~|<<|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0[0-7_]+|[-+]?0x[0-9a-fA-F_]+|[-+]?0b[01_]+
    |[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+
    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|)\Z""",
    re.VERBOSE,
)
_PLAIN_FORBIDDEN_START = set("-?:,[]{}#&*!|>'\"%@` \t")


def yaml_scalar(value: str) -> str:
    """`value` as go-yaml v2 emits a string: plain, else single-quoted, else double-quoted.

    Strings that YAML 1.1 would read as something else (booleans, numbers, null, empty) are
    double-quoted, as go-yaml does; strings a plain scalar cannot hold are single-quoted.
    """
    if _YAML11_NON_STRINGS.match(value):
        return _double_quoted(value)
    printable = value.isprintable()
    if (printable and value[0] not in _PLAIN_FORBIDDEN_START and value[-1] not in " :"
            and ": " not in value and " #" not in value):
        return value
    if printable:
        return "'" + value.replace("'", "''") + "'"
    return _double_quoted(value)


def _double_quoted(value: str) -> str:
    """A YAML double-quoted scalar; non-printable characters as \\x, \\u or \\U escapes."""
    out = []
    for char in value:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable() and char != "\ufeff":
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def render_token_kubeconfig(server: str, ca_pem: bytes, user: str, token: str) -> str:
    """The token's kubeconfig text (k0s pkg/token GenerateKubeconfig: cluster and context `k0s`)."""
    ca = base64.b64encode(ca_pem).decode("ascii")
    name, ctx = yaml_scalar(user), yaml_scalar(CONTEXT_NAME)
    return (
        "apiVersion: v1\nclusters:\n- cluster:\n"
        f"    certificate-authority-data: {ca}\n    server: {yaml_scalar(server)}\n  name: {ctx}\n"
        f"contexts:\n- context:\n    cluster: {ctx}\n    user: {name}\n  name: {ctx}\n"
        f"current-context: {ctx}\nkind: Config\nusers:\n- name: {name}\n  user:\n"
        f"    token: {yaml_scalar(token)}\n"
    )


# --- encode / decode ---------------------------------------------------------------------------------
def encode_join_token(kubeconfig: str | bytes) -> str:
    """gzip (level 9, Go's header) then standard base64 with padding and no line breaks."""
    data = kubeconfig.encode() if isinstance(kubeconfig, str) else kubeconfig
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflater.compress(data) + deflater.flush()
    trailer = struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)
    return base64.b64encode(GO_GZIP_HEADER + body + trailer).decode("ascii")


def make_join_token(server: str, ca_pem: bytes, role: str, token: str) -> str:
    if role not in AUTH_NAMES:
        raise TokenError(f"unsupported role {role!r}", hint=f"use one of {', '.join(ROLES)}")
    return encode_join_token(render_token_kubeconfig(server, ca_pem, AUTH_NAMES[role], token))


def decode_join_token(text: str) -> bytes:
    """The kubeconfig bytes inside a token string; whitespace and line breaks are tolerated."""
    compact = "".join(text.split())
    if not compact:
        raise TokenError("the join token is empty", hint=_TOKEN_HINT)
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as err:
        raise TokenError(f"the join token is not base64: {err}", hint=_TOKEN_HINT) from err
    try:
        inflater = zlib.decompressobj(wbits=31)
        data = inflater.decompress(raw, MAX_DECODED_SIZE)
    except zlib.error as err:
        raise TokenError(f"the join token is not gzip data: {err}", hint=_TOKEN_HINT) from err
    if inflater.unconsumed_tail:
        raise TokenError(f"the join token expands beyond {MAX_DECODED_SIZE} bytes", hint=_TOKEN_HINT)
    if not inflater.eof:
        raise TokenError("the join token is not gzip data: the stream is truncated", hint=_TOKEN_HINT)
    return data


def _named(items: Any, name: str, key: str) -> dict[str, Any] | None:
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("name") == name and isinstance(item.get(key), dict):
            return dict(item[key])
    return None


def parse_token_kubeconfig(data: bytes) -> JoinToken:
    """Server, CA, user name and bearer token of the current (else first) context."""
    from k0spy.config.yamlsafe import parse_yaml

    def bad(why: str) -> TokenError:
        return TokenError(f"the join token does not hold a usable kubeconfig: {why}", hint=_TOKEN_HINT)

    # Read as go-yaml does (k0s wrote it): PyYAML's own constructors refuse plain `=` and `<<` values.
    try:
        doc = parse_yaml(data, "join token").value
    except ConfigError as err:
        raise bad(f"not YAML ({err})") from err
    if not isinstance(doc, dict) or not isinstance(doc.get("contexts"), list) or not doc["contexts"]:
        raise bad("no contexts")
    context = _named(doc["contexts"], str(doc.get("current-context", "")), "context")
    if context is None:
        first = doc["contexts"][0]
        context = first.get("context") if isinstance(first, dict) else None
    if not isinstance(context, dict):
        raise bad("no usable context")
    user_name, cluster_name = str(context.get("user", "")), str(context.get("cluster", ""))
    cluster = _named(doc.get("clusters"), cluster_name, "cluster")
    user = _named(doc.get("users"), user_name, "user")
    if cluster is None or not cluster.get("server"):
        raise bad(f"cluster {cluster_name!r} has no server")
    if user is None or not isinstance(user.get("token"), str):
        raise bad(f"user {user_name!r} has no token")
    try:
        ca_pem = base64.b64decode(str(cluster.get("certificate-authority-data", "")), validate=True)
    except (binascii.Error, ValueError) as err:
        raise bad(f"certificate-authority-data is not base64 ({err})") from err
    return JoinToken(server=str(cluster["server"]), ca_pem=ca_pem, user=user_name, token=user["token"])


def load_join_token(text: str, role: str) -> JoinToken:
    """Decode and parse a token and check that it was made for `role` (controller or worker)."""
    token = parse_token_kubeconfig(decode_join_token(text))
    expected = AUTH_NAMES[role]
    if token.user != expected:
        got = f"a {token.role} token" if token.role else f"a token for user {token.user!r}"
        raise TokenError(
            f"wrong token type {token.user}, expected type: {expected} (this is {got}, not a {role} token)",
            hint=f'create one with "k0spy token create --role {role}"',
        )
    return token
