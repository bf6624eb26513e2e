"""Resumable, verified downloads over HTTP(S) with a progress line.

A file is fetched into `<dest>.part`; a dropped connection is retried with `Range: bytes=<have>-` so that
the bytes already received are kept (a server that ignores Range answers 200 and the file restarts from
zero). Only a file whose sha256 matches the pinned value is renamed to `dest`; on a mismatch the partial
file is deleted, so nothing unverified is ever left where a build would pick it up.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import TextIO

import aiohttp

from k0spy.errors import K0spyError

CHUNK = 1 << 16
RETRYABLE = (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError, aiohttp.ClientConnectionError,
             TimeoutError)


class Progress:
    """A one-line progress bar on a terminal; a single summary line otherwise."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.last = 0.0

    def update(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if not self.tty or now - self.last < 0.1:
            return
        self.last = now
        if total:
            width = 30
            filled = int(width * done / total)
            bar = "#" * filled + "-" * (width - filled)
            text = f"\r{self.label} [{bar}] {done / 2**20:7.1f}/{total / 2**20:.1f} MiB"
        else:
            text = f"\r{self.label} {done / 2**20:7.1f} MiB"
        self.stream.write(text)
        self.stream.flush()

    def finish(self, done: int) -> None:
        prefix = "\r" if self.tty else ""
        self.stream.write(f"{prefix}{self.label}: {done / 2**20:.1f} MiB, verified\n")
        self.stream.flush()


def _hash_file(path: Path) -> hashlib._Hash:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest


async def _fetch_once(session: aiohttp.ClientSession, url: str, part: Path, progress: Progress) -> None:
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    async with session.get(url, headers=headers) as response:
        if response.status == 416 and have:
            return  # the part file is already complete
        if response.status not in (200, 206):
            raise K0spyError(f"downloading {url}: HTTP {response.status} {response.reason}",
                             "check the version pins and that the release exists")
        mode = "ab" if response.status == 206 else "wb"
        done = have if response.status == 206 else 0
        total = (response.content_length or 0) + done or None
        with open(part, mode) as out:
            async for chunk in response.content.iter_chunked(CHUNK):
                out.write(chunk)
                done += len(chunk)
                progress.update(done, total)
        if total is not None and done < total:
            raise aiohttp.ClientPayloadError(f"short body: {done} of {total} bytes")


async def download(
    url: str, dest: Path, sha256: str | None, *, session: aiohttp.ClientSession | None = None,
    retries: int = 5, label: str | None = None, stream: TextIO | None = None,
) -> Path:
    """Fetch `url` to `dest`, resuming after dropped connections; verify `sha256` (None: pinning only)."""
    if dest.exists() and sha256 is not None and _hash_file(dest).hexdigest() == sha256:
        return dest
    part = dest.with_name(dest.name + ".part")
    progress = Progress(label or dest.name, stream)
    own = session is None
    client = session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(sock_read=60))
    try:
        for attempt in range(retries + 1):
            try:
                await _fetch_once(client, url, part, progress)
                break
            except RETRYABLE as err:
                if attempt == retries:
                    raise K0spyError(f"downloading {url}: {err} (after {retries} retries)") from err
                await asyncio.sleep(min(0.2 * 2**attempt, 5))
    finally:
        if own:
            await client.close()
    got = _hash_file(part).hexdigest()
    if sha256 is not None and got != sha256:
        part.unlink()
        raise K0spyError(f"downloading {url}: sha256 {got} does not match the pinned {sha256}",
                         "the file was deleted; re-pin (`build.py pin`) only if upstream changed")
    os.replace(part, dest)
    progress.finish(dest.stat().st_size)
    return dest


async def fetch_text(url: str, session: aiohttp.ClientSession | None = None) -> str:
    """A small text file (an upstream checksum list), following redirects."""
    own = session is None
    client = session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
    try:
        async with client.get(url) as response:
            if response.status != 200:
                raise K0spyError(f"fetching {url}: HTTP {response.status} {response.reason}")
            return await response.text()
    except (TimeoutError, aiohttp.ClientError) as err:
        raise K0spyError(f"fetching {url}: {err}", "pinning needs the upstream release sites") from err
    finally:
        if own:
            await client.close()
