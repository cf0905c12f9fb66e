"""Check that a loaded database holds exactly what patron itself would have stored.

Two checks, through patron's own API (in this process, over ASGI):

1. **Twins.** For each kind of customer (enrolled or not, with or without a WECHAT profile) a
   customer number past the loaded ones is registered with `POST /v2/customers` and
   `dataset.registration_body(n)`. Its rows, read back from every customer table, must equal the
   rows the loader builds for the same number (`stored.append_customer`), apart from the
   columns that record when and by which request they were written.
2. **Reads.** A few loaded customers (and the twins) are fetched with
   `GET /v2/customers/lookup/customerDetails` by mobile, email and externalId, and must answer
   exactly `dataset.expected_details(n)`.

    python -m bench.verify --database-url postgresql://postgres@127.0.0.1:5432/patron_bench \\
        --customers 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from bench import dataset, stored
from bench.common import BenchError, log
from bench.inprocess import InProcessPatron, patron_app
from patron.db.driver import parse_database_url

JSON_COLUMNS = frozenset({"extended_fields", "fields", "meta", "changes", "profiles"})
DETAILS = "/v2/customers/lookup/customerDetails"


async def twin_numbers(p: InProcessPatron, customers: int) -> list[int]:
    """A free customer number past the loaded ones for each (enrolled, WECHAT profile) kind.

    Numbers registered by an earlier verification of the same database are skipped.
    """
    found: dict[tuple[bool, bool], int] = {}
    n = customers + 1
    while len(found) < 4:
        kind = (dataset.enrolled(n), dataset.has_wechat(n))
        if kind not in found and not await _registered(p, n):
            found[kind] = n
        n += 1
    return sorted(found.values())


async def _registered(p: InProcessPatron, n: int) -> bool:
    org = dataset.org_code(dataset.org_index(n))
    response = await p.client.get(
        "/v2/customers/lookup",
        params={
            "source": "INSTORE",
            "identifierName": "externalId",
            "identifierValue": dataset.external_id(n),
        },
        headers={"Authorization": dataset.basic_auth(org)},
    )
    if response.status_code not in (200, 404):
        raise BenchError(f"looking up customer {n}: {response.status_code} {response.text}")
    return response.status_code == 200


def _normalise(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in stored.VOLATILE_COLUMNS:
            out[key] = "<set>" if value is not None else None
            continue
        if isinstance(value, str) and key in JSON_COLUMNS:
            value = orjson.loads(str(value))  # SQLite text, or the loader's encoded Json
        if key == "profiles" and isinstance(value, list):
            # The customer's profiles (`patron.customers.profiles_doc`) carry their own times.
            value = [_normalise(p) for p in value]
        if isinstance(value, bool):
            value = int(value)  # SQLite stores booleans as 0/1
        out[key] = value
    return out


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: orjson.dumps(r, option=orjson.OPT_SORT_KEYS))


def expected_rows(n: int, customer_id: int) -> dict[str, list[dict[str, Any]]]:
    """The loader's rows of customer n stored as `customer_id`, normalised for comparison."""
    batch = stored.Batch()
    stored.append_customer(batch, n, customer_id, datetime.now(UTC))
    return {
        table: _sorted([_normalise(dict(zip(stored.COLUMNS[table], r, strict=True))) for r in rows])
        for table, rows in batch.rows.items()
    }


def _where(table: str) -> str:
    return "org_id = $1 AND " + ("id" if table == "customers" else "customer_id") + " = $2"


async def _pg_rows(url: str, org: str, customer_id: int) -> dict[str, list[dict[str, Any]]]:
    conn = await asyncpg.connect(url)
    try:
        for name in ("json", "jsonb"):
            await conn.set_type_codec(
                name, encoder=orjson.dumps, decoder=orjson.loads, schema="pg_catalog"
            )
        out = {}
        for table in stored.CUSTOMER_TABLES:
            rows = await conn.fetch(
                f"SELECT * FROM {table} WHERE {_where(table)}", org, customer_id
            )
            out[table] = _sorted([_normalise(dict(r)) for r in rows])
        return out
    finally:
        await conn.close()


def _sqlite_rows(path: str, org: str, customer_id: int) -> dict[str, list[dict[str, Any]]]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        out = {}
        for table in stored.CUSTOMER_TABLES:
            sql = f"SELECT * FROM {table} WHERE {_where(table)}".replace("$", "?")
            rows = conn.execute(sql, (org, customer_id)).fetchall()
            out[table] = _sorted([_normalise(dict(r)) for r in rows])
        return out
    finally:
        conn.close()


