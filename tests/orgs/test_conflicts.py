"""Conflicts with stored data: credentials of other orgs, programs and tiers customers use."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.testclient import TestClient

from patron import errors
from patron.db.driver import Database
from patron.errors import ApiError
from patron.orgs import repository
from patron.orgs.service import apply_document
from patron.orgs.validation import load_document
from tests.conftest import new_org_code
from tests.orgs.support import PASSWORD, applied, enrol, get, problems, put, small_doc

TAKEN = errors.CREDENTIAL_TAKEN.code
IN_USE = errors.CONFIG_IN_USE.code


def test_till_code_of_another_org_is_409(client: TestClient) -> None:
    org = new_org_code()
    doc = small_doc(org, tills=[{"code": "acme.till", "password": PASSWORD}], oauthClients=[])
    response = put(client, org, doc)
    assert response.status_code == 409
    assert problems(response) == [(TAKEN, "tills[0].code")]
    assert "acme.till" in response.json()["errors"][0]["message"]
    assert get(client, org).status_code == 404


def test_every_taken_credential_is_named(client: TestClient) -> None:
    org = new_org_code()
    doc = small_doc(org)
    doc["tills"].append({"code": "globex.till", "password": PASSWORD})
    doc["oauthClients"].append(
        {"key": "acme-backend", "secret": "long-secret", "till": f"{org}.till"}
    )
    response = put(client, org, doc)
    assert response.status_code == 409
    assert problems(response) == [(TAKEN, "tills[1].code"), (TAKEN, "oauthClients[1].key")]


def test_an_org_keeps_its_own_credentials(client: TestClient) -> None:
    org = new_org_code()
    applied(client, org, small_doc(org))
    assert applied(client, org, small_doc(org, name="Again"))["configVersion"] == 2


def test_a_released_till_code_can_be_taken_by_another_org(client: TestClient) -> None:
    first, second = new_org_code(), new_org_code()
    applied(client, first, small_doc(first))
    till = [{"code": f"{first}.till", "password": PASSWORD}]
    assert put(client, second, small_doc(second, tills=till, oauthClients=[])).status_code == 409
    applied(client, first, small_doc(first, tills=[], oauthClients=[]))
    assert applied(client, second, small_doc(second, tills=till, oauthClients=[]))["tills"] == [
        {"code": f"{first}.till"}
    ]


def test_concurrent_applies_cannot_both_claim_a_till_code(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    db: Database = client.app.state.db  # type: ignore[attr-defined]
    check = repository.credentials_held_elsewhere

    async def slow_check(*args: Any) -> Any:
        # Widen the window between checking and writing, where an unserialised apply would race.
        found = await check(*args)
        await asyncio.sleep(0.2)
        return found

    monkeypatch.setattr(repository, "credentials_held_elsewhere", slow_check)
    shared = f"{new_org_code()}.shared"
    orgs = [new_org_code(), new_org_code()]
    docs = [
        load_document(
            org, small_doc(org, tills=[{"code": shared, "password": PASSWORD}], oauthClients=[])
        )
        for org in orgs
    ]

    async def both() -> list[object]:
        return await asyncio.gather(
            *(apply_document(db, org, doc) for org, doc in zip(orgs, docs, strict=True)),
            return_exceptions=True,
        )

    assert client.portal is not None
    outcomes = client.portal.call(both)
    refused = [o for o in outcomes if isinstance(o, ApiError)]
    assert len(refused) == 1, outcomes
    assert refused[0].status == 409 and refused[0].errors[0].entry is errors.CREDENTIAL_TAKEN
    holders = [org for org in orgs if get(client, org).status_code == 200]
    assert len(holders) == 1


def test_removing_a_program_customers_are_enrolled_in_is_409(client: TestClient) -> None:
    org = new_org_code()
    doc = small_doc(org)
    doc["programs"].append(
        {"programId": 2020, "name": "Kids", "tiers": [{"number": 1, "name": "Starter"}]}
    )
    applied(client, org, doc)
    enrol(client, org, 2020, 1)
    response = put(client, org, small_doc(org))
    assert response.status_code == 409
    assert problems(response) == [(IN_USE, "programs")]
    assert "2020" in response.json()["errors"][0]["message"]
    assert [p["programId"] for p in get(client, org).json()["programs"]] == [1016, 2020]
    assert get(client, org).json()["configVersion"] == 1


def test_removing_a_tier_customers_are_in_is_409(client: TestClient) -> None:
    org = new_org_code()
    applied(client, org, small_doc(org))
    enrol(client, org, 1016, 3)
    doc = small_doc(org)
    del doc["programs"][0]["tiers"][2]
    response = put(client, org, doc)
    assert response.status_code == 409
    assert problems(response) == [(IN_USE, "programs[0].tiers")]
    assert len(get(client, org).json()["programs"][0]["tiers"]) == 3


def test_unused_programs_and_tiers_can_be_removed(client: TestClient) -> None:
    org = new_org_code()
    doc = small_doc(org)
    doc["programs"].append(
        {"programId": 2020, "name": "Kids", "tiers": [{"number": 1, "name": "Starter"}]}
    )
    applied(client, org, doc)
    enrol(client, org, 1016, 2)
    smaller = small_doc(org)
    del smaller["programs"][0]["tiers"][2]
    answer = applied(client, org, smaller)
    assert answer["programs"] == [
        {
            "programId": 1016,
            "name": "Rewards",
            "default": True,
            "tiers": [{"number": 1, "name": "Silver"}, {"number": 2, "name": "Gold"}],
        }
    ]


def test_renaming_programs_and_tiers_keeps_enrolments(client: TestClient) -> None:
    org = new_org_code()
    applied(client, org, small_doc(org))
    enrol(client, org, 1016, 2)
    doc = small_doc(org)
    doc["programs"][0]["name"] = "Renamed"
    doc["programs"][0]["tiers"][1]["name"] = "Golden"
    doc["programs"][0]["default"] = False
    answer = applied(client, org, doc)
    assert answer["configVersion"] == 2
    assert answer["programs"][0]["name"] == "Renamed"
    assert answer["programs"][0]["tiers"][1] == {"number": 2, "name": "Golden"}


def test_validation_errors_outrank_conflicts(client: TestClient) -> None:
    org = new_org_code()
    doc = small_doc(
        org, name="", tills=[{"code": "acme.till", "password": PASSWORD}], oauthClients=[]
    )
    response = put(client, org, doc)
    assert response.status_code == 400
    assert problems(response) == [(errors.INVALID_ORG_DOCUMENT.code, "name")]


def test_till_code_of_another_org_in_another_case_is_409(client: TestClient) -> None:
    first, second = new_org_code(), new_org_code()
    applied(client, first, small_doc(first))
    taken = f"{first}.till".upper()
    doc = small_doc(second, tills=[{"code": taken, "password": PASSWORD}], oauthClients=[])
    response = put(client, second, doc)
    assert response.status_code == 409
    assert problems(response) == [(TAKEN, "tills[0].code")]
    message = response.json()["errors"][0]["message"]
    assert repr(taken) in message and repr(f"{first}.till") in message
    assert get(client, second).status_code == 404


def test_oauth_key_of_another_org_in_another_case_is_409(client: TestClient) -> None:
    first, second = new_org_code(), new_org_code()
    applied(client, first, small_doc(first))
    doc = small_doc(second)
    doc["oauthClients"][0]["key"] = f"{first}-Backend"
    response = put(client, second, doc)
    assert response.status_code == 409
    assert problems(response) == [(TAKEN, "oauthClients[0].key")]
    assert get(client, second).status_code == 404


def test_an_org_may_change_the_case_of_its_own_till_code(client: TestClient) -> None:
    org = new_org_code()
    applied(client, org, small_doc(org))
    upper = small_doc(org, tills=[{"code": f"{org}.TILL", "password": PASSWORD}], oauthClients=[])
    assert applied(client, org, upper)["tills"] == [{"code": f"{org}.TILL"}]
