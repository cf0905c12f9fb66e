"""SPEC rule 13, retries: an Idempotency-Key makes a write happen once, whatever the retries."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from starlette.testclient import TestClient

from patron.customers import idempotency
from patron.db.driver import Connection, Database
from tests.builders import MOBILE, codes, details, history, lookup_params, profile, register, update
from tests.conftest import ACME_AUTH, GLOBEX_AUTH, count_rows, run, table_counts
from tests.live import httpx, live_server

DUPLICATES = 16

ENROL = {"loyaltyProgramEnrollments": [{"programId": 1016, "tierNumber": 2, "loyaltyPoints": 75}]}


@pytest.fixture(autouse=True)
def no_keys(client: TestClient) -> None:
    """Start every test without stored keys (the shared fixture wipes customer tables only)."""

    async def wipe(conn: Connection) -> None:
        await conn.execute("DELETE FROM idempotency_keys")

    run(client, wipe, write=True)


def new_key() -> str:
    """A key no other request used."""
    return f"key-{uuid.uuid4()}"


def keyed(key: str, auth: dict[str, str] = ACME_AUTH) -> dict[str, str]:
    """Headers of a request carrying `key`."""
    return {**auth, "Idempotency-Key": key}


def stored_key(client: TestClient, key: str, org: str = "acme") -> dict[str, Any] | None:
    """The stored row of a key, or None."""

    async def q(conn: Connection) -> dict[str, Any] | None:
        row = await conn.fetchrow(
            'SELECT fingerprint, status, expires_at FROM idempotency_keys WHERE org_id = $1 AND "key" = $2',
            org,
            key,
        )
        return None if row is None else {k: row[k] for k in ("fingerprint", "status", "expires_at")}

    return run(client, q)


def ledger_rows(client: TestClient, customer_id: int) -> int:
    """Points ledger rows of one customer."""

    async def q(conn: Connection) -> int:
        return int(
            await conn.fetchval(
                "SELECT COUNT(*) FROM points_ledger WHERE customer_id = $1", customer_id
            )
        )

    return run(client, q)


def expire(client: TestClient, key: str) -> None:
    """Make a stored key an hour past its expiry."""

    async def q(conn: Connection) -> None:
        await conn.execute(
            'UPDATE idempotency_keys SET expires_at = $1 WHERE org_id = $2 AND "key" = $3',
            datetime.now(UTC) - timedelta(hours=1),
            "acme",
            key,
        )

    run(client, q, write=True)


def put(client: TestClient, body: Any, key: str, **params: str) -> httpx.Response:
    """PUT /v2/customers/lookup (INSTORE mobile MOBILE) with an Idempotency-Key."""
    return client.put(
        "/v2/customers/lookup", params={**lookup_params(), **params}, json=body, headers=keyed(key)
    )


def test_rule_13_replay_returns_the_first_response_with_the_replay_header(
    client: TestClient,
) -> None:
    register(client)
    key = new_key()
    first = put(client, ENROL, key)
    assert first.status_code == 200, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = put(client, ENROL, key)
    assert again.status_code == 200
    assert again.content == first.content  # byte for byte
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true"


def test_rule_13_points_are_credited_exactly_once(client: TestClient) -> None:
    cid = register(client)
    key = new_key()
    for _ in range(3):
        assert put(client, ENROL, key).status_code == 200
    assert details(client, cid)["loyaltyProgramDetails"][0]["loyaltyPoints"] == 75
    assert ledger_rows(client, cid) == 1
    assert len(history(client, cid)) == 2  # the registration and one update


def test_rule_13_same_key_with_another_body_is_409_and_changes_nothing(
    client: TestClient,
) -> None:
    cid = register(client)
    key = new_key()
    assert put(client, {"extendedFields": {"city": "Pune"}}, key).status_code == 200
    counts = table_counts(client)
    other = put(client, {"extendedFields": {"city": "Delhi"}}, key)
    assert other.status_code == 409
    assert codes(other) == [8170]
    assert table_counts(client) == counts
    assert details(client, cid)["extendedFields"] == {"city": "Pune"}


def test_rule_13_same_key_on_another_route_or_query_is_409(client: TestClient) -> None:
    cid = register(client)
    key = new_key()
    body = {"extendedFields": {"city": "Pune"}}
    assert put(client, body, key).status_code == 200
    by_id = client.put(
        f"/v2/customers/{cid}", params={"source": "INSTORE"}, json=body, headers=keyed(key)
    )
    assert by_id.status_code == 409
    assert codes(by_id) == [8170]
    assert codes(put(client, body, key, use_async="true")) == [8170]


def test_rule_13_query_order_does_not_change_the_fingerprint(client: TestClient) -> None:
    register(client)
    key = new_key()
    body = {"extendedFields": {"city": "Pune"}}
    first = client.put(
        "/v2/customers/lookup?source=INSTORE&identifierName=mobile&identifierValue=919999000001",
        json=body,
        headers=keyed(key),
    )
    assert first.status_code == 200
    shuffled = client.put(
        "/v2/customers/lookup?identifierValue=919999000001&identifierName=mobile&source=INSTORE",
        json=body,
        headers=keyed(key),
    )
    assert shuffled.status_code == 200
    assert shuffled.headers["Idempotent-Replayed"] == "true"


def test_rule_13_dry_run_is_not_recorded_and_not_replayed(client: TestClient) -> None:
    cid = register(client)
    key = new_key()
    dry = put(client, ENROL, key, dryRun="true")
    assert dry.status_code == 200
    assert stored_key(client, key) is None
    assert ledger_rows(client, cid) == 0
    real = put(client, ENROL, key)
    assert real.status_code == 200
    assert "Idempotent-Replayed" not in real.headers
    assert "changes" not in real.json()
    assert ledger_rows(client, cid) == 1
    # A dry run with a recorded key is still a dry run, not a replay of the real request.
    again = put(client, ENROL, key, dryRun="true")
    assert "Idempotent-Replayed" not in again.headers


def test_rule_13_refused_request_leaves_no_key_and_a_retry_gets_the_same_answer(
    client: TestClient,
) -> None:
    register(client)
    key = new_key()
    bad = {"loyaltyProgramEnrollments": [{"programId": 9999}]}
    first = put(client, bad, key)
    assert first.status_code == 400
    assert stored_key(client, key) is None
    retry = put(client, bad, key)
    assert retry.status_code == 400
    assert retry.json() == first.json()
    assert "Idempotent-Replayed" not in retry.headers
    missing = put(client, ENROL, new_key(), identifierValue="919999000999")
    assert missing.status_code == 404
    assert count_rows(client, "idempotency_keys") == 0


def test_rule_13_an_update_that_changes_nothing_is_replayed_too(client: TestClient) -> None:
    cid = register(client)
    key = new_key()
    body = {"profiles": [{"identifiers": [{"type": "mobile", "value": MOBILE}]}]}
    first = put(client, body, key)
    assert first.status_code == 200
    again = put(client, body, key)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert len(history(client, cid)) == 1


def test_rule_13_update_by_id_is_replayed(client: TestClient) -> None:
    cid = register(client)
    key = new_key()

    def call() -> httpx.Response:
        return client.put(
            f"/v2/customers/{cid}", params={"source": "INSTORE"}, json=ENROL, headers=keyed(key)
        )

    first, again = call(), call()
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert ledger_rows(client, cid) == 1


def test_rule_13_registration_replay_returns_the_same_created_id(client: TestClient) -> None:
    key = new_key()
    body = {
        "profiles": [profile()],
        "loyaltyProgramEnrollments": ENROL["loyaltyProgramEnrollments"],
    }
    first = client.post("/v2/customers", json=body, headers=keyed(key))
    assert first.status_code == 200, first.text
    again = client.post("/v2/customers", json=body, headers=keyed(key))
    assert again.status_code == 200  # not 409 8008: the retry is not a second registration
    assert again.json()["createdId"] == first.json()["createdId"]
    assert again.content == first.content
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count_rows(client, "customers") == 1
    assert count_rows(client, "points_ledger") == 1


def test_rule_13_two_orgs_may_use_the_same_key(client: TestClient) -> None:
    key = new_key()
    body = {"profiles": [profile(mobile="+1 415 555 0100")]}
    acme = client.post("/v2/customers", json=body, headers=keyed(key, ACME_AUTH))
    globex = client.post("/v2/customers", json=body, headers=keyed(key, GLOBEX_AUTH))
    assert acme.status_code == globex.status_code == 200, (acme.text, globex.text)
    assert "Idempotent-Replayed" not in globex.headers
    assert acme.json()["createdId"] != globex.json()["createdId"]
    assert count_rows(client, "customers") == 2
    assert stored_key(client, key, "acme") is not None
    assert stored_key(client, key, "globex") is not None


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("k" * 256, "too long"),
        ("", "empty"),
        ("caf\xe9", "not ASCII"),
    ],
)
def test_rule_13_malformed_key_is_400(client: TestClient, value: str, why: str) -> None:
    register(client)
    # Raw bytes, so that a non-ASCII key reaches the server as a client could send it.
    headers = {k.encode(): v.encode() for k, v in ACME_AUTH.items()}
    headers[b"Idempotency-Key"] = value.encode("latin-1")
    response = client.put(
        "/v2/customers/lookup", params=lookup_params(), json=ENROL, headers=headers
    )
    assert response.status_code == 400, why
    assert codes(response) == [8171]
    assert count_rows(client, "points_ledger") == 0


def test_rule_13_key_of_255_printable_characters_is_accepted(client: TestClient) -> None:
    register(client)
    key = ("a !~" * 64)[:255]
    assert put(client, ENROL, key).status_code == 200
    assert put(client, ENROL, key).headers["Idempotent-Replayed"] == "true"


def test_rule_13_two_keys_on_one_request_are_400(client: TestClient) -> None:
    register(client)
    headers = [*ACME_AUTH.items(), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    response = client.put(
        "/v2/customers/lookup", params=lookup_params(), json=ENROL, headers=headers
    )
    assert response.status_code == 400
    assert codes(response) == [8171]


def test_rule_13_key_errors_come_with_the_other_errors_of_the_request(
    client: TestClient,
) -> None:
    register(client)
    headers = {**ACME_AUTH, "Idempotency-Key": "k" * 300}
    response = client.put(
        "/v2/customers/lookup",
        params=lookup_params(source="NOWHERE"),
        json={"loyaltyType": 5},
        headers=headers,
    )
    assert response.status_code == 400
    assert set(codes(response)) >= {8012, 8171, 8101}


def test_rule_13_requests_without_a_key_store_no_key(client: TestClient) -> None:
    register(client)
    assert update(client, ENROL).status_code == 200
    assert count_rows(client, "idempotency_keys") == 0


def test_rule_13_an_expired_key_is_taken_over_by_a_new_request(client: TestClient) -> None:
    cid = register(client)
    key = new_key()
    assert put(client, {"extendedFields": {"city": "Pune"}}, key).status_code == 200
    old = stored_key(client, key)
    assert old is not None
    expire(client, key)
    # Past its 24 hours the key is free again: another body is no conflict, and it runs.
    response = put(client, {"extendedFields": {"city": "Delhi"}}, key)
    assert response.status_code == 200, response.text
    assert "Idempotent-Replayed" not in response.headers
    assert details(client, cid)["extendedFields"] == {"city": "Delhi"}
    new = stored_key(client, key)
    assert new is not None
    assert new["fingerprint"] != old["fingerprint"]
    assert new["expires_at"] > datetime.now(UTC) + timedelta(hours=23)


def test_rule_13_expired_keys_are_purged_in_bounded_batches(client: TestClient) -> None:
    register(client)
    keys = [new_key() for _ in range(4)]
    for i, key in enumerate(keys):
        assert put(client, {"extendedFields": {"children": i}}, key).status_code == 200
    for key in keys[:3]:
        expire(client, key)
    db: Database = client.app.state.db  # type: ignore[attr-defined]
    assert client.portal is not None
    # Bounded: one batch of two, then the rest.
    assert client.portal.call(partial(idempotency.purge, db, batch=2, max_batches=1)) == 2
    assert count_rows(client, "idempotency_keys") == 2
    assert client.portal.call(partial(idempotency.purge, db, batch=2)) == 1
    assert [k for k in keys if stored_key(client, k) is not None] == [keys[3]]


def test_rule_13_the_app_purges_expired_keys_periodically(client: TestClient) -> None:
    register(client)
    key = new_key()
    assert put(client, ENROL, key).status_code == 200
    expire(client, key)
    db: Database = client.app.state.db  # type: ignore[attr-defined]

    async def run_a_while() -> None:
        task = asyncio.create_task(idempotency.purge_periodically(db, every=0.01))
        try:
            for _ in range(500):
                await asyncio.sleep(0.01)
                async with db.transaction(write=False) as conn:
                    if not await conn.fetchval("SELECT COUNT(*) FROM idempotency_keys"):
                        return
        finally:
            task.cancel()

    assert client.portal is not None
    client.portal.call(run_a_while)
    assert count_rows(client, "idempotency_keys") == 0


async def _fire(
    base: str, method: str, url: str, params: dict[str, str], body: Any, headers: dict[str, str]
) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=DUPLICATES)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        return list(
            await asyncio.gather(
                *(
                    http.request(method, url, params=params, json=body, headers=headers)
                    for _ in range(DUPLICATES)
                )
            )
        )


def test_rule_13_concurrent_duplicates_execute_once(client: TestClient, database_url: str) -> None:
    cid = register(client)
    key = new_key()
    with live_server(database_url) as base:
        responses = asyncio.run(
            _fire(base, "PUT", "/v2/customers/lookup", lookup_params(), ENROL, keyed(key))
        )
    assert [r.status_code for r in responses] == [200] * DUPLICATES, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    assert len({r.headers["ETag"] for r in responses}) == 1
    replayed = Counter(r.headers.get("Idempotent-Replayed") for r in responses)
    assert replayed == {"true": DUPLICATES - 1, None: 1}
    assert len(history(client, cid)) == 2  # the registration and exactly one update
    assert ledger_rows(client, cid) == 1
    assert details(client, cid)["loyaltyProgramDetails"][0]["loyaltyPoints"] == 75


def test_rule_13_concurrent_duplicate_registrations_register_once(
    client: TestClient, database_url: str
) -> None:
    key = new_key()
    body = {"profiles": [profile()]}
    with live_server(database_url) as base:
        responses = asyncio.run(_fire(base, "POST", "/v2/customers", {}, body, keyed(key)))
    assert [r.status_code for r in responses] == [200] * DUPLICATES, [r.text for r in responses]
    assert len({r.json()["createdId"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == DUPLICATES - 1
    assert count_rows(client, "customers") == 1
