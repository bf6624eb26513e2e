"""`k0spy sysinfo`: run the pre-flight probes (with the debug ones) and show every result.

As `k0s sysinfo`: both roles by default (`--controller=false` / `--worker=false` to drop one), text, JSON
or YAML output, exit 1 with "sysinfo failed" when any probe rejected the machine or could not look.
"""

from __future__ import annotations

import sys

import click

from k0spy.cli.options import common_options, configure_logging


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@common_options
@click.option("--controller", type=click.BOOL, default=True, is_flag=False, flag_value=True,
              metavar="true|false", help="Include controller-specific sysinfo [default: true].")
@click.option("--worker", type=click.BOOL, default=True, is_flag=False, flag_value=True,
              metavar="true|false", help="Include worker-specific sysinfo [default: true].")
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text",
              show_default=True, help="Output format.")
def sysinfo(controller: bool, worker: bool, output: str) -> int:
    """Run k0spy's pre-flight checks and print the results to stdout."""
    from k0spy.errors import K0spyError
    from k0spy.sysinfo import run_probes
    from k0spy.sysinfo.render import render_json, render_text, render_yaml

    opts = configure_logging()
    report = run_probes(opts.paths(), controller=controller, worker=worker, debug=True)
    if output == "json":
        text = render_json(report)
    elif output == "yaml":
        text = render_yaml(report)
    else:
        text = render_text(report, colour=sys.stdout.isatty())
    click.echo(text, nl=False)
    if report.failed:
        raise K0spyError("sysinfo failed", "the rejected and error lines above say what to fix")
    return 0

