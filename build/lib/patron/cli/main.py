"""The `patron` command: serve, migrate, demo, relay, org apply, docs."""

from __future__ import annotations

import typer

from patron.cli import bulk, docs, relay, serve

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="patron: customer profiles and loyalty enrolments.",
)
app.command()(serve.serve)
app.command()(serve.migrate)
app.command()(serve.demo)
app.command()(relay.relay)
app.command("import")(bulk.import_)
app.command()(bulk.export)
app.add_typer(docs.app, name="docs")


def _register_org() -> None:
    from patron.cli import org

    app.add_typer(org.app, name="org")


_register_org()