def _differences(
    actual: dict[str, list[dict[str, Any]]], expected: dict[str, list[dict[str, Any]]]
) -> list[str]:
    problems = []
    for table in stored.CUSTOMER_TABLES:
        got, want = actual.get(table, []), expected.get(table, [])
        if got != want:
            problems.append(
                f"{table}:\n    patron stored: {json.dumps(got, default=str)}\n"
                f"    loader writes: {json.dumps(want, default=str)}"
            )
    return problems


async def _details(p: InProcessPatron, n: int, id_type: str, value: str) -> dict[str, Any]:
    org = dataset.org_code(dataset.org_index(n))
    response = await p.client.get(
        DETAILS,
        params={"source": "INSTORE", "identifierName": id_type, "identifierValue": value},
        headers={"Authorization": dataset.basic_auth(org)},
    )
    if response.status_code != 200:
        raise BenchError(
            f"customer {n} by {id_type} {value}: {response.status_code} {response.text}"
        )
    body: dict[str, Any] = response.json()
    return body


async def check_details(
    p: InProcessPatron, n: int, customer_id: int, created: str | None = None
) -> None:
    """Customer n answers `expected_details` by each of its INSTORE identifiers."""
    want = dataset.expected_details(n, customer_id)
    lookups = [
        ("mobile", dataset.mobile(n)),
        ("mobile", f"+91 {dataset.mobile_national(n)}"),
        ("email", dataset.email(n).upper()),
        ("externalId", dataset.external_id(n)),
    ]
    for id_type, value in lookups:
        got = await _details(p, n, id_type, value)
        for profile in got.get("profiles", []):
            attribution = profile.get("attribution", {})
            dates = attribution.pop("createDate", None), attribution.pop("modifiedDate", None)
            if created is not None and dates != (created, created):
                raise BenchError(f"customer {n}: attribution dates {dates}, loaded at {created}")
        if got != want:
            raise BenchError(
                f"customer {n} by {id_type} {value}: patron answers\n  {json.dumps(got)}\n"
                f"but the loader meant\n  {json.dumps(want)}"
            )


async def check_twins(p: InProcessPatron, database_url: str, customers: int) -> list[int]:
    """Register one twin per kind of customer and compare its rows with the loader's."""
    parsed = parse_database_url(database_url)
    ids = []
    for n in await twin_numbers(p, customers):
        org = dataset.org_code(dataset.org_index(n))
        response = await p.client.post(
            "/v2/customers",
            json=dataset.registration_body(n),
            headers={"Authorization": dataset.basic_auth(org)},
        )
        if response.status_code != 200:
            raise BenchError(f"registering twin {n}: {response.status_code} {response.text}")
        customer_id = int(response.json()["createdId"])
        if customer_id <= customers:
            raise BenchError(
                f"twin {n} got id {customer_id}: the id sequence was not moved past the load"
            )
        if parsed.dialect == "postgresql":
            actual = await _pg_rows(parsed.driver_dsn, org, customer_id)
        else:
            actual = _sqlite_rows(parsed.sqlite_path, org, customer_id)
        problems = _differences(actual, expected_rows(n, customer_id))
        if problems:
            raise BenchError(
                f"the loader does not write what patron stores for customer {n}"
                f" (twin id {customer_id}):\n  " + "\n  ".join(problems)
            )
        await check_details(p, n, customer_id)
        ids.append(customer_id)
    return ids


def _samples(customers: int) -> list[int]:
    wanted = [1, 2, 3, 4, 5, 20, customers // 2, customers]
    return sorted({n for n in wanted if 1 <= n <= customers})


def _api_timestamp(loaded_at: str) -> str:
    return datetime.fromisoformat(loaded_at).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def verify(database_url: str, customers: int, loaded_at: str | None) -> dict[str, Any]:
    """Run both checks on a freshly loaded database; a summary of what was checked."""
    for n in _samples(customers):
        if orjson.loads(stored.history_json(n)) != stored.history_changes(n):
            raise BenchError(f"stored.history_json({n}) differs from history_changes({n})")
    created = _api_timestamp(loaded_at) if loaded_at else None
    async with patron_app(database_url) as p:
        for n in _samples(customers):
            await check_details(p, n, n, created)
        twins = await check_twins(p, database_url, customers)
    samples = _samples(customers)
    summary: dict[str, Any] = {
        "loaded_customers_read": samples,
        "twins_registered": twins,
        "tables_compared": list(stored.CUSTOMER_TABLES),
    }
    log(
        f"  verified: {len(samples)} loaded customers read back as"
        f" meant; {len(twins)} twins registered through the API match the loader row for row"
    )
    return summary


def main() -> None:
    """Command line: verify one loaded database."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--customers", type=int, required=True)
    args = parser.parse_args()
    try:
        summary = asyncio.run(verify(args.database_url, args.customers, None))
    except BenchError as exc:
        raise SystemExit(f"bench.verify: {exc}") from None
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
