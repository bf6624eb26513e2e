"""`k0spy backup --save-path DIR|-` and `k0spy backup --verify FILE|-`.

Thin: parse, pick the streams, call `k0spy.backup`. yaml, pydantic and cryptography are imported by
the library functions only when a backup or a verification actually runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

import click

from k0spy.cli.options import common_options, configure_logging, global_options


class _Bars:
    """One byte counter per phase (snapshot, archive) on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.current: Callable[[int], None] | None = None

    def __call__(self, label: str) -> Callable[[int], None] | None:
        from k0spy.backup.progress import ByteProgress

        self.close()
        bar = ByteProgress(label)
        self.current = bar if bar.enabled else None
        return self.current

    def close(self) -> None:
        from k0spy.backup.progress import ByteProgress

        if isinstance(self.current, ByteProgress):
            self.current.done()
        self.current = None


def _open(file: str) -> IO[bytes]:
    from k0spy.errors import K0spyError

    try:
        return open(file, "rb")  # closed by the caller's with
    except OSError as err:
        raise K0spyError(f"opening the archive {file}: {err.strerror}") from err


def _verify(file: str) -> None:
    import shutil
    import tempfile

    from k0spy.backup.verify import verify_archive

    paths = global_options().paths()
    label = "<stdin>" if file == "-" else file
    try:  # next to the archive (a disk, room for the snapshot), else the temp dir
        near = None if file == "-" else Path(file).parent
        staging = Path(tempfile.mkdtemp(prefix=".k0spy-verify-", dir=near))
    except OSError:
        staging = Path(tempfile.mkdtemp(prefix=".k0spy-verify-"))
    try:
        with sys.stdin.buffer if file == "-" else _open(file) as stream:
            verified = verify_archive(stream, staging, label, paths)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for warning in verified.warnings:
        click.echo(f"Warning: {warning}", err=True)
    for fact in verified.facts:
        click.echo(f"ok  {fact}")
    click.echo(f"archive {label} verified")


@click.command("backup")
@common_options
@click.option("--save-path", metavar="DIR|-", help="Existing directory for the archive, or - for stdout.")
@click.option("--verify", "verify_file", metavar="FILE|-",
              help="Check an archive (members, checksums, snapshot, CA pair, config) without restoring it.")
def backup(save_path: str | None, verify_file: str | None) -> None:
    """Back up the running controller: database snapshot, pki, manifests, images, helmhome and config.

    The archive is k0s_backup_<timestamp>.tar.gz, as k0s names it, readable by `k0s restore` too. It
    gets its name only once complete: an interrupted backup never looks like a finished one.
    """
    from k0spy.errors import K0spyError

    configure_logging()
    if verify_file is not None:
        _verify(verify_file)
        return
    if not save_path:
        raise click.UsageError("--save-path is required: an existing directory, or - for stdout")
    from k0spy.backup.create import check_save_path, run_backup
    from k0spy.backup.source import backup_source

    if save_path != "-":
        check_save_path(Path(save_path))
    elif sys.stdout.isatty():
        raise K0spyError("refusing to write a binary archive to a terminal",
                         hint="redirect stdout: k0spy backup --save-path - > backup.tar.gz")
    source = backup_source(global_options().paths(), global_options().config)
    bars = _Bars()
    try:
        if save_path == "-":
            run_backup(source, None, stdout=sys.stdout.buffer, progress=bars)
            return
        written = run_backup(source, Path(save_path), progress=bars)
    finally:
        bars.close()
    click.echo(f"backup written to {written}", err=True)
