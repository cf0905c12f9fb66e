"""`python -m patron` runs the command-line interface."""

from patron.cli.main import app

app()
