"""`patron serve`, `patron migrate` and `patron demo`."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from typing import Annotated

import typer

from patron.cli.database_url import DatabaseUrl
from patron.config import Settings
from patron.db.driver import parse_database_url
from patron.observability.logs import configure_logging, uvicorn_log_config

Host = Annotated[str | None, typer.Option("--host", envvar="PATRON_HOST", help="Listen address.")]
Port = Annotated[int | None, typer.Option("--port", envvar="PATRON_PORT", help="Listen port.")]
Workers = Annotated[
    int | None, typer.Option("--workers", envvar="PATRON_WORKERS", help="Worker processes.")
]


WORKER_HEALTHCHECK_SECONDS = 30
"""How long uvicorn's supervisor waits for a worker to answer before replacing it."""


def _settings(**given: object) -> Settings:
    """Settings from the environment, with command-line options on top."""
    return Settings(**{k: v for k, v in given.items() if v is not None})  # type: ignore[arg-type]


def _export(settings: Settings) -> None:
    # Worker processes build their own app from the environment: hand the options down.
    os.environ["PATRON_DATABASE_URL"] = settings.database_url
    if settings.admin_token:
        os.environ["PATRON_ADMIN_TOKEN"] = settings.admin_token
    if settings.secret_key:
        os.environ["PATRON_SECRET_KEY"] = settings.secret_key


def _migrate(url: str) -> None:
    try:
        parse_database_url(url)
    except ValueError as exc:
        typer.echo(f"PATRON_DATABASE_URL: {exc}", err=True)
        raise typer.Exit(2) from None
    # A migration reports what an operator must resolve (look-alike values it left) as JSON lines.
    configure_logging()
    # Alembic and SQLAlchemy load only here: each API worker imports this module with the CLI,
    # and they would cost it about 23 MB of memory it never uses.
    from patron.db.migrate import upgrade

    upgrade(url)


def _run(settings: Settings) -> None:
    # The server loads only here, so the other commands (an import, a migration) start without
    # uvicorn and the HTTP layer.
    import uvicorn

    from patron.api.event_loop import serving_loop
    from patron.api.http_protocol import BoundedHttpToolsProtocol
    from patron.observability.workers import multiprocess_directory

    _export(settings)
    # With several workers, metrics live in files every worker can read (multiprocess mode);
    # the directory must exist before the workers import prometheus-client.
    with multiprocess_directory(settings.workers):
        uvicorn.run(
            "patron.app:create_app_from_env",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            loop=serving_loop(settings.event_loop, settings.workers),
            # httptools, with the request head bounded in size (431) and in time.
            http=BoundedHttpToolsProtocol,
            log_level="info",
            log_config=uvicorn_log_config(),
            # patron writes its own request line (JSON, with route, org, till and request id).
            access_log=False,
            proxy_headers=False,
            # A new worker imports the whole CLI before it can answer the supervisor's pings;
            # on a busy machine that takes more than uvicorn's 5 s, and the worker would be
            # killed and restarted while still starting.
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )


def migrate(database_url: DatabaseUrl = None) -> None:
    """Bring the database schema to the latest version."""
    settings = _settings(database_url=database_url)
    _migrate(settings.database_url)
    typer.echo(f"migrated {settings.database_url}")


def serve(
    database_url: DatabaseUrl = None, host: Host = None, port: Port = None, workers: Workers = None
) -> None:
    """Migrate the database if needed and serve the API (no demo data)."""
    settings = _settings(database_url=database_url, host=host, port=port, workers=workers)
    if not settings.secret_key:
        typer.echo(
            "PATRON_SECRET_KEY is not set: it signs OAuth tokens and must be the same on every "
            "worker. Set it to a long random string (e.g. `openssl rand -hex 32`).",
            err=True,
        )
        raise typer.Exit(2)
    _migrate(settings.database_url)
    _run(settings)


def demo(
    org_file: Annotated[Path, typer.Option("--org-file", help="The demo org document.")] = Path(
        "examples/demo-org.yaml"
    ),
    database_url: DatabaseUrl = None,
    host: Host = None,
    port: Port = None,
) -> None:
    """Migrate an SQLite database, load the demo org and serve it, printing how to call it."""
    from patron.cli.org import apply_file

    settings = _settings(database_url=database_url, host=host, port=port, workers=1)
    settings.admin_token = settings.admin_token or secrets.token_urlsafe(24)
    settings.secret_key = settings.secret_key or secrets.token_urlsafe(32)
    _migrate(settings.database_url)
    code, doc = asyncio.run(apply_file(org_file, settings.database_url))
    till = doc["tills"][0]
    base = f"http://{settings.host}:{settings.port}"
    care = next(iter(doc.get("consoleUsers", [])), None)
    console = (
        [f"  console      {base}/console   (sign in as {care['login']} / {care['password']})"]
        if care
        else []
    )
    typer.echo(
        "\n".join(
            [
                "",
                f"patron demo: org {code!r} from {org_file}, database {settings.database_url}",
                f"  API          {base}   (docs: {base}/docs)",
                f"  till         {till['code']} / password {till['password']}",
                f"  Basic header Authorization: Basic {_basic(till['code'], till['password'])}",
                f"  admin token  {settings.admin_token}",
                *console,
                "",
                "Try:",
                f"  curl -s -H 'Authorization: Basic {_basic(till['code'], till['password'])}' \\",
                f"    '{base}/v2/customers/lookup?source=INSTORE&identifierName=mobile&identifierValue=919999000001'",
                "",
            ]
        )
    )
    _run(settings)


def _basic(till: str, password: str) -> str:
    import base64

    from patron.orgs.passwords import md5_hex

    return base64.b64encode(f"{till}:{md5_hex(password)}".encode()).decode()
