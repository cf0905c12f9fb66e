"""SPEC 6 rule 3: names are trimmed, at most 100 characters, and null clears them."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.builders import codes, details, fields_of, register, the_profile, update
from tests.conftest import table_counts


def test_rule_03_names_are_trimmed_and_stored(client: TestClient) -> None:
    cid = register(client)
    response = update(client, {"profiles": [{"firstName": "  Tom ", "lastName": "Sawyer  "}]})
    assert response.status_code == 200, response.text
    p = the_profile(details(client, cid))
    assert (p["firstName"], p["lastName"]) == ("Tom", "Sawyer")


def test_rule_03_null_clears_a_name(client: TestClient) -> None:
    cid = register(
        client,
        {
            "source": "INSTORE",
            "firstName": "Tom",
            "lastName": "Sawyer",
            "identifiers": [{"type": "mobile", "value": "919999000001"}],
        },
    )
    response = update(client, {"profiles": [{"lastName": None}]})
    assert response.status_code == 200
    p = the_profile(details(client, cid))
    assert (p["firstName"], p["lastName"]) == ("Tom", None)


def test_rule_03_exactly_100_characters_is_accepted(client: TestClient) -> None:
    cid = register(client)
    response = update(client, {"profiles": [{"firstName": "x" * 100 + "   "}]})
    assert response.status_code == 200
    assert the_profile(details(client, cid))["firstName"] == "x" * 100


def test_rule_03_longer_than_100_is_refused(client: TestClient) -> None:
    register(client)
    counts = table_counts(client)
    response = update(client, {"profiles": [{"firstName": "x" * 101, "lastName": "y" * 200}]})
    assert response.status_code == 400
    assert codes(response) == [8103, 8103]
    assert fields_of(response) == ["profiles[0].firstName", "profiles[0].lastName"]
    assert table_counts(client) == counts


def test_rule_03_a_name_that_is_not_a_string_is_refused(client: TestClient) -> None:
    register(client)
    response = update(client, {"profiles": [{"firstName": 42}]})
    assert response.status_code == 400
    assert codes(response) == [8101]
    assert fields_of(response) == ["profiles[0].firstName"]
