"""SPEC 6 rule 7: extended fields, typed by the org's configuration."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.builders import codes, details, fields_of, register, update
from tests.conftest import ADMIN, acme_doc, basic, new_org_code, table_counts

ACCEPTED: list[tuple[str, Any, Any]] = [
    ("city", "Bangalore", "Bangalore"),
    ("children", 2, 2),
    ("children", "3", 3),
    ("annual_income", 12.5, 12.5),
    ("annual_income", "1e3", 1000.0),
    ("is_vip", True, True),
    ("is_vip", "false", False),
    ("dob", "1990-02-28", "1990-02-28"),
    ("anniversary", "2015-06-01T18:30:00+05:30", "2015-06-01T18:30:00+05:30"),
    ("gender", "male", "Male"),
    ("nationality", "India", "IN"),
    ("nationality", "fra", "FR"),
    ("preferred_language", "English", "en"),
    ("preferred_language", "hi", "hi"),
]

REFUSED: list[tuple[str, Any]] = [
    ("city", "x" * 256),
    ("city", 5),
    ("children", "two"),
    ("children", 1.5),
    ("children", True),
    ("annual_income", "lots"),
    ("is_vip", "maybe"),
    ("dob", "28/02/1990"),
    ("dob", "1990-02-30"),
    ("anniversary", "yesterday"),
    ("gender", "robot"),
    ("nationality", "Atlantis"),
    ("preferred_language", "Qwerty"),
]


@pytest.mark.parametrize(("name", "sent", "stored"), ACCEPTED)
def test_rule_07_value_accepted_and_stored_in_its_form(
    client: TestClient, name: str, sent: Any, stored: Any
) -> None:
    cid = register(client)
    response = update(client, {"extendedFields": {name: sent}})
    assert response.status_code == 200, response.text
    assert details(client, cid)["extendedFields"] == {name: stored}


@pytest.mark.parametrize(("name", "sent"), REFUSED)
def test_rule_07_wrong_value_refused_naming_field_and_type(
    client: TestClient, name: str, sent: Any
) -> None:
    cid = register(client)
    response = update(client, {"extendedFields": {name: sent}})
    assert response.status_code == 400
    assert codes(response) == [8141]
    assert fields_of(response) == [f"extendedFields.{name}"]
    assert name in response.json()["errors"][0]["message"]
    assert details(client, cid)["extendedFields"] == {}


def test_rule_07_merged_key_by_key_and_null_removes(client: TestClient) -> None:
    cid = register(client)
    update(client, {"extendedFields": {"city": "Pune", "children": 1}})
    response = update(client, {"extendedFields": {"city": None, "gender": "Female"}})
    assert response.status_code == 200
    assert details(client, cid)["extendedFields"] == {"children": 1, "gender": "Female"}


def test_rule_07_unknown_field_refused_when_strict(client: TestClient) -> None:
    register(client)
    counts = table_counts(client)
    response = update(client, {"extendedFields": {"shoe": "9", "city": "Pune"}})
    assert response.status_code == 400
    assert codes(response) == [8140]
    assert "shoe" in response.json()["errors"][0]["message"]
    assert table_counts(client) == counts


def test_rule_07_unknown_field_dropped_with_warning_when_not_strict(client: TestClient) -> None:
    code = new_org_code("lax")
    doc = acme_doc(
        strictFields=False,
        tills=[{"code": f"{code}.till", "password": "s3cret-pass"}],
        oauthClients=[],
    )
    assert client.put(f"/admin/orgs/{code}", json=doc, headers=ADMIN).status_code == 200
    auth = basic(f"{code}.till")
    cid = register(client, auth=auth)
    response = update(
        client, {"extendedFields": {"shoe": "9", "children": "many", "city": "Pune"}}, auth=auth
    )
    assert response.status_code == 200, response.text
    assert codes(response, "warnings") == [8402, 8402]
    assert details(client, cid, auth=auth)["extendedFields"] == {"city": "Pune"}
