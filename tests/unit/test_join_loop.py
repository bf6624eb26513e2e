"""The join server's event loop choice (uvloop, else asyncio) and its cheap per-request paths."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
import uvloop

from k0spy.cli.api import LoopFactory, loop_factory
from k0spy.joinapi import server
from k0spy.joinapi.run import loop_name
from k0spy.joinapi.server import CA_FILES, JoinHandlers, _DeadlineProtocol
from k0spy.joinapi.settings import JoinApiSettings


def test_uvloop_is_chosen_when_importable() -> None:
    name, factory = loop_factory()
    loop = factory()
    try:
        assert name == "uvloop"
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_asyncio_loop_when_uvloop_cannot_be_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # None in sys.modules: `import uvloop` raises
    name, factory = loop_factory()
    loop = factory()
    try:
        assert name == "asyncio"
        assert not isinstance(loop, uvloop.Loop)
        assert isinstance(loop, asyncio.AbstractEventLoop)
    finally:
        loop.close()


@pytest.mark.parametrize(("factory", "name"), [(uvloop.new_event_loop, "uvloop"),
                                               (asyncio.new_event_loop, "asyncio")])
def test_the_running_loop_is_named_for_the_listening_event(factory: LoopFactory, name: str) -> None:
    loop = factory()
    try:
        assert loop_name(loop) == name
    finally:
        loop.close()


def _handlers(cert_dir: Path) -> JoinHandlers:
    cert_dir.mkdir()
    for name in CA_FILES:
        (cert_dir / name).write_bytes(f"{name} v1".encode())
    settings = JoinApiSettings(host=None, port=0, cert_dir=cert_dir, tls_cert=cert_dir / "x.crt",
                               tls_key=cert_dir / "x.key", admin_kubeconfig=cert_dir / "admin.conf",
                               joinable=True, etcd=None)
    return JoinHandlers(settings)


def _replace(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a new identity even on a coarse clock


def test_ca_body_is_not_stat_ed_again_within_the_recheck_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "CA_RECHECK", 3600.0)
    handlers = _handlers(tmp_path / "pki")
    first = handlers._ca_body()
    _replace(tmp_path / "pki" / "ca.crt", b"ca.crt v2")
    assert handlers._ca_body() is first  # the same bytes object: not rendered, not even re-read


def test_ca_body_follows_a_changed_file_after_the_recheck_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "CA_RECHECK", 0.0)
    handlers = _handlers(tmp_path / "pki")
    first = handlers._ca_body()
    assert handlers._ca_body() is first  # unchanged files: the rendered answer is reused
    _replace(tmp_path / "pki" / "ca.crt", b"ca.crt v2")
    second = handlers._ca_body()
    assert second != first
    assert b"ca.crt v2" not in second  # base64 in the JSON, never raw
    assert handlers._ca_rendered is not None and b"ca.crt v2" in handlers._ca_rendered[0]


def test_ca_body_read_failure_is_raised_again_after_the_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "CA_RECHECK", 0.0)
    handlers = _handlers(tmp_path / "pki")
    handlers._ca_body()
    (tmp_path / "pki" / "sa.pub").unlink()
    with pytest.raises(FileNotFoundError):
        handlers._ca_body()


class _Recorder(asyncio.Protocol):
    def __init__(self) -> None:
        self.seen: list[object] = []

    def data_received(self, data: bytes) -> None:
        self.seen.append(data)

    def eof_received(self) -> bool | None:
        self.seen.append("eof")
        return None


def test_deadline_wrapper_hands_reads_straight_to_the_handler() -> None:
    inner = _Recorder()
    wrapper = _DeadlineProtocol(inner, 30.0)
    assert wrapper.data_received == inner.data_received  # no forwarding frame per read
    wrapper.data_received(b"GET / HTTP/1.1\r\n")
    assert wrapper.eof_received() is None
    assert inner.seen == [b"GET / HTTP/1.1\r\n", "eof"]
