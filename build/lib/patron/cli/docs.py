"""`patron docs`: documents generated from the code (the single sources of truth)."""

from __future__ import annotations

from collections.abc import Callable
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


UpdateOption = Annotated[
    Path | None,
    typer.Option("--update", help="Rewrite the generated block of this file in place."),
]


def _show_or_update(text: str, replace: Callable[[str], str], update: Path | None) -> None:
    if update is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    update.write_text(replace(update.read_text()))


@app.command("settings")
def settings_doc(update: UpdateOption = None) -> None:
    """The configuration reference of docs/operations.md (every PATRON_* variable)."""
    _show_or_update(settings_markdown(), replace_reference, update)


@app.command("metrics")
def metrics_doc(update: UpdateOption = None) -> None:
    """The metrics table of docs/observability.md (every metric patron defines)."""
    from patron.observability.metrics import metrics_markdown, replace_metrics_table

    _show_or_update(metrics_markdown(), replace_metrics_table, update)
