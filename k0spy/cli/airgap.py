"""`k0spy airgap list-images`: the image URIs an air-gapped node must have (k0s airgap list-images).

pydantic and yaml load inside the command, so that `k0spy --help` stays cheap.
"""

from __future__ import annotations

import platform as host

import click

from k0spy.cli.options import common_options, global_options

ARCHES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "riscv64": "riscv64"}


def host_platform() -> str:
    return f"linux/{ARCHES.get(host.machine(), host.machine())}"


@click.group("airgap")
@common_options
def airgap() -> None:
    """Tools for air-gapped installations."""


@airgap.command("list-images")
@common_options
@click.option("--all", "all_images", is_flag=True,
              help="Include all images, even if they are not used in the current configuration.")
@click.option("--platform", "platform_text", metavar="OS/ARCH", default=host_platform, show_default="host",
              help="The platform to list images for (linux/amd64, linux/arm/v7, windows/amd64, ...).")
def list_images(all_images: bool, platform_text: str) -> None:
    """List image names and versions needed for air-gapped installations, one per line.

    Reads the config given with -c/--config (or the default k0s.yaml, or the defaults when there is
    none); `spec.images.repository` rewriting is applied.
    """
    from k0spy.assets.airgap import Platform, image_uris
    from k0spy.config.load import load_cluster_config

    platform = Platform.parse(platform_text)
    opts = global_options()
    paths = opts.paths()
    loaded = load_cluster_config(opts.config, default_path=paths.default_config, data_dir=paths.data_dir)
    for warning in loaded.warnings:
        click.echo(f"Warning: {warning.render(loaded.source)}", err=True)
    for uri in image_uris(loaded.config, platform, all_images):
        click.echo(uri)
