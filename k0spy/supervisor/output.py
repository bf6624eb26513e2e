"""Child output: split into lines, chunk long ones, render in batches with the daemon's log fields.

One structlog call per child line manages about 75k lines/s, behind every peer supervisor; a chatty
kube-apiserver must not be able to stall the daemon, and a child must never block on a full pipe while
the daemon lives. So each read from a child's pipe (up to 256 KiB) is split with `bytes.split`, rendered as
a whole batch with one timestamp, and written with one `write` call. The records carry the same fields as
the daemon's structlog events (`component`, `stream`, `event`, `level`, `timestamp`, and `chunk` for
pieces of a long line), as JSON when the log stream is not a terminal and as structlog's console layout
when it is, so `jq` and eyes see one uniform stream.

Lines are split on `\\n`, trailing `\\r` removed; a line longer than 16 KiB is emitted in pieces cut on a
UTF-8 character boundary, numbered from 1 in `chunk` (as k0s's log writer does), without buffering the
whole line.
"""

from __future__ import annotations

import datetime
import re
import sys
from typing import IO

try:
    import orjson

    def _dumps(text: str) -> bytes:
        return orjson.dumps(text)
except ImportError:  # pragma: no cover - orjson is a dependency; this keeps a broken install usable
    import json

    def _dumps(text: str) -> bytes:
        return json.dumps(text, ensure_ascii=False).encode()


CHUNK_LEN = 16 * 1024
READ_SIZE = 256 * 1024

Line = tuple[bytes, int]  # (content, chunk number; 0 = a whole line)

# Bytes that a JSON string may hold verbatim: printable ASCII except `"` and `\`, plus the line separator.
_JSON_UNSAFE = re.compile(rb'[^\x20\x21\x23-\x5b\x5d-\x7e\n]')


def utf8_cut(data: bytes, limit: int) -> int:
    """The largest cut <= limit that does not split a UTF-8 sequence (limit itself if none can be found)."""
    if len(data) <= limit:
        return len(data)
    cut = limit
    # Step back over continuation bytes (10xxxxxx); at most 3 for valid UTF-8.
    while cut > limit - 4 and cut > 0 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut if cut > limit - 4 and cut > 0 else limit


class LineSplitter:
    """Turns a byte stream into lines and chunks; keeps at most CHUNK_LEN bytes of a pending line."""

    __slots__ = ("_chunk_len", "_chunk_no", "_partial")

    def __init__(self, chunk_len: int = CHUNK_LEN) -> None:
        self._partial = b""
        self._chunk_no = 0
        self._chunk_len = chunk_len

    def feed(self, data: bytes) -> list[Line]:
        if self._partial:
            data = self._partial + data
        parts = data.split(b"\n")
        self._partial = parts.pop()
        limit = self._chunk_len
        if b"\r" in data:
            parts = [p.rstrip(b"\r") for p in parts]
        if self._chunk_no == 0 and (not parts or max(map(len, parts)) <= limit):
            out = [(p, 0) for p in parts]
        else:
            out = self._slow(parts)
        if len(self._partial) >= limit:
            out.extend(self._flush_partial())
        return out

    def feed_block(self, data: bytes) -> tuple[bytes, list[bytes]] | None:
        """The common case in one step: whole lines, none long, no CR, no chunk in progress.

        Returns (block, lines) where block is the lines joined by `\\n`, or None without changing any
        state, in which case the caller uses `feed`.
        """
        if self._chunk_no:
            return None
        buf = self._partial + data if self._partial else data
        idx = buf.rfind(b"\n")
        if idx < 0 or len(buf) - idx - 1 >= self._chunk_len:
            return None
        block = buf[:idx]
        if b"\r" in block:
            return None
        parts = block.split(b"\n")
        if max(map(len, parts)) > self._chunk_len:
            return None
        self._partial = buf[idx + 1:]
        return block, parts

    def _slow(self, parts: list[bytes]) -> list[Line]:
        out: list[Line] = []
        for part in parts:
            while len(part) > self._chunk_len:
                cut = utf8_cut(part, self._chunk_len)
                self._chunk_no += 1
                out.append((part[:cut], self._chunk_no))
                part = part[cut:]
            if self._chunk_no:
                if part:
                    out.append((part, self._chunk_no + 1))
                self._chunk_no = 0
            else:
                out.append((part, 0))
        return out

    def _flush_partial(self) -> list[Line]:
        out: list[Line] = []
        while len(self._partial) >= self._chunk_len:
            cut = utf8_cut(self._partial, self._chunk_len)
            self._chunk_no += 1
            out.append((self._partial[:cut].rstrip(b"\r"), self._chunk_no))
            self._partial = self._partial[cut:]
        return out

    def close(self) -> list[Line]:
        """What is left when the pipe closes: an unterminated last line is still a line."""
        rest, self._partial = self._partial.rstrip(b"\r"), b""
        chunk, self._chunk_no = self._chunk_no, 0
        if not rest:
            return []
        return [(rest, chunk + 1 if chunk else 0)]


