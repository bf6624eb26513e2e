"""Line splitting, 16 KiB UTF-8-safe chunking and the batched renderer's fields."""

from __future__ import annotations

import io
import json

from hypothesis import given
from hypothesis import strategies as st

from k0spy.supervisor.output import CHUNK_LEN, BatchRenderer, LineSplitter, utf8_cut


def test_split_lines_across_reads_and_strip_cr() -> None:
    s = LineSplitter()
    assert s.feed(b"a\r\nb") == [(b"a", 0)]
    assert s.feed(b"c\nd\r") == [(b"bc", 0)]
    assert s.feed(b"\n") == [(b"d", 0)]
    assert s.close() == []


def test_unterminated_last_line_is_flushed_on_close() -> None:
    s = LineSplitter()
    assert s.feed(b"tail") == []
    assert s.close() == [(b"tail", 0)]


def test_long_line_is_chunked_on_utf8_boundary_and_numbered_from_one() -> None:
    s = LineSplitter()
    line = "é".encode() * 20_000  # 40000 bytes, 2-byte characters
    out = s.feed(b"x" + line + b"\nnext\n")
    chunks = [c for c in out if c[1]]
    assert [c[1] for c in chunks] == [1, 2, 3]
    assert all(len(c[0]) <= CHUNK_LEN for c in chunks)
    for content, _ in chunks:
        content.decode("utf-8")  # no chunk ends mid-character
    assert b"".join(c[0] for c in chunks) == b"x" + line
    assert out[-1] == (b"next", 0)


def test_one_megabyte_line_streams_without_buffering_it_all() -> None:
    s = LineSplitter()
    total, pieces = 0, 0
    block = b"y" * 65536
    for _ in range(16):
        for content, chunk in s.feed(block):
            assert chunk > 0
            total += len(content)
            pieces += 1
    for content, chunk in s.feed(b"\n"):
        total += len(content)
        pieces += 1
        assert chunk == pieces
    assert total == 16 * 65536
    assert pieces == 64


def test_utf8_cut_steps_back_over_continuation_bytes() -> None:
    data = b"ab" + "€".encode()  # € is 3 bytes
    assert utf8_cut(data, 3) == 2
    assert utf8_cut(data, 5) == 5
    assert utf8_cut(b"\x80" * 10, 4) == 4  # garbage: cut hard rather than loop


@given(st.lists(st.text(max_size=40000), max_size=5), st.integers(min_value=1, max_value=70000))
def test_splitter_round_trips_any_text(lines: list[str], read: int) -> None:
    data = "".join(line.replace("\n", " ").replace("\r", " ") + "\n" for line in lines).encode()
    s = LineSplitter()
    out = []
    for i in range(0, len(data), read):
        out.extend(s.feed(data[i:i + read]))
    out.extend(s.close())
    rebuilt: list[bytes] = []
    for content, chunk in out:
        assert len(content) <= CHUNK_LEN
        if chunk > 1:
            rebuilt[-1] += content
        else:
            rebuilt.append(content)
    expected = [line.replace("\n", " ").replace("\r", " ").encode() for line in lines]
    assert [r for r in rebuilt if r] == [e for e in expected if e]


def test_json_renderer_fields_match_structlog_events() -> None:
    buf = io.BytesIO()
    r = BatchRenderer(buf, json=True)
    r.write("etcd", "stderr", [(b'he said "hi" \xff', 0), (b"part", 2)])
    rows = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert rows[0]["component"] == "etcd" and rows[0]["stream"] == "stderr"
    assert rows[0]["event"] == 'he said "hi" \ufffd' and rows[0]["level"] == "info"
    assert rows[0]["timestamp"].endswith("Z") and "chunk" not in rows[0]
    assert rows[1]["chunk"] == 2
    assert r.lines_written == 2


def test_console_renderer_layout() -> None:
    buf = io.BytesIO()
    BatchRenderer(buf, json=False).write("kubelet", "stdout", [(b"hello world", 0), (b"x", 3)])
    first, second = buf.getvalue().decode().splitlines()
    assert first.endswith("[info     ] hello world component=kubelet stream=stdout")
    assert second.endswith("x chunk=3 component=kubelet stream=stdout")


def test_disabled_renderer_writes_nothing() -> None:
    buf = io.BytesIO()
    BatchRenderer(buf, json=True, enabled=False).write("a", "stdout", [(b"x", 0)])
    assert buf.getvalue() == b""


def _strip_ts(data: bytes) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in data.splitlines()]
    for r in rows:
        r.pop("timestamp")
    return rows


def test_block_path_renders_the_same_records_as_the_line_path() -> None:
    reads = [b"alpha\nbe", b"ta\n", b'say "hi" \\ \xc3\xa9\n', b"x" * 20000 + b"\n", b"a\r\nb\n", b"tail"]
    fast, slow = io.BytesIO(), io.BytesIO()
    rf, rs = BatchRenderer(fast, json=True), BatchRenderer(slow, json=True)
    sf, ss = LineSplitter(), LineSplitter()
    for data in reads:
        rf.write_block("c", "stdout", data, sf)
        rs.write("c", "stdout", ss.feed(data))
    rf.write("c", "stdout", sf.close())
    rs.write("c", "stdout", ss.close())
    assert _strip_ts(fast.getvalue()) == _strip_ts(slow.getvalue())
    assert rf.lines_written == rs.lines_written == 8


def test_block_path_takes_whole_lines_and_keeps_the_partial() -> None:
    s = LineSplitter()
    got = s.feed_block(b"one\ntwo\nthr")
    assert got == (b"one\ntwo", [b"one", b"two"])
    assert s.feed_block(b"ee") is None  # no newline yet: state unchanged, the caller uses feed()
    assert s.feed(b"ee\n") == [(b"three", 0)]
    assert s.feed_block(b"a\r\n") is None and s.feed_block(b"z" * 17000 + b"\n") is None
