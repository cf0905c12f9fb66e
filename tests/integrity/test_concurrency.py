"""SPEC rule 12 under real concurrency: many clients against a running server, over TCP."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import ADMIN, PASSWORD, basic, new_org_code
from tests.live import httpx, live_server

WRITERS = 16
ROUNDS = 5


@pytest.fixture
def busy_org(client: TestClient) -> tuple[str, dict[str, str]]:
    """An org with one STRING extended field per writer."""
    code = new_org_code("busy")
    doc = {
        "name": "Busy",
        "defaultCountry": "IN",
        "sources": [{"source": "INSTORE"}, {"source": "ECOMMERCE"}],
        "tills": [{"code": f"{code}.till", "password": PASSWORD}],
        "extendedFields": [{"name": f"f{i}", "dataType": "STRING"} for i in range(WRITERS)],
        "programs": [
            {"programId": 1, "name": "P", "default": True, "tiers": [{"number": 1, "name": "T"}]}
        ],
    }
    assert client.put(f"/admin/orgs/{code}", json=doc, headers=ADMIN).status_code == 200
    return code, basic(f"{code}.till")


def _lookup(mobile: str) -> dict[str, str]:
    return {"source": "INSTORE", "identifierName": "mobile", "identifierValue": mobile}


async def _gather(
    base: str, calls: list[tuple[str, str, dict[str, Any], Any]], auth: dict[str, str]
) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(calls))
    async with httpx.AsyncClient(base_url=base, headers=auth, timeout=60, limits=limits) as http:
        return list(
            await asyncio.gather(*(http.request(m, u, params=p, json=b) for m, u, p, b in calls))
        )


def test_rule_12_concurrent_writers_never_lose_each_others_changes(
    client: TestClient, database_url: str, busy_org: tuple[str, dict[str, str]]
) -> None:
    _, auth = busy_org
    mobile = "919999000101"
    reg = client.post(
        "/v2/customers",
        json={
            "profiles": [
                {"source": "INSTORE", "identifiers": [{"type": "mobile", "value": mobile}]}
            ]
        },
        headers=auth,
    )
    assert reg.status_code == 200, reg.text
    cid = reg.json()["createdId"]
    with live_server(database_url) as base:
        for r in range(ROUNDS):
            calls = [
                (
                    "PUT",
                    "/v2/customers/lookup",
                    _lookup(mobile),
                    {"extendedFields": {f"f{i}": f"w{i}-r{r}"}},
                )
                for i in range(WRITERS)
            ]
            responses = asyncio.run(_gather(base, calls, auth))
            assert [x.status_code for x in responses] == [200] * WRITERS, [
                x.text for x in responses if x.status_code != 200
            ]
    details = client.get(f"/v2/customers/{cid}", headers=auth).json()
    assert details["extendedFields"] == {f"f{i}": f"w{i}-r{ROUNDS - 1}" for i in range(WRITERS)}
    history = client.get(
        f"/v2/customers/{cid}/changes", params={"limit": 100}, headers=auth
    ).json()["data"]
    assert len(history) == 1 + WRITERS * ROUNDS  # every write was applied on top of the one before


def test_rule_12_racing_to_add_one_identifier_to_two_customers(
    client: TestClient, database_url: str, busy_org: tuple[str, dict[str, str]]
) -> None:
    _, auth = busy_org
    mobiles = [f"9199990002{i:02d}" for i in range(WRITERS)]
    for m in mobiles:
        r = client.post(
            "/v2/customers",
            json={
                "profiles": [{"source": "INSTORE", "identifiers": [{"type": "mobile", "value": m}]}]
            },
            headers=auth,
        )
        assert r.status_code == 200, r.text
    with live_server(database_url) as base:
        calls = [
            (
                "PUT",
                "/v2/customers/lookup",
                _lookup(m),
                {"profiles": [{"identifiers": [{"type": "email", "value": "shared@example.com"}]}]},
            )
            for m in mobiles
        ]
        responses = asyncio.run(_gather(base, calls, auth))
    statuses = Counter(x.status_code for x in responses)
    assert statuses == {200: 1, 409: WRITERS - 1}, [x.text for x in responses]
    assert {x.json()["errors"][0]["code"] for x in responses if x.status_code == 409} == {8008}
    holders = client.get(
        "/v2/customers/lookup",
        params={
            "source": "INSTORE",
            "identifierName": "email",
            "identifierValue": "shared@example.com",
        },
        headers=auth,
    )
    assert holders.status_code == 200


def test_rule_12_racing_registrations_of_one_identifier(
    client: TestClient, database_url: str, busy_org: tuple[str, dict[str, str]]
) -> None:
    _, auth = busy_org
    body = {
        "profiles": [
            {"source": "INSTORE", "identifiers": [{"type": "externalId", "value": "EXT-RACE"}]}
        ]
    }
    with live_server(database_url) as base:
        responses = asyncio.run(
            _gather(base, [("POST", "/v2/customers", {}, body)] * WRITERS, auth)
        )
    statuses = Counter(x.status_code for x in responses)
    assert statuses == {200: 1, 409: WRITERS - 1}, [x.text for x in responses]
    assert {x.json()["errors"][0]["code"] for x in responses if x.status_code == 409} == {8008}
