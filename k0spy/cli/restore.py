"""`k0spy restore FILE|- [--config-out PATH] [--dry-run]`: verify everything, then restore offline."""

from __future__ import annotations

import sys

import click

from k0spy.cli.options import common_options, configure_logging, global_options


@click.command("restore")
@common_options
@click.argument("archive", metavar="FILE|-")
@click.option("--config-out", metavar="PATH|-",
              help="Where to write the archived k0s.yaml [default: k0s_<archive timestamp>.yaml in the "
                   "current directory; stdout when the archive comes from stdin].")
@click.option("--dry-run", is_flag=True, help="Verify the archive and list what would be written where.")
def restore(archive: str, config_out: str | None, dry_run: bool) -> None:
    """Restore a k0s or k0spy backup onto this node, with the controller stopped.

    The whole archive is verified first (checksums, snapshot, CA pair, config); nothing on the node
    changes unless every check passes and no cluster data is in the way.
    """
    from k0spy.backup.archive import default_config_out
    from k0spy.backup.progress import ByteProgress
    from k0spy.backup.restore import refuse_if_running, run_restore
    from k0spy.errors import K0spyError

    configure_logging()
    paths = global_options().paths()
    out = config_out or default_config_out(archive)
    refuse_if_running(paths)
    bar = ByteProgress("reading archive")
    progress = bar if bar.enabled else None
    if archive == "-":
        verified, steps = run_restore(sys.stdin.buffer, "<stdin>", paths, out, dry_run=dry_run,
                                      stdout=sys.stdout.buffer, progress=progress)
    else:
        try:
            stream = open(archive, "rb")  # noqa: SIM115
        except OSError as err:
            raise K0spyError(f"opening the archive {archive}: {err.strerror}",
                             hint="nothing was changed") from err
        with stream:
            verified, steps = run_restore(stream, archive, paths, out, dry_run=dry_run,
                                          stdout=sys.stdout.buffer, progress=progress)
    bar.done()
    for warning in verified.warnings:
        click.echo(f"Warning: {warning}", err=True)
    for fact in verified.facts:
        click.echo(f"verified: {fact}", err=True)
    verb = "would write" if dry_run else "restored"
    for step in steps:
        click.echo(f"{verb} {step.what} -> {step.target}", err=True)
