"""`patron docs`: documents generated from the code (the single sources of truth)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patron.config_doc import replace_reference, settings_markdown
from patron.errors import catalogue_markdown

app = typer.Typer(no_args_is_help=True, help="Print generated documentation.")


@app.command("errors")
def errors_doc() -> None:
    """docs/errors.md: the error and warning catalogue."""
    typer.echo(catalogue_markdown(), nl=False)


@app.command("settings")
def settings_doc(
    update: Annotated[
        Path | None,
        typer.Option("--update", help="Rewrite the reference block of this file in place."),
    ] = None,
) -> None:
    """The configuration reference of docs/operations.md (every PATRON_* variable)."""
    if update is None:
        typer.echo(settings_markdown())
        return
    update.write_text(replace_reference(update.read_text()))


@app.command("metrics")
def metrics_doc(
    update: Annotated[
        Path | None,
        typer.Option("--update", help="Rewrite the metrics table of this file in place."),
    ] = None,
) -> None:
    """The metrics table of docs/observability.md (every metric patron defines)."""
    from patron.observability.metrics import metrics_markdown, replace_metrics_table

    if update is None:
        typer.echo(metrics_markdown(), nl=False)
        return
    update.write_text(replace_metrics_table(update.read_text()))
