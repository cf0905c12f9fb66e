"""SPEC 6 rule 3: names are trimmed, at most 100 characters, without control characters or bidi
overrides, and null clears them."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.builders import codes, details, fields_of, profile, register, the_profile, update
from tests.conftest import ACME_AUTH, table_counts


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


@pytest.mark.parametrize(
    "name",
    [
        "Tom\nSawyer",
        "Tom\r\nSawyer",
        "Tom\u2028Sawyer",
        "Tom\tSawyer",
        "\x1b[2J\x1b[31mTom",
        "Tom\x7f",
        "Tom\u0085Sawyer",
        "\u202eoT",
        "Tom\u2066x\u2069",
    ],
    ids=lambda n: n.encode("unicode_escape").decode(),
)
def test_rule_03_control_characters_and_bidi_overrides_are_refused(
    client: TestClient, name: str
) -> None:
    cid = register(client)
    before = details(client, cid)
    response = update(client, {"profiles": [{"firstName": name, "lastName": f"x{name}x"}]})
    assert response.status_code == 400
    assert codes(response) == [8139, 8139]
    assert fields_of(response) == ["profiles[0].firstName", "profiles[0].lastName"]
    assert details(client, cid) == before


def test_rule_03_a_registration_with_a_control_character_in_a_name_is_refused(
    client: TestClient,
) -> None:
    counts = table_counts(client)
    response = client.post(
        "/v2/customers", json={"profiles": [profile(firstName="Tom\x1b")]}, headers=ACME_AUTH
    )
    assert response.status_code == 400
    assert codes(response) == [8139]
    assert table_counts(client) == counts


def test_rule_03_names_in_any_script_and_with_direction_marks_are_kept(client: TestClient) -> None:
    cid = register(client)
    first, last = "\u0645\u062d\u0645\u062f\u200f", "Zo\u00eb O'Brien-\u674e"
    response = update(client, {"profiles": [{"firstName": f"{first}\n", "lastName": last}]})
    assert response.status_code == 200, response.text
    p = the_profile(details(client, cid))
    assert (p["firstName"], p["lastName"]) == (first, last)
