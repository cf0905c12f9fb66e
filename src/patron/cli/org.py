"""`patron org apply FILE`: apply a declarative org document (YAML or JSON) to the database.

The file holds the document of SPEC section 3 and names its org with a top-level `orgCode`
key; `--org CODE` names it instead (both given: they must agree). The command runs the same
service code as `PUT /admin/orgs/{orgCode}`, and does not migrate: run `patron migrate` first.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import typer
import yaml

from patron import errors
from patron.cli.database_url import DatabaseUrl, unusable
from patron.config import Settings
from patron.db.driver import DatabaseUnavailable, create_database
from patron.errors import ApiError, Problem
from patron.orgs import validation
from patron.orgs.schema import OrgDocument, document_markdown
from patron.orgs.validation import ORG_CODE_KEY

app = typer.Typer(no_args_is_help=True, help="Org configurations: apply and document them.")

_YAML_HINT = (
    "note: YAML reads unquoted yes/no/on/off (and so NO, Norway's code) as booleans and 0123 as "
    "a number; quote such values to keep them strings."
)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key repeated in one mapping instead of keeping the last."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"key {key!r} repeated",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _Refused(Exception):
    """The file cannot be applied; `lines` say why."""

    def __init__(self, *lines: str) -> None:
        super().__init__(lines[0])
        self.lines = lines


def read_file(path: Path) -> dict[str, Any]:
    """The mapping a YAML or JSON file holds (`.json` files are read as JSON, others as YAML)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _Refused(f"{path}: cannot read the file: {exc}") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = yaml.load(text, Loader=_UniqueKeyLoader)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise _Refused(
            f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}:", str(exc)
        ) from None
    if not isinstance(data, dict):
        raise _Refused(f"{path}: the document must be a mapping of keys to values")
    return data


def split_org_code(data: dict[str, Any], org: str | None) -> tuple[str, dict[str, Any]]:
    """The org code (from `--org` and/or the file's `orgCode`) and the document without it."""
    document = dict(data)
    in_file = document.pop(ORG_CODE_KEY, None)
    if in_file is not None and not isinstance(in_file, str):
        raise _Refused(f"{ORG_CODE_KEY} must be a string")
    if org is not None and in_file is not None and org != in_file:
        raise _Refused(f"--org {org!r} differs from the file's {ORG_CODE_KEY} {in_file!r}")
    code = org if org is not None else in_file
    if code is None:
        raise _Refused(f"name the org: a top-level {ORG_CODE_KEY} key in the file, or --org CODE")
    return code, document


def _problem_lines(problems: list[Problem]) -> list[str]:
    lines = []
    for p in problems:
        text = (
            p.message
            if p.field is None or p.message.startswith(p.field)
            else f"{p.field}: {p.message}"
        )
        lines.append(f"  - {text} [{p.entry.code}]")
    return lines


def _refusal(path: Path, error: ApiError) -> _Refused:
    count = len(error.errors)
    lines = [
        f"{path}: refused, {count} problem{'s' if count > 1 else ''}:",
        *_problem_lines(error.errors),
    ]
    if path.suffix.lower() != ".json" and any(p.entry is errors.WRONG_TYPE for p in error.errors):
        lines.append(_YAML_HINT)
    return _Refused(*lines)


def _missing_tables(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        return "no such table" in str(exc)
    return isinstance(exc, asyncpg.UndefinedTableError)


def _prepare(
    path: Path, database_url: str, org: str | None
) -> tuple[str, dict[str, Any], OrgDocument]:
    """Read and validate the file and check the database URL, before any I/O on the database."""
    data = read_file(path)
    code, document = split_org_code(data, org)
    try:
        doc = validation.load_document(code, document)
    except ApiError as exc:
        raise _refusal(path, exc) from None
    problem = unusable(database_url)
    if problem is not None:
        raise _Refused(problem)
    return code, data, doc


async def _apply(path: Path, database_url: str, org: str | None) -> tuple[str, dict[str, Any], str]:
    # Loaded here: it hashes a dummy secret when imported (orgs.passwords), which every other
    # `patron` command would pay for at start.
    from patron.orgs import service

    code, data, doc = _prepare(path, database_url, org)
    db = create_database(database_url, pooler=Settings().database_pooler)
    try:
        await db.open()
        config, changed = await service.apply_document(db, code, doc)
    except ApiError as exc:
        raise _refusal(path, exc) from None
    except DatabaseUnavailable as exc:
        raise _Refused(f"the database is unavailable: {exc}") from None
    except (sqlite3.Error, asyncpg.PostgresError, OSError) as exc:
        if _missing_tables(exc):
            raise _Refused(
                "the database has no patron tables: run `patron migrate` first"
            ) from None
        raise _Refused(f"database error: {type(exc).__name__}: {exc}") from None
    finally:
        await db.close()
    verb = ("created" if config.version == 1 else "updated") if changed else "unchanged"
    return code, data, f"org {code!r} {verb}: config version {config.version}"


async def apply_file(
    path: Path, database_url: str, org: str | None = None
) -> tuple[str, dict[str, Any]]:
    """Apply an org file, print a one-line summary, return the org code and the file's mapping.

    On any problem it prints every one of them (with field paths) and raises `typer.Exit(1)`."""
    try:
        code, data, summary = await _apply(path, database_url, org)
    except _Refused as exc:
        for line in exc.lines:
            typer.echo(line, err=True)
        raise typer.Exit(1) from None
    typer.echo(summary)
    return code, data


@app.command("apply")
def apply(
    file: Annotated[Path, typer.Argument(help="The org document, YAML or JSON (.json).")],
    org: Annotated[
        str | None,
        typer.Option("--org", help=f"The org code (default: the file's top-level {ORG_CODE_KEY})."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an org or bring it to exactly the configuration of FILE (idempotent)."""
    import asyncio

    url = database_url or Settings().database_url
    asyncio.run(apply_file(file, url, org))


@app.command("docs")
def docs() -> None:
    """docs/org-config.md: the reference of the org document."""
    typer.echo(document_markdown(), nl=False)
