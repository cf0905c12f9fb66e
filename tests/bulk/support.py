"""Builders of the bulk tests: an org of their own, files, the CLI, and reads of what was stored."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from click.testing import Result
from starlette.testclient import TestClient
from typer.testing import CliRunner

from patron.cli.main import app
from patron.db.driver import Connection
from tests.conftest import ADMIN, acme_doc, basic, new_org_code, run


def make_org(client: TestClient, prefix: str = "bulk") -> tuple[str, dict[str, str]]:
    """A fresh org with ACME's configuration and a till of its own; its code and Basic header."""
    code = new_org_code(prefix)
    doc = acme_doc(tills=[{"code": f"{code}.till", "password": "s3cret-pass"}], oauthClients=[])
    response = client.put(f"/admin/orgs/{code}", json=doc, headers=ADMIN)
    assert response.status_code == 200, response.text
    return code, basic(f"{code}.till")


def write_jsonl(path: Path, bodies: Iterable[Any]) -> Path:
    """A JSON Lines file of `bodies` (bytes are written as they are)."""
    path.write_bytes(
        b"".join((b if isinstance(b, bytes) else orjson.dumps(b)) + b"\n" for b in bodies)
    )
    return path


def cli(database_url: str, *args: str) -> Result:
    """Run `patron ARGS` against the test database."""
    return CliRunner().invoke(app, [*args, "--database-url", database_url])


def rejects(path: Path) -> list[dict[str, Any]]:
    """The entries of a reject file."""
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def count(client: TestClient, table: str, org: str) -> int:
    """Rows of one org in one table."""

    async def q(conn: Connection) -> int:
        return int(await conn.fetchval(f"SELECT COUNT(*) FROM {table} WHERE org_id = $1", org))

    return run(client, q)


def rows(client: TestClient, sql: str, *args: Any) -> list[dict[str, Any]]:
    """The rows of a query, as dicts."""

    async def q(conn: Connection) -> list[dict[str, Any]]:
        return [dict(r) for r in await conn.fetch(sql, *args)]

    return run(client, q)


def customer_body(n: int, **extra: Any) -> dict[str, Any]:
    """A registration body with an INSTORE mobile and email unique to `n`."""
    return {
        "profiles": [
            {
                "source": "INSTORE",
                "firstName": f"First{n}",
                "identifiers": [
                    {"type": "mobile", "value": f"+91 98{n:08d}"},
                    {"type": "email", "value": f"Person{n}@Example.com"},
                ],
            }
        ],
        **extra,
    }
