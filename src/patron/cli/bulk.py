"""`patron import` and `patron export`: customers in and out of an org as JSON Lines (or CSV in).

Exit codes of `import`: 0 every line applied (or the import had already finished), 1 some lines
refused (see the reject file), 2 a usage error (unknown org, unreadable file, bad option),
3 the database failed mid-way (re-run the same command to resume).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer

from patron.bulk import DEFAULT_BATCH_SIZE
from patron.bulk.formats import FORMATS, FileProblem, Format, guess_format
from patron.bulk.progress import reporter
from patron.cli.database_url import DatabaseUrl, unusable
from patron.config import Settings
from patron.db.driver import Database, DatabaseUnavailable, create_database
from patron.errors import ApiError
from patron.orgs import repository as orgs
from patron.orgs.model import OrgConfig
from patron.orgs.validation import org_id_of

if TYPE_CHECKING:
    from patron.bulk.importer import Summary

OrgOption = Annotated[str, typer.Option("--org", help="The org code.")]

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_DATABASE = 3

# A batch is one transaction and can take seconds on a busy machine: bounds for bulk work, not
# for an API request.
_TIMEOUT_S = 300.0
_STATEMENT_TIMEOUT_MS = 120_000


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _database(database_url: str | None) -> Database:
    settings = Settings()
    url = database_url or settings.database_url
    problem = unusable(url)
    if problem is not None:
        raise _fail(problem)
    return create_database(
        url,
        pool_size=2,
        statement_timeout_ms=_STATEMENT_TIMEOUT_MS,
        timeout_s=_TIMEOUT_S,
        pooler=settings.database_pooler,
    )


async def _config(db: Database, org: str) -> OrgConfig:
    try:
        org_id = org_id_of(org)
    except ApiError:
        raise _fail(f"--org {org!r} is not a valid org code") from None
    async with db.transaction(write=False) as conn:
        config = await orgs.load_config(conn, org_id)
    if config is None:
        raise _fail(f"no org {org!r} in this database")
    return config


async def _import(
    file: Path,
    org: str,
    fmt: Format,
    reject_file: Path,
    batch_size: int,
    preparing: int | None,
    url: str | None,
) -> Summary:
    # Imported here, not at the top: every API worker imports this module with the CLI, and
    # the import machinery (SQLAlchemy's table metadata among it) is no use to a worker.
    from patron.bulk import importer

    db = _database(url)
    try:
        await db.open()
        config = await _config(db, org)
        return await importer.run_import(
            db,
            config,
            file,
            fmt,
            reject_path=reject_file,
            batch_size=batch_size,
            reporter=reporter,
            preparing=preparing,
        )
    except FileProblem as exc:
        raise _fail(str(exc)) from None
    except DatabaseUnavailable as exc:
        raise _fail(
            f"the database failed: {exc}; re-run the same command to resume", EXIT_DATABASE
        ) from None
    finally:
        await db.close()


def import_(
    file: Annotated[Path, typer.Argument(help="JSON Lines (.jsonl) or CSV (.csv) file.")],
    org: OrgOption,
    file_format: Annotated[
        str | None,
        typer.Option("--format", help="jsonl or csv (default: from the file's extension)."),
    ] = None,
    reject_file: Annotated[
        Path | None,
        typer.Option("--reject-file", help="Where refused lines go (default: FILE.rejects.jsonl)."),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=50_000, help="Lines per transaction.")
    ] = DEFAULT_BATCH_SIZE,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=0,
            max=64,
            help="Processes that read, resolve and plan lines beside the one that stores them"
            " (default: one per CPU when the file has more than one batch; 0: none).",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Apply a file of registrations and updates to an org, resumably (docs/import-export.md)."""
    if not file.is_file():
        raise _fail(f"{file}: no such file")
    fmt = file_format or guess_format(file)
    if fmt not in FORMATS:
        raise _fail(f"--format must be one of {', '.join(FORMATS)}")
    rejects = reject_file or file.with_name(file.name + ".rejects.jsonl")
    summary = asyncio.run(_import(file, org, fmt, rejects, batch_size, workers, database_url))
    if summary.already_finished:
        typer.echo(
            f"import {summary.import_id} of {file} into {org!r} had already finished:"
            " nothing to do",
            err=True,
        )
        return
    resumed = f", resumed after line {summary.skipped:,}" if summary.skipped else ""
    typer.echo(
        f"imported {file} into {org!r}{resumed}: {summary.applied:,} applied,"
        f" {summary.refused:,} refused in {summary.seconds:.1f} s"
        f" ({summary.lines_per_second:,.0f} lines/s)"
        + (f"; refused lines are in {rejects}" if summary.refused else ""),
        err=True,
    )
    if summary.refused:
        raise typer.Exit(EXIT_REFUSED)


async def _export(org: str, url: str | None, out: IO[bytes]) -> int:
    from patron.bulk import exporter  # as in _import: not loaded by API workers

    db = _database(url)
    try:
        await db.open()
        config = await _config(db, org)
        return await exporter.export(db, config.org_id, out)
    except DatabaseUnavailable as exc:
        raise _fail(f"the database failed: {exc}", EXIT_DATABASE) from None
    finally:
        await db.close()


def export(
    org: OrgOption,
    output: Annotated[
        str, typer.Option("--output", "-o", help="The file to write, or - for stdout.")
    ] = "-",
    database_url: DatabaseUrl = None,
) -> None:
    """Write every customer of an org as JSON Lines registration bodies that `import` accepts."""
    if output == "-":
        count = asyncio.run(_export(org, database_url, sys.stdout.buffer))
    else:
        try:
            with Path(output).open("wb") as out:
                count = asyncio.run(_export(org, database_url, out))
        except OSError as exc:
            raise _fail(f"{output}: cannot write: {exc}") from None
    typer.echo(f"exported {count:,} customers of {org!r}", err=True)