def _timestamp() -> str:
    now = datetime.datetime.now(datetime.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class BatchRenderer:
    """Renders batches of child lines to a binary stream, in the daemon's log format."""

    def __init__(self, stream: IO[bytes] | None = None, *, json: bool | None = None,
                 enabled: bool = True) -> None:
        self.stream: IO[bytes] = stream if stream is not None else sys.stdout.buffer
        if json is None:
            try:
                json = not self.stream.isatty()
            except (AttributeError, ValueError):
                json = True
        self.json = json
        self.enabled = enabled
        self.lines_written = 0

    def render(self, component: str, stream: str, lines: list[Line]) -> bytes:
        ts = _timestamp()
        if self.json:
            return self._render_json(component, stream, lines, ts)
        return self._render_console(component, stream, lines, ts)

    def _render_json(self, component: str, stream: str, lines: list[Line], ts: str) -> bytes:
        head = b'{"component":' + _dumps(component) + b',"stream":' + _dumps(stream)
        plain = head + b',"event":'
        tail = b',"level":"info","timestamp":"' + ts.encode() + b'"}\n'
        out: list[bytes] = []
        append = out.append
        for content, chunk in lines:
            append(plain if not chunk else head + b',"chunk":' + str(chunk).encode() + b',"event":')
            append(_dumps(content.decode("utf-8", "replace")))
            append(tail)
        return b"".join(out)

    def _render_console(self, component: str, stream: str, lines: list[Line], ts: str) -> bytes:
        rows = []
        for content, chunk in lines:
            text = content.decode("utf-8", "replace")
            extra = f"chunk={chunk} " if chunk else ""
            rows.append(f"{ts} [info     ] {text} {extra}component={component} stream={stream}\n")
        return "".join(rows).encode()

    def render_block(self, component: str, stream: str, block: bytes, parts: list[bytes]) -> bytes:
        """Whole lines; printable-ASCII batches (the usual log output) are rendered by one join."""
        if not self.json or _JSON_UNSAFE.search(block) is not None:
            return self.render(component, stream, [(p, 0) for p in parts])
        head = b'{"component":' + _dumps(component) + b',"stream":' + _dumps(stream) + b',"event":"'
        tail = b'","level":"info","timestamp":"' + _timestamp().encode() + b'"}\n'
        return head + (tail + head).join(parts) + tail

    def write_block(self, component: str, stream: str, data: bytes, splitter: LineSplitter) -> None:
        """Feed one read from a pipe through `splitter` and write what it completes."""
        fast = splitter.feed_block(data)
        if fast is None:
            self.write(component, stream, splitter.feed(data))
        elif self.enabled:
            self._emit(self.render_block(component, stream, *fast), len(fast[1]))

    def _emit(self, data: bytes, count: int) -> None:
        sys.stdout.flush()  # structlog's own events share the stream: keep them in order
        self.stream.write(data)
        self.stream.flush()
        self.lines_written += count

    def write(self, component: str, stream: str, lines: list[Line]) -> None:
        if not lines or not self.enabled:
            return
        self._emit(self.render(component, stream, lines), len(lines))
