"""`k0spy kubeconfig admin|create`: kubeconfigs for operators, from the controller's PKI.

cryptography, yaml and pydantic are imported inside the commands so that `k0spy --help` stays cheap.
"""

from __future__ import annotations

from typing import Any

import click

from k0spy.cli.options import common_options, configure_logging, global_options


def _settings() -> Any:
    """PKISettings from the config (--config, or the default k0s.yaml, or defaults)."""
    from k0spy.config.load import load_cluster_config
    from k0spy.pki.settings import PKISettings

    opts = global_options()
    paths = opts.paths()
    loaded = load_cluster_config(opts.config, default_path=paths.default_config, data_dir=paths.data_dir)
    if opts.config or paths.default_config.exists():  # no file, no file warnings
        for warning in loaded.warnings:
            click.echo(f"Warning: {warning.render(loaded.source)}", err=True)
    return PKISettings.from_cluster_config(loaded.config)


@click.group("kubeconfig")
@common_options
def kubeconfig() -> None:
    """Create kubeconfigs for the admin or for a user."""


@kubeconfig.command("admin")
@common_options
def admin() -> None:
    """Print the admin kubeconfig (server: api.externalAddress or api.address)."""
    from k0spy.pki.usercert import admin_kubeconfig

    configure_logging()
    click.echo(admin_kubeconfig(global_options().paths(), _settings()), nl=False)


@kubeconfig.command("create")
@common_options
@click.argument("username")
@click.option("--groups", default="", help="Groups of the user (the certificate's O), e.g. system:masters.")
@click.option("--certificate-expires-after", "expires_after", default="8760h", show_default=True,
              help="Validity of the user's certificate (Go duration).")
@click.option("--context-name", default="k0s", show_default=True, help="Name of the cluster and context.")
def create(username: str, groups: str, expires_after: str, context_name: str) -> None:
    """Sign a client certificate for USERNAME and print a kubeconfig that embeds it.

    The certificate and key are also written as PKI/<USERNAME>.crt/.key (as k0s does). A certificate
    cannot be revoked: keep the validity short for people.
    """
    from k0spy.config.durations import parse_go_duration
    from k0spy.pki.usercert import create_user_kubeconfig, validate_user_name

    configure_logging()
    validate_user_name(username)
    try:
        validity = parse_go_duration(expires_after)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--certificate-expires-after") from err
    text = create_user_kubeconfig(global_options().paths(), _settings(), username, groups=groups,
                                  validity=validity, context=context_name)
    click.echo(text, nl=False)
