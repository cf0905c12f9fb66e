"""SPEC 6 rule 6: custom fields are merged; unknown keys are dropped with a warning."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.builders import codes, details, fields_of, register, the_profile, update
from tests.conftest import ADMIN, acme_doc, basic, new_org_code


def test_rule_06_fields_are_merged_key_by_key(client: TestClient) -> None:
    cid = register(client)
    update(client, {"fields": {"employee": "true", "favourite_colour": "blue"}})
    response = update(client, {"profiles": [{"fields": {"favourite_colour": "green"}}]})
    assert response.status_code == 200
    assert the_profile(details(client, cid))["fields"] == {
        "employee": "true",
        "favourite_colour": "green",
    }


def test_rule_06_null_removes_a_value(client: TestClient) -> None:
    cid = register(client)
    update(client, {"fields": {"employee": "true", "favourite_colour": "blue"}})
    response = update(client, {"fields": {"employee": None}})
    assert response.status_code == 200
    assert the_profile(details(client, cid))["fields"] == {"favourite_colour": "blue"}


def test_rule_06_unknown_key_is_dropped_with_a_warning_naming_it(client: TestClient) -> None:
    cid = register(client)
    response = update(client, {"fields": {"employee": "yes", "shirt": "L"}})
    assert response.status_code == 200
    assert codes(response, "warnings") == [8401]
    assert fields_of(response, "warnings") == ["fields.shirt"]
    assert "shirt" in response.json()["warnings"][0]["message"]
    assert the_profile(details(client, cid))["fields"] == {"employee": "yes"}


def test_rule_06_typed_custom_field_is_validated(client: TestClient) -> None:
    cid = register(client)
    ok = update(client, {"fields": {"shoe_size": "42"}})
    assert ok.status_code == 200
    assert the_profile(details(client, cid))["fields"] == {"shoe_size": 42}
    bad = update(client, {"fields": {"shoe_size": "large"}})
    assert bad.status_code == 400
    assert codes(bad) == [8141]
    assert fields_of(bad) == ["fields.shoe_size"]
    assert "INTEGER" in bad.json()["errors"][0]["message"]


def test_rule_06_untyped_custom_field_must_be_a_string(client: TestClient) -> None:
    register(client)
    response = update(client, {"fields": {"employee": True}})
    assert response.status_code == 400
    assert codes(response) == [8141]


def test_rule_06_ill_typed_custom_field_dropped_when_not_strict(client: TestClient) -> None:
    code = new_org_code("lax")
    doc = acme_doc(
        strictFields=False,
        tills=[{"code": f"{code}.till", "password": "s3cret-pass"}],
        oauthClients=[],
    )
    assert client.put(f"/admin/orgs/{code}", json=doc, headers=ADMIN).status_code == 200
    auth = basic(f"{code}.till")
    cid = register(client, auth=auth)
    response = update(client, {"fields": {"shoe_size": "large", "employee": "x"}}, auth=auth)
    assert response.status_code == 200, response.text
    assert codes(response, "warnings") == [8402]
    assert the_profile(details(client, cid, auth=auth))["fields"] == {"employee": "x"}
