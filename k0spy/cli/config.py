"""`k0spy config create|validate`: print the default k0s.yaml, check a k0s.yaml as k0s would.

pydantic and yaml are imported inside the commands: `k0spy --help` must not pay for them.
"""

from __future__ import annotations

import click

from k0spy.cli.options import common_options, global_options


@click.group("config")
@common_options
def config() -> None:
    """Create and validate k0s.yaml files."""


@config.command("create")
@common_options
@click.option("--include-images", is_flag=True, help="Include the default images in the output.")
def create(include_images: bool) -> None:
    """Print the default k0s.yaml to stdout.

    As `k0s config create`: the detected address, no images unless --include-images.
    """
    import yaml

    from k0spy.config.model import default_cluster_config

    cfg = default_cluster_config()
    click.echo(
        yaml.safe_dump(cfg.to_k0s_dict(include_images=include_images), sort_keys=True, width=1 << 20),
        nl=False,
    )


@config.command("validate")
@common_options
def validate() -> None:
    """Check a k0s.yaml as k0s would; print every error.

    Exits 0 when the file would be accepted (silently), 1 with every error on stderr otherwise.
    Give the file with --config FILE, or --config - to read stdin. Warnings (fields k0s ignores)
    go to stderr and do not fail the check.
    """
    from k0spy.config.load import load_cluster_config

    opts = global_options()
    if not opts.config:
        raise click.UsageError("--config is required: a file, or - to read standard input")
    loaded = load_cluster_config(opts.config, allow_empty=False, data_dir=opts.paths().data_dir)
    for warning in loaded.warnings:
        click.echo(f"Warning: {warning.render(loaded.source)}", err=True)
