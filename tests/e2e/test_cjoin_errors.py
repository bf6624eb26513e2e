"""`k0spy controller` token mistakes: two token sources, a worker token, and a token a joined node ignores."""

from __future__ import annotations

from k0spy.joinapi.token import make_join_token

CA = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def token(role: str) -> str:
    return make_join_token("https://127.0.0.1:1", CA, role, "abcdef.0123456789abcdef")


def test_two_token_sources_are_refused_before_anything_is_written(make_node, tmp_path) -> None:
    node = make_node()
    token_file = tmp_path / "token"
    token_file.write_text(token("controller"))
    got = node.k0spy(*node.controller_args(), token("controller"), "--token-file", str(token_file))
    assert got.returncode != 0
    assert "you can only pass one token source" in got.stderr
    assert not node.data.exists()


def test_a_worker_token_is_refused_with_wrong_role_and_never_logged(make_node) -> None:
    node = make_node()
    worker_token = token("worker")
    node.start(worker_token, "--ignore-pre-flight-checks")
    assert node.proc is not None
    assert node.proc.wait(60) == 1
    log = node.current_log()
    assert "wrong token type kubelet-bootstrap, expected type: controller-bootstrap" in log
    assert worker_token not in log
    assert not (node.data / "pki" / "ca.key").exists()
    assert not (node.data / "etcd").exists()
