"""Helpers of the org configuration tests: a small valid document, admin calls, DB reads."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.testclient import TestClient

from patron.db.driver import Connection
from tests.conftest import ADMIN, run

PASSWORD = "till-pass-123"
SECRET = "oauth-secret-123"


def small_doc(code: str, **changes: Any) -> dict[str, Any]:
    """A valid document with one of everything; its till and client are named after `code`."""
    doc: dict[str, Any] = {
        "name": f"Org {code}",
        "defaultCountry": "IN",
        "sources": [{"source": "INSTORE"}, {"source": "WECHAT", "accounts": ["wc_main"]}],
        "tills": [{"code": f"{code}.till", "password": PASSWORD}],
        "oauthClients": [{"key": f"{code}-backend", "secret": SECRET, "till": f"{code}.till"}],
        "extendedFields": [
            {"name": "gender", "dataType": "STANDARD_ENUM", "values": ["Male", "Female"]},
            {"name": "city", "dataType": "STRING"},
        ],
        "customFields": [{"name": "employee"}, {"name": "shoe_size", "dataType": "INTEGER"}],
        "programs": [
            {
                "programId": 1016,
                "name": "Rewards",
                "default": True,
                "tiers": [
                    {"number": 1, "name": "Silver"},
                    {"number": 2, "name": "Gold"},
                    {"number": 3, "name": "Platinum"},
                ],
            }
        ],
        "consoleUsers": [{"login": f"{code}.agent", "password": PASSWORD, "role": "editor"}],
    }
    doc.update(copy.deepcopy(changes))
    return doc


def put(client: TestClient, code: str, doc: Any, **kwargs: Any) -> httpx.Response:
    """PUT /admin/orgs/{code} as the admin."""
    return client.put(f"/admin/orgs/{code}", json=doc, headers=ADMIN, **kwargs)


def get(client: TestClient, code: str) -> httpx.Response:
    """GET /admin/orgs/{code} as the admin."""
    return client.get(f"/admin/orgs/{code}", headers=ADMIN)


def applied(client: TestClient, code: str, doc: Any) -> dict[str, Any]:
    """PUT a document that must be accepted; its answer."""
    response = put(client, code, doc)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def problems(response: httpx.Response) -> list[tuple[int, str | None]]:
    """(code, field) of every error of a refusal."""
    return [(e["code"], e.get("field")) for e in response.json()["errors"]]


def keys_anywhere(value: Any) -> Iterator[str]:
    """Every object key in a JSON value, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from keys_anywhere(item)
    elif isinstance(value, list):
        for item in value:
            yield from keys_anywhere(item)


def org_row(client: TestClient, code: str) -> dict[str, Any]:
    """The org's row of `orgs`."""

    async def q(conn: Connection) -> dict[str, Any]:
        row = await conn.fetchrow("SELECT * FROM orgs WHERE org_id = $1", code)
        assert row is not None
        columns = row.keys()  # an sqlite3.Row iterates over its values, not its keys
        return {k: row[k] for k in columns}

    return run(client, q)


def hashes(client: TestClient, code: str) -> dict[str, str]:
    """Till code or OAuth key -> stored hash, for one org."""

    async def q(conn: Connection) -> dict[str, str]:
        tills = await conn.fetch("SELECT code, password_hash FROM tills WHERE org_id = $1", code)
        keys = await conn.fetch(
            "SELECT client_key, secret_hash FROM oauth_clients WHERE org_id = $1", code
        )
        return {r[0]: r[1] for r in [*tills, *keys]}

    return run(client, q)


def enrol(client: TestClient, code: str, program_id: int, tier: int, customer_id: int = 1) -> None:
    """Store a customer of org `code` enrolled in `program_id` at `tier`, straight in the tables."""

    async def q(conn: Connection) -> None:
        await conn.execute(
            "INSERT INTO customers (org_id, id, version, loyalty_type, extended_fields,"
            " created_at, modified_at, profiles) VALUES ($1, $2, 1, 'loyalty', $3, $4, $4, $5)",
            code,
            customer_id,
            {},
            _now(),
            [],
        )
        await conn.execute(
            "INSERT INTO enrolments (org_id, customer_id, program_id, tier_number,"
            " tier_expiry_date, enrolled_at) VALUES ($1, $2, $3, $4, NULL, $5)",
            code,
            customer_id,
            program_id,
            tier,
            _now(),
        )

    run(client, q, write=True)


def _now() -> datetime:
    return datetime.now(UTC)
