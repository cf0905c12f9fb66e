"""SPEC rules 4 and 12 under real concurrency: one holder per (type, value) across sources.

Each round sends its requests at once to a running server over TCP, then asks the database
itself who holds the value: never more than one customer, whatever the interleaving.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from starlette.testclient import TestClient

from patron.db.driver import Connection
from tests.conftest import ADMIN, PASSWORD, basic, new_org_code, run
from tests.live import httpx, live_server

ROUNDS = 20


@pytest.fixture
def two_sources(client: TestClient) -> tuple[str, dict[str, str]]:
    """An org with INSTORE and ECOMMERCE, and its till's credential."""
    code = new_org_code("race")
    doc = {
        "name": "Race",
        "defaultCountry": "IN",
        "sources": [{"source": "INSTORE"}, {"source": "ECOMMERCE"}],
        "tills": [{"code": f"{code}.till", "password": PASSWORD}],
    }
    assert client.put(f"/admin/orgs/{code}", json=doc, headers=ADMIN).status_code == 200
    return code, basic(f"{code}.till")


Call = tuple[str, str, dict[str, str], Any]


async def _at_once(base: str, calls: list[Call], auth: dict[str, str]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(calls))
    async with httpx.AsyncClient(base_url=base, headers=auth, timeout=60, limits=limits) as http:
        return list(
            await asyncio.gather(*(http.request(m, u, params=p, json=b) for m, u, p, b in calls))
        )


def holders(client: TestClient, org: str, type_: str, value: str) -> set[int]:
    """The ids of every customer of `org` with an identifier row of (type, value)."""

    async def q(conn: Connection) -> set[int]:
        rows = await conn.fetch(
            "SELECT DISTINCT customer_id FROM identifiers"
            " WHERE org_id = $1 AND type = $2 AND value = $3",
            org,
            type_,
            value,
        )
        return {int(r["customer_id"]) for r in rows}

    return run(client, q)


def register(client: TestClient, auth: dict[str, str], source: str, *idents: Any) -> int:
    """Register a customer with one profile holding `idents` ((type, value) pairs)."""
    body = {
        "profiles": [
            {"source": source, "identifiers": [{"type": t, "value": v} for t, v in idents]}
        ]
    }
    r = client.post("/v2/customers", json=body, headers=auth)
    assert r.status_code == 200, r.text
    return int(r.json()["createdId"])


def _one_won(responses: list[httpx.Response], code: int) -> None:
    statuses = Counter(x.status_code for x in responses)
    assert statuses == {200: 1, 409: len(responses) - 1}, [x.text for x in responses]
    assert {x.json()["errors"][0]["code"] for x in responses if x.status_code == 409} == {code}


def test_rule_12_racing_registrations_of_one_mobile_in_two_sources(
    client: TestClient, database_url: str, two_sources: tuple[str, dict[str, str]]
) -> None:
    org, auth = two_sources
    with live_server(database_url) as base:
        for r in range(ROUNDS):
            mobile = f"9199970{r:05d}"
            calls: list[Call] = [
                (
                    "POST",
                    "/v2/customers",
                    {},
                    {
                        "profiles": [
                            {"source": source, "identifiers": [{"type": "mobile", "value": mobile}]}
                        ]
                    },
                )
                for source in ("INSTORE", "ECOMMERCE")
            ]
            responses = asyncio.run(_at_once(base, calls, auth))
            _one_won(responses, 8053)
            assert len(holders(client, org, "mobile", mobile)) == 1


def test_rule_12_racing_updates_adding_one_email_in_two_sources(
    client: TestClient, database_url: str, two_sources: tuple[str, dict[str, str]]
) -> None:
    org, auth = two_sources
    a = register(client, auth, "INSTORE", ("mobile", "919997100001"))
    b = register(client, auth, "ECOMMERCE", ("mobile", "919997100002"))
    with live_server(database_url) as base:
        for r in range(ROUNDS):
            email = f"shared{r}@example.com"
            calls: list[Call] = [
                (
                    "PUT",
                    f"/v2/customers/{cid}",
                    {"source": source},
                    {"profiles": [{"identifiers": [{"type": "email", "value": email}]}]},
                )
                for cid, source in ((a, "INSTORE"), (b, "ECOMMERCE"))
            ]
            responses = asyncio.run(_at_once(base, calls, auth))
            _one_won(responses, 8053)
            assert len(holders(client, org, "email", email)) == 1


def _change(cid: int, source: str, body: dict[str, Any]) -> Call:
    return ("POST", f"/v2/customers/{cid}/changeIdentifier", {"source": source}, body)


def test_rule_10_1_racing_to_add_one_identifier_to_two_customers(
    client: TestClient, database_url: str, two_sources: tuple[str, dict[str, str]]
) -> None:
    org, auth = two_sources
    a = register(client, auth, "INSTORE", ("mobile", "919997200001"))
    b = register(client, auth, "INSTORE", ("mobile", "919997200002"))
    c = register(client, auth, "ECOMMERCE", ("mobile", "919997200003"))
    with live_server(database_url) as base:
        for r in range(ROUNDS):
            # Even rounds race within one source (8008), odd rounds across two (8053).
            rival, source, code = (b, "INSTORE", 8008) if r % 2 == 0 else (c, "ECOMMERCE", 8053)
            card = f"CARD-{r}"
            add = {"add": [{"type": "cardnumber", "value": card}]}
            calls = [_change(a, "INSTORE", add), _change(rival, source, add)]
            responses = asyncio.run(_at_once(base, calls, auth))
            _one_won(responses, code)
            assert len(holders(client, org, "cardnumber", card)) == 1


def test_rule_10_1_removing_from_one_customer_while_another_adds_it(
    client: TestClient, database_url: str, two_sources: tuple[str, dict[str, str]]
) -> None:
    org, auth = two_sources
    b = register(client, auth, "ECOMMERCE", ("mobile", "919997300002"))
    taken = 0
    with live_server(database_url) as base:
        for r in range(ROUNDS):
            card = f"MOVE-{r}"
            a = register(
                client, auth, "INSTORE", ("mobile", f"9199974{r:05d}"), ("cardnumber", card)
            )
            calls = [
                _change(a, "INSTORE", {"remove": [{"type": "cardnumber", "value": card}]}),
                _change(b, "ECOMMERCE", {"add": [{"type": "cardnumber", "value": card}]}),
            ]
            removal, addition = asyncio.run(_at_once(base, calls, auth))
            assert removal.status_code == 200, removal.text
            found = holders(client, org, "cardnumber", card)
            if addition.status_code == 200:
                taken += 1
                assert found == {b}
            else:
                # The add was planned before the removal committed: refused as it would be
                # had it come first, and the value ends with nobody.
                assert addition.status_code == 409, addition.text
                assert addition.json()["errors"][0]["code"] == 8053
                assert found == set()
    # However the rounds fell, every value the add lost is free now that the removal committed.
    for r in range(ROUNDS):
        card = f"MOVE-{r}"
        if not holders(client, org, "cardnumber", card):
            again = client.post(
                f"/v2/customers/{b}/changeIdentifier",
                params={"source": "ECOMMERCE"},
                json={"add": [{"type": "cardnumber", "value": card}]},
                headers=auth,
            )
            assert again.status_code == 200, again.text
            taken += 1
    assert taken == ROUNDS
