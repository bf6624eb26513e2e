"""The parallel gzip writer produces one standard gzip stream, whatever the block boundaries."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import zlib
from pathlib import Path

import pytest

from k0spy.backup.pgzip import BLOCK, ParallelGzipWriter


def _text(size: int) -> bytes:
    return os.urandom(size // 2 + 1).hex().encode()[:size]


@pytest.mark.parametrize("size", [0, 1, BLOCK - 1, BLOCK, 3 * BLOCK + 17])
@pytest.mark.parametrize("workers", [1, 2])
def test_round_trips_through_gzip(size: int, workers: int) -> None:
    data, out = _text(size), io.BytesIO()
    writer = ParallelGzipWriter(out, workers=workers)
    for start in range(0, len(data), 70_001):
        writer.write(data[start:start + 70_001])
    writer.close()
    assert gzip.decompress(out.getvalue()) == data


def test_ratio_matches_plain_deflate_and_gzip_tool_accepts_it(tmp_path: Path) -> None:
    data = _text(4 * BLOCK)
    path = tmp_path / "x.gz"
    with path.open("wb") as handle:
        writer = ParallelGzipWriter(handle, 6, workers=2)
        writer.write(data)
        writer.close()
    plain = len(zlib.compress(data, 6))
    assert path.stat().st_size < plain * 1.01
    check = subprocess.run(["gzip", "-t", str(path)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr


def test_abort_writes_no_trailer() -> None:
    out = io.BytesIO()
    writer = ParallelGzipWriter(out, workers=2)
    writer.write(_text(2 * BLOCK + 5))
    writer.abort()
    with pytest.raises(EOFError):
        gzip.decompress(out.getvalue())
