"""SPEC rule 13, conditional updates: `If-Match: <ETag>` makes an update conditional (412)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.builders import codes, details, history, lookup_params, register
from tests.conftest import ACME_AUTH, table_counts
from tests.live import httpx, live_server

CITY = {"extendedFields": {"city": "Pune"}}
WRITERS = 16


def put(client: TestClient, body: Any, if_match: str | None, **params: str) -> httpx.Response:
    """PUT /v2/customers/lookup (INSTORE mobile MOBILE) with an If-Match header."""
    headers = dict(ACME_AUTH)
    if if_match is not None:
        headers["If-Match"] = if_match
    return client.put(
        "/v2/customers/lookup", params={**lookup_params(), **params}, json=body, headers=headers
    )


def etag_of(client: TestClient, customer_id: int) -> str:
    """The ETag a read of the customer carries."""
    response = client.get(f"/v2/customers/{customer_id}", headers=ACME_AUTH)
    assert response.status_code == 200
    return response.headers["ETag"]


def test_rule_13_if_match_with_the_current_etag_updates_and_answers_the_new_etag(
    client: TestClient,
) -> None:
    cid = register(client)
    tag = etag_of(client, cid)
    response = put(client, CITY, tag)
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] != tag
    assert response.headers["ETag"] == etag_of(client, cid)
    assert details(client, cid)["extendedFields"] == {"city": "Pune"}


def test_rule_13_if_match_with_a_stale_etag_is_412_and_stores_nothing(client: TestClient) -> None:
    cid = register(client)
    stale = etag_of(client, cid)
    assert put(client, {"extendedFields": {"city": "Delhi"}}, None).status_code == 200
    counts = table_counts(client)
    before = details(client, cid)
    response = put(client, CITY, stale)
    assert response.status_code == 412
    assert codes(response) == [8172]
    assert table_counts(client) == counts
    assert details(client, cid) == before
    assert len(history(client, cid)) == 2


def test_rule_13_if_match_star_matches_any_existing_customer(client: TestClient) -> None:
    cid = register(client)
    assert put(client, {"extendedFields": {"city": "Delhi"}}, None).status_code == 200
    response = put(client, CITY, "*")
    assert response.status_code == 200
    assert details(client, cid)["extendedFields"] == {"city": "Pune"}


def test_rule_13_if_match_list_matches_when_one_tag_is_current(client: TestClient) -> None:
    cid = register(client)
    tag = etag_of(client, cid)
    response = put(client, CITY, f'"41", "a,b", {tag}')
    assert response.status_code == 200, response.text


def test_rule_13_if_match_list_spread_over_header_lines(client: TestClient) -> None:
    cid = register(client)
    headers = [*ACME_AUTH.items(), ("If-Match", '"41"'), ("If-Match", etag_of(client, cid))]
    response = client.put(
        "/v2/customers/lookup", params=lookup_params(), json=CITY, headers=headers
    )
    assert response.status_code == 200, response.text


def test_rule_13_if_match_weak_tag_never_matches(client: TestClient) -> None:
    cid = register(client)
    response = put(client, CITY, f"W/{etag_of(client, cid)}")
    assert response.status_code == 412
    assert codes(response) == [8172]


def test_rule_13_if_match_on_an_unknown_customer_is_404(client: TestClient) -> None:
    register(client)
    by_lookup = put(client, CITY, '"1"', identifierValue="919999000999")
    assert by_lookup.status_code == 404
    assert codes(by_lookup) == [8015]
    by_id = client.put(
        "/v2/customers/987654",
        params={"source": "INSTORE"},
        json=CITY,
        headers={**ACME_AUTH, "If-Match": "*"},
    )
    assert by_id.status_code == 404
    assert codes(by_id) == [8015]


def test_rule_13_if_match_on_update_by_id(client: TestClient) -> None:
    cid = register(client)
    tag = etag_of(client, cid)

    def call() -> httpx.Response:
        return client.put(
            f"/v2/customers/{cid}",
            params={"source": "INSTORE"},
            json=CITY,
            headers={**ACME_AUTH, "If-Match": tag},
        )

    assert call().status_code == 200
    stale = call()  # the first call moved the version on
    assert stale.status_code == 412
    assert codes(stale) == [8172]


@pytest.mark.parametrize("value", ["3", '"3', '*, "3"', "W/3", "", " , "])
def test_rule_13_malformed_if_match_is_400(client: TestClient, value: str) -> None:
    register(client)
    response = put(client, CITY, value)
    assert response.status_code == 400
    assert codes(response) == [8173]


def test_rule_13_dry_run_with_a_stale_etag_is_412(client: TestClient) -> None:
    cid = register(client)
    stale = etag_of(client, cid)
    assert put(client, {"extendedFields": {"city": "Delhi"}}, None).status_code == 200
    assert put(client, CITY, stale, dryRun="true").status_code == 412
    assert put(client, CITY, etag_of(client, cid), dryRun="true").status_code == 200


def test_rule_13_errors_of_the_request_outrank_a_failed_precondition(client: TestClient) -> None:
    register(client)
    response = put(client, {"extendedFields": {"children": "many"}}, '"999"')
    assert response.status_code == 400
    assert set(codes(response)) == {8141, 8172}


def test_rule_13_a_replay_is_answered_before_if_match(client: TestClient) -> None:
    cid = register(client)
    headers = {**ACME_AUTH, "If-Match": etag_of(client, cid), "Idempotency-Key": str(uuid.uuid4())}

    def call() -> httpx.Response:
        return client.put(
            "/v2/customers/lookup", params=lookup_params(), json=CITY, headers=headers
        )

    first = call()
    assert first.status_code == 200
    # The If-Match is stale now, but the retry is the same request: it gets the first answer.
    again = call()
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content


async def _race(base: str, bodies: list[Any], tag: str) -> list[httpx.Response]:
    headers = {**ACME_AUTH, "If-Match": tag}
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        return list(
            await asyncio.gather(
                *(
                    http.put(
                        "/v2/customers/lookup", params=lookup_params(), json=b, headers=headers
                    )
                    for b in bodies
                )
            )
        )


def test_rule_13_concurrent_updates_from_one_version_only_one_wins(
    client: TestClient, database_url: str
) -> None:
    cid = register(client)
    tag = etag_of(client, cid)
    bodies = [{"extendedFields": {"children": i}} for i in range(WRITERS)]
    with live_server(database_url) as base:
        responses = asyncio.run(_race(base, bodies, tag))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 412: WRITERS - 1}, [r.text for r in responses]
    winner = next(i for i, r in enumerate(responses) if r.status_code == 200)
    assert details(client, cid)["extendedFields"] == {"children": winner}
    assert len(history(client, cid)) == 2
