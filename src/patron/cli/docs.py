"""`patron docs`: documents generated from the code (the single sources of truth)."""

from __future__ import annotations

import typer

from patron.errors import catalogue_markdown

app = typer.Typer(no_args_is_help=True, help="Print generated documentation.")


@app.command("errors")
def errors_doc() -> None:
    """docs/errors.md: the error and warning catalogue."""
    typer.echo(catalogue_markdown(), nl=False)
