"""`k0spy certificates check`: every certificate under the data dir, its expiry, chain and renewal.

Exit status: 0 when everything verifies and nothing has expired, 1 otherwise; certificates within 30
days of expiry are warned about on stderr.
"""

from __future__ import annotations

import json
from typing import Any

import click

from k0spy.cli.options import common_options, configure_logging, global_options

COLUMNS = ("CERTIFICATE", "SUBJECT (CN/O)", "ISSUER", "SANS", "EXPIRES", "DAYS", "RENEWED", "STATUS")


@click.group("certificates")
@common_options
def certificates() -> None:
    """Inspect the PKI."""


def _short_name(rfc4514: str) -> str:
    """`O=kubernetes,CN=kubernetes` -> `kubernetes/kubernetes` (CN, then O): the full DN is in -o json."""
    parts = dict(part.split("=", 1) for part in rfc4514.split(",") if "=" in part)
    return "/".join(v for v in (parts.get("CN"), parts.get("O")) if v) or rfc4514


def _sans(sans: list[str], width: int = 40) -> str:
    text = ",".join(sans) or "-"
    return text if len(text) <= width else text[: width - 8] + f"..(+{len(sans)})"


def _rows(reports: list[Any]) -> list[tuple[str, ...]]:
    return [(r.path, _short_name(r.subject) or "-", _short_name(r.issuer) or "-", _sans(r.sans, 32),
             r.not_after[:10] or "-", f"{r.days_left:.0f}" if r.not_after else "-",
             "yes" if r.renewed_on_start else "no", r.status) for r in reports]


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in [COLUMNS, *rows])


@certificates.command("check")
@common_options
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def check(output: str) -> int:
    """List every certificate under the data dir; exit 1 if any is expired or does not verify."""
    from k0spy.pki.check import EXPIRED, INVALID, WARNING, check_certificates, failed

    configure_logging()
    paths = global_options().paths()
    reports = check_certificates(paths)
    if output == "json":
        click.echo(json.dumps([r.as_dict() for r in reports], indent=2))
    elif reports:
        click.echo(_table(_rows(reports)))
    if not reports:
        click.echo(f"No certificates found under {paths.data_dir}", err=True)
        return 1
    for report in reports:
        if report.status in (WARNING, EXPIRED, INVALID):
            level = "Warning" if report.status == WARNING else "Error"
            detail = "; ".join(report.problems) or f"expires in {report.days_left:.0f} days"
            click.echo(f"{level}: {report.path}: {detail}", err=True)
    return 1 if failed(reports) else 0
